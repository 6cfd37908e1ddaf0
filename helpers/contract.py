"""The notebook contract: the tags, markers and cell predicates that tie a lesson's four forms together.

A lesson exists as

1. its **solution** (``solutions/NN_*.ipynb``, the only source);
2. its **student copy** (``notebooks/``): :func:`helpers.release.student_notebook` turns each
   solution region (:data:`BEGIN` … :data:`END`, after a ``# TODO：定義 …`` line) into a stub
   that raises ``NotImplementedError`` and tags the cell :data:`RAISES_TAG`;
3. its **graded copy** (homework 07 only): what a student hands in, run by the grader with
   :func:`graded_copy` (no cell may be expected to raise any more); the training cell is the one
   tagged :data:`TRAIN_TAG`, the ablation's cells those tagged :data:`ABLATION_TAG`, quoted for
   review;
4. its **site page**: the solution with its outputs, the badge cell (:data:`BADGE_TAG`) replaced by
   badges and a download of the student copy generated from the solution, the test suite's
   markers (:data:`TEST_MARKER_PREFIX` lines) removed, and each plot's cell tagged
   :data:`FULL_WIDTH_TAG` with an alt text (:mod:`helpers.site`).

Every module that reads or writes these forms (``release``, ``site``, the grader, the benchmarks,
the test configuration) names the tags and markers through here and reads tags with :func:`tags`.
"""

from __future__ import annotations

import copy
from typing import Any

#: The first cell: "Open in Colab" badges (generated from ``pyproject.toml``'s ``[tool.course]``).
BADGE_TAG = "colab-badge"
#: The setup cell (finds the course, sets the font, prints the environment and run mode).
SETUP_TAG = "setup"
#: A cell expected to raise: a student copy's stub (nbval's own tag).
RAISES_TAG = "raises-exception"
#: Homework 07's training cell (its code is quoted for the instructor's review).
TRAIN_TAG = "homework-train"
#: Homework 07's ablation cells (quoted for review under the ablation's results).
ABLATION_TAG = "homework-ablation"
#: The site theme's tag for a cell that may use the page's margin (the site puts it on plot cells).
FULL_WIDTH_TAG = "full-width"
#: nbval's marker comments (``# NBVAL_CHECK_OUTPUT``): for the test suite, not for readers.
TEST_MARKER_PREFIX = "# NBVAL_"
#: A solution region, and the line before it that names what a student defines.
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
TODO_PREFIX = "# TODO："
TODO_DEFINE = "# TODO：定義 "


def tags(cell: Any) -> list[str]:
    """A cell's tags ([] when it has none); ``cell`` is a notebook node or a plain dict."""
    found = (cell.get("metadata") or {}).get("tags") or []
    return [str(tag) for tag in found] if isinstance(found, list) else []


def has_tag(cell: Any, tag: str) -> bool:
    return tag in tags(cell)


def is_stub(cell: Any) -> bool:
    """A student copy's exercise cell (it raises ``NotImplementedError`` until answered)."""
    return cell.get("cell_type") == "code" and has_tag(cell, RAISES_TAG)


def without_tag(cell: Any, tag: str) -> None:
    """Remove ``tag`` from ``cell`` (in place)."""
    if has_tag(cell, tag):
        cell["metadata"]["tags"] = [t for t in tags(cell) if t != tag]


def graded_copy(notebook: Any) -> Any:
    """The notebook as the grader runs it: a copy in which no cell is expected to raise (a TODO
    stub that still raises is an error there)."""
    graded = copy.deepcopy(notebook)
    for cell in graded["cells"]:
        without_tag(cell, RAISES_TAG)
    return graded
