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
stack: Noto Sans CJK TC, PingFang TC, Microsoft JhengHei, …). The page language is zh-Hant-TW.

Usage::

    python -m helpers.site                 # → _build/site/index.html
    python -m helpers.site --out DIR
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

from helpers.contract import BADGE_TAG, has_tag
from helpers.course import COLAB_BADGE_IMAGE, ROOT, CourseConfig, load_config
from helpers.release import render, student_notebook, sync_solution

BUILD = ROOT / "_build"
#: The page language written into every page's ``<html lang>``.
PAGE_LANGUAGE = "zh-Hant-TW"
FONT_STACK = (
    '"Noto Sans CJK TC", "Noto Sans TC", "Source Han Sans TC", "PingFang TC", '
    '"Microsoft JhengHei", "Heiti TC", sans-serif'
)
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
.course-badges img {{ vertical-align: middle; }}
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


def _lesson(path: Path, config: CourseConfig, source: Path) -> None:
    """Copy one solution notebook into the site, with badges and a download link on top. The
    download is the student notebook generated from the solution now (never the working copy in
    ``notebooks/``, which may hold someone's answers)."""
    notebook = nbformat.read(path, as_version=4)
    downloads = source / "downloads"
    downloads.mkdir(exist_ok=True)
    synced = sync_solution(nbformat.read(path, as_version=4), path.name, config)
    student = render(student_notebook(synced, name=path.name, config=config))
    (downloads / path.name).write_text(student, encoding="utf-8")
    badge = f"![在 Colab 開啟 Open In Colab](../_static/{BADGE_FILE})"
    links = (
        f"[{badge}]({config.colab_url('notebooks/' + path.name)}) 學生版 (student)　"
        f"[{badge}]({config.colab_url('solutions/' + path.name)}) 解答版 (solution)　"
        f"{{download}}`下載學生版筆記本 (download) <../downloads/{path.name}>`"
    )
    header = nbformat.v4.new_markdown_cell(links)
    header.metadata["tags"] = ["course-badges"]
    if notebook.cells and has_tag(notebook.cells[0], BADGE_TAG):
        notebook.cells[0] = header
    else:
        notebook.cells.insert(0, header)
    nbformat.write(notebook, source / "lessons" / path.name)


def _search_dictionary(root: Path = ROOT) -> str:
    """jieba user dictionary: every glossary term and its parts in parentheses, as common words."""
    terms = set()
    for line in (root / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.search(r"[\u4e00-\u9fff]", cells[0]):
            terms.update(
                t for t in re.split(r"[、，（）()\s]+", cells[0]) if re.search(r"[\u4e00-\u9fff]", t)
            )
    return "".join(f"{term} 100000 n\n" for term in sorted(terms))


def _conf(config: CourseConfig, mathjax: str, dictionary: Path) -> str:
    return f'''# Generated by python -m helpers.site; do not edit.
project = "訓練一個 CNN 分類器：以 CIFAR-10 為例"
author = "cifar10-cnn 課程"
language = "zh_TW"
extensions = ["myst_nb"]
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
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
}}
html_context = {{"default_mode": "light"}}
html_favicon = "_static/favicon.svg"
html_show_sourcelink = False
mathjax_path = "{mathjax}"
# The bundled MathJax 2 has the STIX-Web fonts only (as in classic Jupyter).
mathjax2_config = {{
    "messageStyle": "none",
    "HTML-CSS": {{"availableFonts": [], "webFont": "STIX-Web", "imageFont": None, "preferredFont": None}},
    "SVG": {{"font": "STIX-Web"}},
}}
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
    dictionary = source / "search_dictionary.txt"
    dictionary.write_text(_search_dictionary(root), encoding="utf-8")
    (source / "conf.py").write_text(_conf(config, _mathjax(static), dictionary.resolve()), encoding="utf-8")
    home, pages = _readme_parts((root / "README.md").read_text(encoding="utf-8"))
    lessons = lesson_notebooks(root)
    for path in lessons:
        _lesson(path, config, source)
    for name, text in pages.items():
        (source / name).write_text(_rewrite_links(text, config, source / "images"), encoding="utf-8")
    glossary = (root / "GLOSSARY.md").read_text(encoding="utf-8")
    (source / "GLOSSARY.md").write_text(_rewrite_links(glossary, config, source / "images"), encoding="utf-8")
    toc = "\n".join(f"lessons/{p.stem}" for p in lessons)
    extra = "\n".join(["GLOSSARY", *(Path(n).stem for n in pages)])
    index = _rewrite_links(home, config, source / "images")
    index += f"\n\n```{{toctree}}\n:caption: 課程（lessons）\n:maxdepth: 1\n:hidden:\n\n{toc}\n```\n"
    index += f"\n```{{toctree}}\n:caption: 參考（reference）\n:maxdepth: 1\n:hidden:\n\n{extra}\n```\n"
    (source / "index.md").write_text(index, encoding="utf-8")
    return ["index", *(f"lessons/{p.stem}" for p in lessons), "GLOSSARY", *(Path(n).stem for n in pages)]


def _set_language(out: Path) -> int:
    """Write :data:`PAGE_LANGUAGE` into every page's ``<html lang>`` (Sphinx writes ``zh_TW``)."""
    count = 0
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = re.sub(r'<html lang="[^"]*"', f'<html lang="{PAGE_LANGUAGE}"', text, count=1)
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


def build(out: Path = BUILD / "site", source: Path = BUILD / "site-source") -> dict[str, object]:
    """Build the site into ``out``; return what was built (pages, seconds)."""
    from sphinx.cmd.build import build_main  # noqa: PLC0415 - only the site build needs Sphinx

    start = time.perf_counter()
    pages = prepare(source)
    if out.exists():
        shutil.rmtree(out)
    status = build_main(["-b", "html", "-q", "-j", "auto", str(source), str(out)])
    if status != 0:
        raise SystemExit(f"網站建置失敗 (the site build failed): sphinx exit {status}")
    html = _set_language(out)
    _fix_chinese_stemmer(out)
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
