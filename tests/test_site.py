"""The course website: built offline in well under a minute, then read in headless Chromium.

The site is built once (``helpers.site.build``) into a temporary folder and served over HTTP on
localhost, as GitHub Pages would serve it. Chromium is Debian's package, driven by Playwright;
every request that leaves localhost is blocked and counted as a missing resource. Screenshots of
the home page and of lesson 03 go to ``_build/site-test/`` for a person to look at. Without a
Chromium the browser tests are skipped on a developer's machine, never in CI (``CI`` set).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import pytest

from helpers import site
from helpers.course import ROOT, load_config

SCREENSHOTS = ROOT / "_build" / "site-test"
LESSONS = [p.stem for p in site.lesson_notebooks()]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("site")
    result = site.build(out / "html", out / "source")
    return out / "html", result


def test_the_build_is_fast_complete_and_chinese(built) -> None:
    html, result = built
    assert result["seconds"] < 60
    assert result["pages"] == ["index", *(f"lessons/{name}" for name in LESSONS), "GLOSSARY", "instructors"]
    pages = all_pages(built)
    assert len(pages) >= len(result["pages"])
    for page in pages:
        assert '<html lang="zh-Hant-TW"' in (html / page).read_text(encoding="utf-8"), page
    css = (html / "_static" / "course.css").read_text(encoding="utf-8")
    assert "Noto Sans CJK TC" in css and "Microsoft JhengHei" in css
    index = (html / "index.html").read_text(encoding="utf-8")
    assert "課程（lessons）" in index and "術語表" in index and "給助教與講師" in index


def test_each_lesson_page_has_its_badges_and_download_link(built) -> None:
    html, _ = built
    config = load_config()
    for name in LESSONS:
        text = (html / "lessons" / f"{name}.html").read_text(encoding="utf-8")
        assert config.colab_url(f"notebooks/{name}.ipynb") in text, name
        assert config.colab_url(f"solutions/{name}.ipynb") in text, name
        download = re.search(rf'href="(\.\./_downloads/[^"]*/{name}\.ipynb)"', text)
        assert download, f"{name}: no download link"
        target = (html / "lessons" / download.group(1)).resolve()
        assert target.read_bytes() == (ROOT / "notebooks" / f"{name}.ipynb").read_bytes(), "the student copy"


def test_the_search_dictionary_holds_the_glossary_terms() -> None:
    words = {line.split()[0] for line in site._search_dictionary().splitlines()}
    assert {"卷積", "全域平均池化", "批次正規化", "驗證集", "激勵函數"} <= words


def test_the_chinese_stemmer_bug_is_patched_only_when_present(tmp_path: Path) -> None:
    static = tmp_path / "_static"
    static.mkdir()
    (static / "language_data.js").write_text("var EnglishStemmer = 1;\nwindow.Stemmer = ChineseStemmer;\n")
    assert site._fix_chinese_stemmer(tmp_path)
    assert "window.Stemmer = EnglishStemmer;" in (static / "language_data.js").read_text()
    assert not site._fix_chinese_stemmer(tmp_path)


# --------------------------------------------------------------------------------------
# In the browser
# --------------------------------------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(built):
    html, _ = built
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium for the site tests (.ci/run installs it)")
        pytest.skip("no chromium on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Visit:
    """One page opened in a fresh tab, with everything that went wrong while loading it."""

    def __init__(self, browser, base: str, path: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "response",
            lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )

        def local_only(route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                self.problems.append(f"leaves the site: {route.request.url}")
                route.abort()

        self.page.route("**/*", local_only)
        self.page.goto(base + path)
        self.page.wait_for_load_state("networkidle")

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.page.close()


def all_pages(built) -> list[str]:
    html, _ = built
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html") if "_static" not in p.parts)


def check_lesson(visit: Visit, name: str) -> None:
    """A lesson page shows its plots (decoded, non-zero size) and both Colab badges."""
    sizes = visit.page.eval_on_selector_all(
        "img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth, e.naturalHeight])"
    )
    plots = [s for s in sizes if "_images/" in s[0] and not s[0].endswith(site.BADGE_FILE)]
    badges = [s for s in sizes if s[0].endswith(site.BADGE_FILE)]
    assert plots and all(w > 0 and h > 0 for _, w, h in plots), f"{name}: {plots[:3]}"
    assert len(badges) == 2 and all(w > 0 for _, w, _ in badges), name
    colab = visit.page.eval_on_selector_all(
        "a[href*='colab.research.google.com']", "els => els.map(e => e.href)"
    )
    assert any("/notebooks/" in h for h in colab) and any("/solutions/" in h for h in colab), name


def test_every_page_loads_cleanly_and_its_links_and_images_resolve(built, server, browser) -> None:
    """Every page: no console errors, no missing or outside resources, images decoded, internal
    links (and their anchors) resolve; each lesson page also shows its plots and Colab badges."""
    html, _ = built
    lessons_seen = set()
    for path in all_pages(built):
        with Visit(browser, server, path) as visit:
            if path.startswith("lessons/"):
                check_lesson(visit, Path(path).stem)
                lessons_seen.add(Path(path).stem)
            assert not visit.problems, f"{path}: {visit.problems[:5]}"
            images = visit.page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])"
            )
            broken = [src for src, ok in images if not ok]
            assert not broken, f"{path}: images that did not load: {broken}"
            hrefs = visit.page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        for href in hrefs:
            if not href.startswith(server):
                continue  # Colab, GitHub: outside the site
            target = urlparse(href)
            file = html / unquote(target.path.removeprefix(urlparse(server).path))
            if target.path.endswith("/"):
                file = file / "index.html"
            assert file.is_file(), f"{path}: link to a missing page {href}"
            if target.fragment and file.suffix == ".html":
                ids = re.findall(r'id="([^"]+)"', file.read_text(encoding="utf-8"))
                assert unquote(target.fragment) in ids, f"{path}: link to a missing anchor {href}"
    assert lessons_seen == set(LESSONS)


@pytest.mark.parametrize(
    ("query", "lesson"), [("卷積", "02_convolution"), ("全域平均池化", "05_flatten_vs_gap")]
)
def test_chinese_search_finds_the_lesson(server, browser, query: str, lesson: str) -> None:
    with Visit(browser, server, f"search.html?q={quote(query)}") as visit:
        visit.page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        results = visit.page.eval_on_selector_all(
            "#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))"
        )
        assert not visit.problems, visit.problems[:5]
    assert results and f"lessons/{lesson}.html" in results[0], results[:5]


def test_screenshots_of_the_home_page_and_lesson_03(server, browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path, name in [("index.html", "home.png"), ("lessons/03_batchnorm_activation.html", "lesson_03.png")]:
        with Visit(browser, server, path) as visit:
            visit.page.screenshot(path=str(SCREENSHOTS / name))
        assert (SCREENSHOTS / name).stat().st_size > 20_000, name
