"""One term per concept: the glossary (GLOSSARY.md) is the list, and the rejected variants it names
appear nowhere in the notebooks, the README, CONTRIBUTING or the messages of ``helpers``."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from helpers.course import ROOT

GLOSSARY = ROOT / "GLOSSARY.md"


def glossary_rows() -> list[tuple[str, str, list[str]]]:
    """(term, English, rejected variants) for every row of the glossary's table."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("中文", "---") or set(cells[0]) <= {"-"}:
            continue
        rejected = [w.strip() for w in re.split("[、,]", cells[2]) if w.strip()]
        rows.append((cells[0], cells[1], rejected))
    return rows


def texts() -> dict[str, str]:
    """Every text a student or instructor reads, by file."""
    found = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        found[path.name] = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    for name in ("README.md", "CONTRIBUTING.md"):
        found[name] = (ROOT / name).read_text(encoding="utf-8")
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        found[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return found


def test_the_glossary_has_terms_and_rejected_variants() -> None:
    rows = glossary_rows()
    assert len(rows) >= 30
    terms = {term for term, _, _ in rows}
    assert {"激勵函數", "過擬合", "驗證集", "全域平均池化"} <= terms
    assert all(english for _, english, _ in rows)
    rejected = {w for _, _, words in rows for w in words}
    assert {"激活函數", "過度擬合", "占", "程序", "沙盒"} <= rejected
    assert not rejected & terms, "a term cannot also be rejected"


@pytest.mark.parametrize("name", sorted(texts()))
def test_no_rejected_variant_is_used(name: str) -> None:
    text = texts()[name]
    used = {w: t for t, _, words in glossary_rows() for w in words if w in text}
    assert not used, f"{name}: use {', '.join(f'{t} (not {w})' for w, t in used.items())}"


def test_every_notebook_links_the_glossary() -> None:
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        text = "\n".join(
            c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"
        )
        assert "](../GLOSSARY.md)" in text, path.name


def test_every_notebook_says_how_to_answer_an_exercise() -> None:
    """The student copy's stub raises NotImplementedError: each lesson says to replace that line."""
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        text = "\n".join(
            c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"
        )
        assert "把 `raise NotImplementedError` 換成你的程式碼" in text, path.name


def test_a_rejected_variant_is_caught(tmp_path: Path) -> None:
    rows = glossary_rows()
    sample = "ReLU 是最常見的激活函數。"
    assert [t for t, _, words in rows for w in words if w in sample] == ["激勵函數"]
