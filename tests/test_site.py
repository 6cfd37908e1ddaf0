"""The course website: built offline in well under a minute, then read in headless Chromium.

The site is built once (``helpers.site.build``) into a temporary folder and served over HTTP on
localhost, as GitHub Pages would serve it. Chromium is Debian's package, driven by Playwright;
every request that leaves localhost is blocked and counted as a missing resource. Pages are read
at two sizes, a 1280×800 laptop and a 390×844 phone: the menus open, no page is wider than the
phone, formulas are typeset, every label is Traditional Chinese, search snippets hold only the
article's text, every image has a real alt text. Screenshots of every page at both sizes go to
``_build/site-test/`` for a person to look at. Without a Chromium the browser tests are skipped on
a developer's machine, never in CI (``CI`` set).
"""

from __future__ import annotations

import functools
import http.server
import itertools
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
    assert css.count("Noto Color Emoji") >= 2, "✅/❌ have a colour-emoji fallback in text and in outputs"
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


def test_each_term_is_indexed_in_a_lesson_that_teaches_it() -> None:
    """Every :data:`site.TAUGHT_IN` lesson explains the term in its text; every index entry is a
    glossary term or one of those."""
    import nbformat

    for term, lessons in site.TAUGHT_IN.items():
        for lesson in lessons:
            notebook = nbformat.read(ROOT / "solutions" / f"{lesson}.ipynb", as_version=4)
            text = "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
            assert term in text, f"{term} is not in {lesson}'s text"
    glossary = {chinese for chinese, _ in site.glossary_terms()}
    for lesson, terms in site.index_terms().items():
        assert lesson in LESSONS and set(terms) <= glossary | set(site.TAUGHT_IN), (lesson, terms)


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


LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class Visit:
    """One page opened in a fresh tab, with everything that went wrong while loading it."""

    def __init__(self, browser, base: str, path: str, viewport: dict[str, int] = LAPTOP) -> None:
        self.page = browser.new_page(viewport=viewport)
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
        # "load": the page, its styles, scripts and images; then the web fonts. Not "networkidle",
        # which always waits 500 ms more per page: what loads later (MathJax's typesetting, the
        # search index) each test waits for by name, and every failure is recorded until the
        # page is closed.
        self.page.goto(base + path, wait_until="load")
        self.page.evaluate("document.fonts.ready.then(() => true)")

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
    alts = visit.page.eval_on_selector_all("img[src$='colab-badge.svg']", "els => els.map(e => e.alt)")
    assert any("學生版" in a for a in alts) and any("解答版" in a for a in alts), alts
    colab = visit.page.eval_on_selector_all(
        "a[href*='colab.research.google.com']", "els => els.map(e => e.href)"
    )
    assert any("/notebooks/" in h for h in colab) and any("/solutions/" in h for h in colab), name


@pytest.mark.end_to_end  # the browser: `--quick` leaves it out
def test_every_page_loads_cleanly_and_its_links_and_images_resolve(built, server, browser) -> None:
    """Every page on a laptop: no console errors, no missing or outside resources, images
    decoded, internal links (and their anchors) resolve, and what :func:`read_as_a_reader`
    checks; each lesson page also shows its plots and Colab badges."""
    html, _ = built
    lessons_seen = set()
    formulas = 0
    for path in all_pages(built):
        with Visit(browser, server, path) as visit:
            formulas += read_as_a_reader(visit, path, LAPTOP)
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
    assert formulas >= FORMULAS, f"only {formulas} formulas typeset"


#: Where each search should lead first: the lesson that teaches the term.
SEARCHES = [
    ("卷積", "02_convolution"),
    ("全域平均池化", "05_flatten_vs_gap"),
    ("資料增強", ("06_softmax_classifier", "07_homework")),
    ("Dropout", "06_softmax_classifier"),
]
#: Page chrome that must never be in a search snippet.
NOT_IN_SNIPPETS = ("NBVAL", "\\[", "\\text{", "在 Colab 開啟", "亮色", "Ctrl", "顯示或隱藏")


@pytest.mark.end_to_end  # the browser: `--quick` leaves it out
@pytest.mark.parametrize(("query", "lesson"), SEARCHES)
def test_chinese_search_finds_the_lesson_that_teaches_it(server, browser, query: str, lesson) -> None:
    with Visit(browser, server, f"search.html?q={quote(query)}") as visit:
        visit.page.wait_for_selector("#search-results ul.search li a", timeout=20_000)
        visit.page.wait_for_function(
            "document.querySelectorAll('#search-results ul.search li p.context').length > 0", timeout=20_000
        )
        results = visit.page.eval_on_selector_all(
            "#search-results ul.search li > a", "els => els.map(e => e.getAttribute('href'))"
        )
        snippets = visit.page.eval_on_selector_all(
            "#search-results ul.search li p.context", "els => els.map(e => e.innerText)"
        )
        assert not visit.problems, visit.problems[:5]
    wanted = (lesson,) if isinstance(lesson, str) else lesson
    assert results and any(f"lessons/{w}.html" in results[0] for w in wanted), results[:5]
    for snippet in snippets:
        assert not any(chrome in snippet for chrome in NOT_IN_SNIPPETS), snippet


#: Theme strings a reader must not meet: Simplified Chinese and English from the theme.
FOREIGN_LABELS = (
    "跳转至主要内容",
    "网页导航",
    "当前页面",
    "上一页",
    "下一页",
    "搜索",
    "Toggle",
    "System Settings",
    "Color mode",
    "Search...",
    "Skip to main content",
    "Back to top",
    "previous page",
    "next page",
    "light/dark",
    "Version warning",
    "On this page",
    "Section Navigation",
    "Download this page",
)
LABELS_JS = """() => {
  const out = [document.body.innerText];
  for (const e of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]'))
    for (const a of ['aria-label', 'title', 'placeholder', 'alt'])
      if (e.getAttribute(a)) out.push(e.getAttribute(a));
  return out.join('\\n');
}"""
#: Text output boxes wider than their column (printed lines and logs; a Keras model summary is a
#: table drawn in characters and scrolls inside its own box, as code does), the most boxes one
#: cell's output has (stdout and stderr: 2), and the search boxes a reader sees at once.
OUTPUTS_JS = """() => ({
  cut: [...document.querySelectorAll('div.cell_output div.output:not(.text_html) pre')]
    .filter(p => p.scrollWidth > p.clientWidth + 1).length,
  most_boxes: Math.max(0, ...[...document.querySelectorAll('div.cell_output')].map(
    o => o.querySelectorAll(':scope > div.output.stream').length)),
  search_boxes: [...document.querySelectorAll('input[type=search]')]
    .filter(e => e.offsetParent !== null).length,
})"""
#: Waits until MathJax has typeset every formula of the page (or there is none).
MATH_DONE = """() => {
  const math = [...document.querySelectorAll('.math.notranslate')];
  return math.every(e => e.querySelector('script[type^="math/tex"]'))
    && document.querySelectorAll('.MathJax_Processing').length === 0;
}"""


def read_as_a_reader(visit: Visit, path: str, viewport: dict[str, int]) -> int:
    """What a reader meets on one page, at one size: no wider than the window, formulas typeset
    (no raw LaTeX in the text), no theme label in Simplified Chinese or English, every image with
    a real alt text; a screenshot for a person to look at. Returns the formulas typeset."""
    visit.page.wait_for_function(MATH_DONE, timeout=30_000)
    width = visit.page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{path}: {width} px wide in a {viewport['width']} px window"
    text = visit.page.evaluate("document.body.innerText")
    for raw in ("\\[", "\\(", "$$", "\\text{"):
        assert raw not in text, f"{path}: raw LaTeX {raw!r} on the page"
    outputs = visit.page.evaluate(OUTPUTS_JS)
    assert outputs["cut"] == 0, f"{path}: {outputs['cut']} output boxes need sideways scrolling"
    assert outputs["most_boxes"] <= 2, f"{path}: a cell's output split into {outputs['most_boxes']} boxes"
    assert outputs["search_boxes"] <= 1, f"{path}: {outputs['search_boxes']} search boxes in view"
    labels = visit.page.evaluate(LABELS_JS)
    foreign = [label for label in FOREIGN_LABELS if label in labels]
    assert not foreign, f"{path}: theme labels not in Traditional Chinese: {foreign}"
    alts = visit.page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('alt') || '')")
    assert all(a.strip() and "/" not in a and not a.endswith(".png") for a in alts), (path, alts)
    plots = visit.page.eval_on_selector_all(
        "img[src*='_images/']",
        "els => els.map(e => [e.closest('a.course-figure') !== null, e.clientWidth / e.naturalWidth,"
        " e.closest('div.cell_output') !== null])",
    )
    assert all(linked for linked, _, _ in plots), f"{path}: a plot that does not open full size"
    outputs = [scale for _, scale, in_output in plots if in_output]
    if viewport == LAPTOP and outputs:  # the full-size link is for the phone; a laptop shows them large
        smallest = min(outputs)
        assert smallest >= MIN_PLOT_SCALE, f"{path}: a plot shown at {smallest:.2f}× its size"
    folder = SCREENSHOTS / ("phone" if viewport == PHONE else "laptop")
    folder.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(folder / (path.replace("/", "_").removesuffix(".html") + ".png")))
    return visit.page.eval_on_selector_all("script[type^='math/tex']", "els => els.length")


#: The smallest a plot may be shown on a 1280 px laptop: 10-point text at 100 dpi is 14 px, so at
#: 0.75× it stays 10 px or more.
MIN_PLOT_SCALE = 0.75
#: Formulas in the lessons (02, 03, 04 and 06: six display formulas and one inline).
FORMULAS = 7


@pytest.mark.end_to_end  # the browser: `--quick` leaves it out
def test_every_page_on_a_phone(built, server, browser) -> None:
    formulas = 0
    for path in all_pages(built):
        with Visit(browser, server, path, PHONE) as visit:
            formulas += read_as_a_reader(visit, path, PHONE)
            assert not visit.problems, f"{path}: {visit.problems[:5]}"
    assert formulas >= FORMULAS, f"only {formulas} formulas typeset"


@pytest.mark.end_to_end  # the browser: `--quick` leaves it out
def test_the_menus_open_on_a_phone_and_the_sidebar_collapses_on_a_laptop(server, browser) -> None:
    path = "lessons/06_softmax_classifier.html"
    with Visit(browser, server, path, PHONE) as visit:
        page = visit.page
        primary = page.locator("#pst-primary-sidebar, .bd-sidebar-primary").first
        assert not primary.is_visible() or primary.bounding_box()["x"] < 0, "the menu starts closed"
        page.locator("button.primary-toggle:visible").first.click()
        page.wait_for_timeout(500)
        box = primary.bounding_box()
        assert primary.is_visible() and box["x"] >= 0, "☰ opens the lesson list"
        lessons = primary.locator("nav.bd-docs-nav a").all_inner_texts()
        assert sum(name[:2].isdigit() for name in lessons) >= len(LESSONS), lessons
        visit.page.screenshot(path=str(SCREENSHOTS / "phone" / "menu_open.png"))
        page.keyboard.press("Escape")
        page.mouse.click(380, 400)  # outside the drawer: it closes
        page.wait_for_timeout(500)
        page.locator("button.secondary-toggle:visible").first.click()
        page.wait_for_timeout(500)
        secondary = page.locator(".bd-sidebar-secondary").first
        assert secondary.is_visible() and secondary.bounding_box()["x"] + 10 < PHONE["width"], (
            "☷ opens the contents"
        )
        visit.page.screenshot(path=str(SCREENSHOTS / "phone" / "contents_open.png"))
        assert not visit.problems, visit.problems[:5]
    with Visit(browser, server, path, LAPTOP) as visit:
        primary = visit.page.locator(".bd-sidebar-primary").first
        assert primary.is_visible() and primary.bounding_box()["x"] >= 0
        visit.page.locator("button.primary-toggle:visible").first.click()
        visit.page.wait_for_timeout(500)
        assert (
            not primary.is_visible() or primary.bounding_box()["x"] + primary.bounding_box()["width"] <= 0
        ), "☰ collapses the sidebar on a laptop"


def test_what_the_build_leaves_out_and_adds(built) -> None:
    """No solution behind a download button, no ``_sources`` copy or ``.doctrees``; formulas load
    MathJax only where there is math; output colours readable; each glossary term has an anchor;
    "下一課" links to the next lesson; the home page's title names the course once."""
    html, _ = built
    assert not (html / "_sources").exists() and not (html / ".doctrees").exists()
    for page in all_pages(built):
        text = (html / page).read_text(encoding="utf-8")
        assert "download-source-button" not in text and "btn-download-notebook-button" not in text, page
        has_math = 'class="math' in text
        assert ("MathJax.js" in text) == has_math, (
            f"{page}: MathJax loaded {'without' if not has_math else 'with'} math"
        )
        for colour in re.findall(r"color: (#[0-9a-fA-F]{6})", text):
            rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
            assert site.contrast(rgb, site.OUTPUT_BACKGROUND) >= site.MIN_CONTRAST, (page, colour)
    glossary = (html / "GLOSSARY.html").read_text(encoding="utf-8")
    for _, english in site.glossary_terms():
        assert f'id="{site.term_anchor(english)}"' in glossary, english
    for current, following in itertools.pairwise(LESSONS):
        text = (html / "lessons" / f"{current}.html").read_text(encoding="utf-8")
        assert f'href="{following}.html"' in text and "下一課" in text, current
    index = (html / "index.html").read_text(encoding="utf-8")
    assert f"<title>{site.PROJECT}</title>" in index


def test_the_contrast_fix_darkens_only_what_it_must() -> None:
    assert site.readable("#000000") == "#000000"
    cyan = site.readable("#00d7ff")
    rgb = tuple(int(cyan[i : i + 2], 16) for i in (1, 3, 5))
    assert site.contrast((0x00, 0xD7, 0xFF), site.OUTPUT_BACKGROUND) < 2
    assert site.MIN_CONTRAST <= site.contrast(rgb, site.OUTPUT_BACKGROUND) < site.MIN_CONTRAST + 0.3
