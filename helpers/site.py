"""The course as a website: ``python -m helpers.site`` builds it, offline, into ``_build/site``.

Why Sphinx + MyST-NB (the engine of Jupyter Book 1) and not Jupyter Book 2 (mystmd): the build
must work offline from PyPI packages alone, and Jupyter Book 2 downloads its theme at build time
and needs Node; its client-side search does not segment Chinese either. Sphinx renders the
solution notebooks with their committed outputs (``nb_execution_mode = "off"``, nothing is
executed), and its Chinese search segments the text with ``jieba``, with the glossary's terms
(GLOSSARY.md) added to jieba's dictionary so that 卷積 or 全域平均池化 are found as words.

What goes in, in lesson order: the README's course part (home page), every solution notebook
with a first cell of "Open in Colab" badges (student and solution) and a download link for the
student notebook, the glossary, and the instructors' page (release and grading, from the README).
Nothing is fetched while building or reading: MathJax comes from the ``jupyter-server-mathjax``
package, the Colab badge image is a local SVG, the fonts are the reader's own (a Chinese font
stack: Noto Sans CJK TC, PingFang TC, Microsoft JhengHei, …, then colour-emoji fonts for ✅/❌).
The page language is zh-Hant-TW.

For readers (tests/test_site.py checks each at laptop and phone size): the theme versions are pinned
in requirements-dev.txt (sphinx-book-theme 1.1.4 with pydata-sphinx-theme 0.15.4: later pairs
break the ☰/☷ menus, pydata/pydata-sphinx-theme#2067, executablebooks/sphinx-book-theme#988);
every theme label a reader meets is Traditional Chinese (:data:`THEME_LABELS`, a message catalog,
and :data:`HARD_CODED_LABELS` for the few the theme does not translate); MathJax 2 renders the
lessons' display formulas (:data:`MATHJAX2_CONFIG`); a cell's output streams are merged and long
lines wrap; inline code and tables wrap on a phone; plots have an alt text from their section and
open full size; search snippets come from the article text only and glossary terms lead to the
lesson that teaches them (:data:`TAUGHT_IN`, index entries); the header's download button (the
solution) and the ``_sources`` copy are not published, nor are Sphinx's ``.doctrees``.

Usage::

    python -m helpers.site                 # → _build/site/index.html
    python -m helpers.site --out DIR
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
import time
import unicodedata
from pathlib import Path

import nbformat

from helpers.contract import BADGE_TAG, FULL_WIDTH_TAG, TEST_MARKER_PREFIX, has_tag, tags
from helpers.course import COLAB_BADGE_IMAGE, ROOT, CourseConfig, load_config
from helpers.release import render, student_notebook, sync_solution

BUILD = ROOT / "_build"
#: The page language written into every page's ``<html lang>``.
PAGE_LANGUAGE = "zh-Hant-TW"
EMOJI_FONTS = '"Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji"'
FONT_STACK = (
    '"Noto Sans CJK TC", "Noto Sans TC", "Source Han Sans TC", "PingFang TC", '
    f'"Microsoft JhengHei", "Heiti TC", sans-serif, {EMOJI_FONTS}'
)
MONO_STACK = (
    f'ui-monospace, "SFMono-Regular", Menlo, Consolas, "Noto Sans Mono CJK TC", monospace, {EMOJI_FONTS}'
)
#: Labels of the theme's templates (gettext msgid → zh-TW), shipped as the site's message catalog:
#: pydata-sphinx-theme 0.15 has no zh_TW catalog, so without these a reader meets English.
THEME_LABELS = {
    "Skip to main content": "跳到主要內容",
    "Back to top": "回到頁首",
    "Search": "搜尋",
    "Error": "錯誤",
    "Please activate JavaScript to enable the search functionality.": "請啟用 JavaScript 才能搜尋。",
    "Breadcrumb": "頁面路徑",
    "Home": "首頁",
    "Edit": "編輯",
    "Indices": "索引",
    "General Index": "總索引",
    "On this page": "本頁內容",
    "previous page": "上一頁",
    "previous": "上一頁",
    "next page": "下一頁",
    "next": "下一頁",
    "Section Navigation": "章節導覽",
    "Site navigation": "網站導覽",
    "Show Source": "顯示原始檔",
    "light/dark": "亮色／暗色",
    "Version warning": "版本提醒",
    "Announcement": "公告",
    "Click to expand": "展開",
    "Click to collapse": "收合",
    "Contents": "目錄",
    "Fullscreen mode": "全螢幕",
    "Toggle navigation": "顯示或隱藏導覽",
}
#: Labels the themes write without translating them: replaced in the built pages.
HARD_CODED_LABELS = {
    'title="Toggle primary sidebar"': 'title="顯示或隱藏課程目錄" aria-label="顯示或隱藏課程目錄"',
    'title="Toggle secondary sidebar"': 'title="顯示或隱藏本頁目錄" aria-label="顯示或隱藏本頁目錄"',
    'aria-label="Main"': 'aria-label="課程目錄"',
    'aria-label="Page"': 'aria-label="本頁"',
    'aria-label="Site navigation"': 'aria-label="網站導覽"',
    'aria-label="Section Navigation"': 'aria-label="章節導覽"',
}
#: What the search box says (a theme option).
SEARCH_PLACEHOLDER = "搜尋課程…"
#: Where a term is taught, for search: each becomes an index entry of that lesson, so searching
#: the term lists that lesson first (Sphinx scores index entries above words in the text). Other
#: glossary terms get an entry in the first lesson whose heading holds them (:func:`index_terms`).
TAUGHT_IN = {
    "資料增強": ("06_softmax_classifier", "07_homework"),
    "Dropout": ("06_softmax_classifier",),
    "批次大小": ("06_softmax_classifier",),
    "學習率排程": ("06_softmax_classifier",),
    "標籤平滑": ("06_softmax_classifier", "07_homework"),
    "權重衰減": ("06_softmax_classifier",),
    "動量": ("06_softmax_classifier",),
    "暖身": ("06_softmax_classifier",),
    "混淆矩陣": ("06_softmax_classifier",),
    "過擬合": ("05_flatten_vs_gap",),
    "步幅": ("02_convolution",),
    "感受野": ("04_pooling",),
}
#: MathJax 2 (the bundled one): MyST-NB marks notebook pages "don't process" (``tex2jax_ignore``)
#: and lists the classes to process in MathJax 3's syntax only; this says the same to MathJax 2,
#: so the lessons' ``\[…\]`` formulas are typeset (Chinese inside ``\text{}`` included).
MATHJAX2_CONFIG = {
    "messageStyle": "none",
    "tex2jax": {
        "processClass": "math|output_area|tex2jax_process|mathjax_process",
        "ignoreClass": "tex2jax_ignore|mathjax_ignore",
    },
    "HTML-CSS": {
        "availableFonts": [],
        "webFont": "STIX-Web",
        "imageFont": None,
        "preferredFont": None,
        # MathJax 2 measures fonts against a blank one loaded from about:blank, which a browser
        # refuses (CORS, a console error on every page with math): a local() source loads nothing.
        "styles": {"@font-face": {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}},
    },
    "SVG": {"font": "STIX-Web"},
}
#: Lowest contrast an output's coloured text may have on the output's background (WCAG AA).
MIN_CONTRAST = 4.5
OUTPUT_BACKGROUND = (0xF3, 0xF4, 0xF5)
PROJECT = "訓練一個 CNN 分類器：以 CIFAR-10 為例"
BADGE_FILE = "colab-badge.svg"
#: An "Open in Colab" badge drawn locally (the page must not load images from elsewhere).
BADGE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img" \
aria-label="Open in Colab"><rect width="117" height="20" rx="3" fill="#555"/>\
<rect x="22" width="95" height="20" rx="3" fill="#f9ab00"/><rect x="22" width="4" height="20" \
fill="#f9ab00"/><circle cx="11" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="2.5"/>\
<text x="69" y="14" fill="#000" font-family="Verdana,sans-serif" font-size="11" \
text-anchor="middle">Open in Colab</text></svg>
"""
FAVICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#f9ab00"/>'
    '<path d="M4 4h8v8H4z" fill="none" stroke="#000" stroke-width="1.5"/></svg>\n'
)
CSS = f"""html, body, .bd-content, .bd-sidebar, h1, h2, h3, h4 {{ font-family: {FONT_STACK}; }}
pre, code, kbd, samp {{ font-family: {MONO_STACK}; }}
.course-badges img {{ vertical-align: middle; }}
/* A cell's output: one box, long lines wrap instead of scrolling sideways. */
div.cell_output pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
/* Inline code and table cells wrap, so no page is wider than a phone. */
code.literal, code.literal span.pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
article table {{ display: block; max-width: 100%; overflow-x: auto; }}
article table td, article table th {{ overflow-wrap: anywhere; vertical-align: top; }}
/* Plots: as wide as the column, and a click opens them full size. */
a.course-figure {{ cursor: zoom-in; display: inline-block; max-width: 100%; }}
a.course-figure img {{ max-width: 100%; height: auto; }}
"""
#: README sections that become site pages: (heading in README, page file, page title).
README_PAGES = (("## 給助教與講師（instructors）", "instructors.md", "給助教與講師（instructors）"),)


def lesson_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))


def _github_url(config: CourseConfig, path: str) -> str:
    return f"https://github.com/{config.github_path}/blob/{config.ref}/{path}"


def _rewrite_links(text: str, config: CourseConfig, images: Path) -> str:
    """README Markdown for the site: lesson links to lesson pages, images copied beside the page,
    the glossary to its page, other repository files to GitHub."""
    text = text.replace(COLAB_BADGE_IMAGE, f"_static/{BADGE_FILE}")

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if re.match(r"^[a-z]+:", target) or target.startswith(("#", "_static/")):
            return match.group(0)
        name = Path(target).name
        if re.match(r"^(notebooks|solutions)/\d\d_.*\.ipynb$", target):
            return f"[{label}](lessons/{Path(target).stem}.ipynb)"
        if target == "GLOSSARY.md":
            return f"[{label}](GLOSSARY.md)"
        if target.endswith((".png", ".svg", ".jpg")) and (ROOT / target).is_file():
            images.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / target, images / name)
            return f"[{label}](images/{name})"
        return f"[{label}]({_github_url(config, target)})"

    return re.sub(r"\[([^\]]*(?:\[[^\]]*\][^\]]*)*)\]\(([^)\s]+)\)", link, text)


def _readme_parts(readme: str) -> tuple[str, dict[str, str]]:
    """The README's Chinese part split into the home page and the sections that get their own page."""
    chinese = readme.split("\n---\n")[0]
    sections = re.split(r"(?m)^(?=## )", chinese)
    home, pages = [], {}
    for section in sections:
        heading = section.splitlines()[0].strip() if section.strip() else ""
        page = next((p for p in README_PAGES if p[0] == heading), None)
        if page is None:
            home.append(section)
        else:
            body = re.sub(r"(?m)^###", "##", section.split("\n", 1)[1])  # one level up under the title
            pages[page[1]] = f"# {page[2]}\n" + body
    return "".join(home), pages


def _lesson(
    path: Path,
    config: CourseConfig,
    source: Path,
    entries: tuple[str, ...] = (),
    lessons: tuple[Path, ...] = (),
) -> None:
    """Copy one solution notebook into the site, with badges and a download link on top. The
    download is the student notebook generated from the solution now (never the working copy in
    ``notebooks/``, which may hold someone's answers)."""
    notebook = nbformat.read(path, as_version=4)
    downloads = source / "downloads"
    downloads.mkdir(exist_ok=True)
    synced = sync_solution(nbformat.read(path, as_version=4), path.name, config)
    student = render(student_notebook(synced, name=path.name, config=config))
    (downloads / path.name).write_text(student, encoding="utf-8")
    student_badge = f"![在 Colab 開啟學生版 (student)](../_static/{BADGE_FILE})"
    solution_badge = f"![在 Colab 開啟解答版 (solution)](../_static/{BADGE_FILE})"
    links = (
        f"[{student_badge}]({config.colab_url('notebooks/' + path.name)}) 學生版 (student)　"
        f"[{solution_badge}]({config.colab_url('solutions/' + path.name)}) 解答版 (solution)　"
        f"{{download}}`下載學生版筆記本 (download) <../downloads/{path.name}>`"
    )
    for term in entries:  # main entries ("!"): search lists this lesson first for the term
        links += f"\n\n```{{index}} ! single: {term}\n```"
    for cell in notebook.cells:
        _for_readers(cell)
    _plot_alt_texts(notebook)
    _link_next_lesson(notebook, lessons)
    header = nbformat.v4.new_markdown_cell(links)
    header.metadata["tags"] = ["course-badges"]
    if notebook.cells and has_tag(notebook.cells[0], BADGE_TAG):
        notebook.cells[0] = header
    else:
        notebook.cells.insert(0, header)
    nbformat.write(notebook, source / "lessons" / path.name)


def _cell_headings(cell: nbformat.NotebookNode) -> list[str]:
    """The headings of a markdown cell, without their ``#``."""
    if cell.cell_type != "markdown":
        return []
    return [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]


def _headings(notebook: nbformat.NotebookNode) -> list[str]:
    return [heading for cell in notebook.cells for heading in _cell_headings(cell)]


def glossary_terms(root: Path = ROOT) -> list[tuple[str, str]]:
    """The glossary's (term, English) pairs, in its order (a term may be English: epoch, logits)."""
    pairs = []
    for line in (root / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] != "中文" and not set(cells[0]) <= {"-"}:
            pairs.append((cells[0], cells[1]))
    return pairs


def index_terms(root: Path = ROOT) -> dict[str, list[str]]:
    """Lesson stem → the terms it gets an index entry for: :data:`TAUGHT_IN`, then each glossary
    term in the first lesson whose heading holds it."""
    lessons = {p.stem: nbformat.read(p, as_version=4) for p in lesson_notebooks(root)}
    entries: dict[str, list[str]] = {}
    for term, stems in TAUGHT_IN.items():
        for stem in stems:
            entries.setdefault(stem, []).append(term)
    for chinese, _ in glossary_terms(root):
        if chinese in TAUGHT_IN or not re.fullmatch(r"[\u4e00-\u9fff]+", chinese):
            continue
        first = next((stem for stem, nb in lessons.items() if any(chinese in h for h in _headings(nb))), None)
        if first is not None:
            entries.setdefault(first, []).append(chinese)
    return entries


def _for_readers(cell: nbformat.NotebookNode) -> None:
    """Drop the test suite's markers (``# NBVAL_CHECK_OUTPUT``) from a code cell shown on the site."""
    if cell.cell_type == "code" and TEST_MARKER_PREFIX in cell.source:
        lines = cell.source.splitlines()
        cell.source = "\n".join(line for line in lines if not line.startswith(TEST_MARKER_PREFIX))


def _plot_alt_texts(notebook: nbformat.NotebookNode) -> None:
    """Give each plot an alt text (圖：the section it is drawn in) and room: a plot's cell is
    full width (the theme's ``full-width`` tag), so plots shrink less on a laptop."""
    heading = ""
    for cell in notebook.cells:
        heading = (_cell_headings(cell) or [heading])[-1]
        plots = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        if plots:
            # the theme's full-width cell: on a laptop the plot may use the margin too (≈1.36× wider)
            cell.metadata["tags"] = [*tags(cell), FULL_WIDTH_TAG]
            text = "圖：" + re.sub(r"[`*]", "", heading)
            if plots > 1:  # one alt per cell (MyST-NB's option): say there are several
                text += f"（{plots} 張圖）"
            cell.metadata.setdefault("mystnb", {})["image"] = {"alt": text}


def _link_next_lesson(notebook: nbformat.NotebookNode, lessons: tuple[Path, ...]) -> None:
    """「下一課：07 …」 becomes a link to that lesson's page."""
    by_number = {p.stem[:2]: p.stem for p in lessons}

    def link(match: re.Match[str]) -> str:
        stem = by_number.get(match.group(2))
        return match.group(0) if stem is None else f"**[{match.group(1)}]({stem}.ipynb)**"

    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"\*\*(下一課：(\d\d)[^*]*)\*\*", link, cell.source)


def _glossary_anchors(text: str) -> str:
    """An anchor per glossary term (``#term-data-augmentation``), so a lesson can link one term."""

    def anchor(match: re.Match[str]) -> str:
        chinese, english = match.group(1).strip(), match.group(2).strip()
        if chinese == "中文":  # the header row
            return match.group(0)
        return f'| <span id="{term_anchor(english)}"></span>{chinese} | {english} |'

    return re.sub(r"(?m)^\| ([^|-][^|]*) \| ([^|]+) \|", anchor, text)


def term_anchor(english: str) -> str:
    """The glossary anchor of a term, from its English name without what follows in parentheses:
    ``term-global-average-pooling``."""
    name = english.split(" (")[0]  # "epoch (one pass over …)" → "epoch"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "term-" + "-".join(re.findall(r"[a-z0-9]+", ascii_name.lower()))


def _search_dictionary(root: Path = ROOT) -> str:
    """jieba user dictionary: every glossary term and its parts in parentheses, as common words."""
    terms = {
        part
        for chinese, _ in glossary_terms(root)
        for part in re.split(r"[、，（）()\s]+", chinese)
        if re.search(r"[\u4e00-\u9fff]", part)
    }
    return "".join(f"{term} 100000 n\n" for term in sorted(terms))


def _conf(config: CourseConfig, mathjax: str, dictionary: Path) -> str:
    return f'''# Generated by python -m helpers.site; do not edit.
project = "{PROJECT}"
author = "cifar10-cnn 課程"
language = "zh_TW"
extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
locale_dirs = ["locales"]
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_search_language = "zh"
html_search_options = {{"dict": "{dictionary}"}}
html_theme_options = {{
    "repository_url": "{config.repository}",
    "use_repository_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "use_download_button": False,
    "search_bar_text": "{SEARCH_PLACEHOLDER}",
}}
html_context = {{"default_mode": "light"}}
html_favicon = "_static/favicon.svg"
html_show_sourcelink = False
html_copy_source = False
mathjax_path = "{mathjax}"
# The bundled MathJax 2 has the STIX-Web fonts only (as in classic Jupyter).
mathjax2_config = {MATHJAX2_CONFIG!r}
exclude_patterns = ["downloads/**", "_build"]
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]
'''


def _mathjax(static: Path) -> str:
    """Copy MathJax (from the jupyter-server-mathjax package) into the site; its path for conf.py."""
    import jupyter_server_mathjax  # noqa: PLC0415 - only the site build needs it

    bundle = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(bundle, static / "mathjax", dirs_exist_ok=True)
    return "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"


def prepare(source: Path, root: Path = ROOT) -> list[str]:
    """Write the Sphinx source folder; return the page names in order."""
    config = load_config(root)
    if source.exists():
        shutil.rmtree(source)
    (source / "lessons").mkdir(parents=True)
    static = source / "_static"
    static.mkdir()
    (static / BADGE_FILE).write_text(BADGE_SVG, encoding="utf-8")
    (static / "course.css").write_text(CSS, encoding="utf-8")
    (static / "favicon.svg").write_text(FAVICON_SVG, encoding="utf-8")
    _write_catalog(source / "locales" / "zh_TW" / "LC_MESSAGES" / "sphinx.mo")
    dictionary = source / "search_dictionary.txt"
    dictionary.write_text(_search_dictionary(root), encoding="utf-8")
    (source / "conf.py").write_text(_conf(config, _mathjax(static), dictionary.resolve()), encoding="utf-8")
    home, pages = _readme_parts((root / "README.md").read_text(encoding="utf-8"))
    lessons = lesson_notebooks(root)
    entries = index_terms(root)
    for path in lessons:
        _lesson(path, config, source, tuple(entries.get(path.stem, [])), tuple(lessons))
    for name, text in pages.items():
        (source / name).write_text(_rewrite_links(text, config, source / "images"), encoding="utf-8")
    glossary = (root / "GLOSSARY.md").read_text(encoding="utf-8")
    glossary = _glossary_anchors(_rewrite_links(glossary, config, source / "images"))
    (source / "GLOSSARY.md").write_text(glossary, encoding="utf-8")
    toc = "\n".join(f"lessons/{p.stem}" for p in lessons)
    extra = "\n".join(["GLOSSARY", *(Path(n).stem for n in pages)])
    index = _rewrite_links(home, config, source / "images")
    index += f"\n\n```{{toctree}}\n:caption: 課程（lessons）\n:maxdepth: 1\n:hidden:\n\n{toc}\n```\n"
    index += f"\n```{{toctree}}\n:caption: 參考（reference）\n:maxdepth: 1\n:hidden:\n\n{extra}\n```\n"
    (source / "index.md").write_text(index, encoding="utf-8")
    return ["index", *(f"lessons/{p.stem}" for p in lessons), "GLOSSARY", *(Path(n).stem for n in pages)]


def _write_catalog(path: Path) -> None:
    """The zh_TW message catalog of :data:`THEME_LABELS` (Sphinx reads it from ``locale_dirs``
    before its own and the themes' catalogs)."""
    from babel.messages.catalog import Catalog  # noqa: PLC0415 - Babel comes with Sphinx
    from babel.messages.mofile import write_mo  # noqa: PLC0415

    catalog = Catalog(locale="zh_TW", project="cifar10-cnn course site")
    for english, chinese in THEME_LABELS.items():
        catalog.add(english, chinese)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        write_mo(f, catalog)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two sRGB colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(colour: str, background: tuple[int, int, int] = OUTPUT_BACKGROUND) -> str:
    """``#rrggbb`` darkened just enough to reach :data:`MIN_CONTRAST` on ``background``."""
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    scale = 1.0
    while contrast(tuple(round(c * scale) for c in rgb), background) < MIN_CONTRAST and scale > 0:
        scale -= 0.02
    return "#" + "".join(f"{round(c * max(scale, 0)):02x}" for c in rgb)


def _for_readers_html(text: str, project: str) -> str:
    """One page, as its readers meet it: theme labels in Chinese, plots that open full size,
    coloured output text readable, a title that names the course once."""
    for english, chinese in HARD_CODED_LABELS.items():
        text = text.replace(english, chinese)
    text = re.sub(
        r'(<img alt="[^"]*" (?:class="[^"]*" )?src="(\.\./)?_images/([^"]+)"[^>]*>)',
        lambda m: (
            f'<a class="course-figure" href="{m.group(2) or ""}_images/{m.group(3)}" '
            f'title="開啟原尺寸的圖 (full size)">{m.group(1)}</a>'
        ),
        text,
    )
    text = re.sub(r"color: (#[0-9a-fA-F]{6})", lambda m: f"color: {readable(m.group(1))}", text)
    return text.replace(f"<title>{project} &#8212; {project}</title>", f"<title>{project}</title>")


def _finish_pages(out: Path) -> int:
    """Write :data:`PAGE_LANGUAGE` into every page's ``<html lang>`` (Sphinx writes ``zh_TW``) and
    make each page as its readers meet it (:func:`_for_readers_html`); returns the page count."""
    count = 0
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = re.sub(r'<html lang="[^"]*"', f'<html lang="{PAGE_LANGUAGE}"', text, count=1)
        fixed = _for_readers_html(fixed, PROJECT)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
        count += 1
    return count


def _fix_chinese_stemmer(out: Path) -> bool:
    """Work around Sphinx 9.0's Chinese search bug (sphinx-doc/sphinx#14229, fixed by #14416 after
    9.0.4): ``language_data.js`` ends with ``window.Stemmer = ChineseStemmer`` but defines only the
    English stemmer that Chinese search uses for Latin words, so every search stops with a
    ReferenceError. Returns whether the file needed the fix."""
    data = out / "_static" / "language_data.js"
    text = data.read_text(encoding="utf-8") if data.is_file() else ""
    broken = "window.Stemmer = ChineseStemmer;" in text and "ChineseStemmer =" not in text
    if broken:
        data.write_text(
            text.replace("window.Stemmer = ChineseStemmer;", "window.Stemmer = EnglishStemmer;"),
            encoding="utf-8",
        )
    return broken


#: Sphinx's search snippets are cut from the page's ``[role="main"]`` element, which in this theme
#: also holds its buttons and the page's contents; these patches make them come from the article,
#: without formulas' raw LaTeX or the badge line (and an index entry's result gets a snippet
#: instead of stopping the results with a TypeError).
SEARCH_PATCHES = (
    (  # an index entry's anchor is an empty element: its snippet comes from the article instead
        "if (anchorContent) return anchorContent.textContent;",
        "if (anchorContent && anchorContent.textContent.trim()) return anchorContent.textContent;",
    ),
    (
        "const docContent = htmlElement.querySelector('[role=\"main\"]');",
        "const docContent = htmlElement.querySelector('article.bd-article')"
        " || htmlElement.querySelector('[role=\"main\"]');",
    ),
    (
        'for (const removalQuery of [".headerlink", "script", "style"]) {',
        'for (const removalQuery of [".headerlink", "script", "style", ".math", ".course-badges", '
        '".MathJax", ".MathJax_Preview"]) {',
    ),
)


def _search_article_only(out: Path) -> None:
    """Apply :data:`SEARCH_PATCHES` to ``searchtools.js``; stop when Sphinx changed that code."""
    path = out / "_static" / "searchtools.js"
    text = path.read_text(encoding="utf-8")
    for old, new in SEARCH_PATCHES:
        if old not in text:
            raise SystemExit(
                f"網站建置：searchtools.js 改版了，找不到要修補的程式 (Sphinx changed searchtools.js): {old}"
            )
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def build(out: Path = BUILD / "site", source: Path = BUILD / "site-source") -> dict[str, object]:
    """Build the site into ``out``; return what was built (pages, seconds)."""
    from sphinx.cmd.build import build_main  # noqa: PLC0415 - only the site build needs Sphinx

    start = time.perf_counter()
    logging.getLogger("jieba").setLevel(logging.WARNING)  # not "Loading model cost 4.3 s" on every build
    pages = prepare(source)
    if out.exists():
        shutil.rmtree(out)
    doctrees = source / ".doctrees"  # Sphinx's cache: beside the source, never published
    # Sphinx's parallel read forks; a fork of a process that has TensorFlow's threads running (a
    # notebook, a test worker that imported Keras) can hang in the child on a lock another thread
    # held (seen once in the test suite: both children waiting on a futex forever). Then: one job.
    jobs = "1" if "tensorflow" in sys.modules else "auto"
    status = build_main(["-b", "html", "-q", "-j", jobs, "-d", str(doctrees), str(source), str(out)])
    if status != 0:
        raise SystemExit(f"網站建置失敗 (the site build failed): sphinx exit {status}")
    html = _finish_pages(out)
    _fix_chinese_stemmer(out)
    _search_article_only(out)
    shutil.rmtree(out / "_sources", ignore_errors=True)  # empty: html_copy_source is off
    return {"pages": pages, "html_files": html, "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.site", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=BUILD / "site")
    args = parser.parse_args(argv)
    result = build(args.out.resolve())
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
    print(f"網站 (site)：{args.out / 'index.html'}｜{len(result['pages'])} 頁｜{result['seconds']} 秒")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
