"""Numbers in prose come from cells: every percentage a solution's Markdown quotes is printed by
one of that notebook's committed outputs (as ``63.5%`` or as the fraction ``0.635``), so the text
cannot drift from the results when a notebook is re-run. Percentages that are not measurements
(rules, targets, quoted claims, hypotheticals) are listed below with the reason."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from helpers.course import ROOT

PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?%")
#: Percentages in prose that are not measured by the notebook, per notebook, with the reason.
NOT_MEASURED: dict[str, dict[str, str]] = {
    "01_data_shapes": {"90%": "a hypothetical class share in the balance argument"},
    "05_flatten_vs_gap": {"75%": "the seed's claim, quoted (measured in 06)", "79%": "the same claim"},
    "07_homework": {
        "80%": "the homework's target (a rule)",
        "60%": "the rubric's zero-credit floor (a rule)",
        "25%": "the warmup share of the solution's schedule (a setting)",
        "94%": "the GPU challenge's goal (a target)",
    },
}
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def output_text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts += [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(parts)


def unprinted_percentages(notebook: nbformat.NotebookNode, allowed: dict[str, str]) -> list[str]:
    printed = output_text(notebook)
    missing = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"`[^`]*`", "", cell.source)  # code spans are not claims
        for match in PERCENT.finditer(prose):
            value = match.group(1)
            decimals = len(value.split(".")[1]) if "." in value else 0
            fraction = f"{float(value) / 100:.{decimals + 2}f}"
            if f"{value}%" in allowed or f"{value}%" in printed or fraction in printed:
                continue
            missing.append(f"{value}%")
    return missing


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_percentage_in_prose_is_printed_by_a_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    missing = unprinted_percentages(notebook, NOT_MEASURED.get(path.stem, {}))
    assert not missing, f"{path.name}: prose quotes {missing}, which no output prints"


def test_the_check_catches_a_drifted_number() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("準確率 63.5%，另一個 71%，`code 12%` 不算"),
        nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", text="acc 0.635\n")]),
    ]
    assert unprinted_percentages(notebook, {}) == ["71%"]
    assert unprinted_percentages(notebook, {"71%": "a rule"}) == []


def _cell_seconds(cell: nbformat.NotebookNode) -> float | None:
    """How long a code cell ran when the solution was executed (nbclient's timing metadata)."""
    timing = cell.metadata.get("execution") or {}
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _full_run_minutes(notebook: nbformat.NotebookNode) -> float:
    report = [cell for cell in notebook.cells if cell.cell_type == "code" and "run_report" in cell.source][-1]
    text = "".join(output.get("text", "") for output in report.get("outputs", []))
    match = re.search(r"full 模式，([\d.]+) 分鐘", text)
    assert match, "the saved run record is a full-mode run"
    return float(match.group(1))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_the_stated_cpu_times_are_the_saved_runs(path: Path) -> None:
    """The top of each notebook states its full-mode time on a 2-core CPU, and each cell of lessons
    01–06 that ran 90 s or more says how long, both as the saved full run measured them (07's long
    cell is the student's own training: its comment states the starter's time instead)."""
    notebook = nbformat.read(path, as_version=4)
    minutes = _full_run_minutes(notebook)
    stated = "不到 1 分鐘" if minutes < 1 else f"約 {round(minutes)} 分鐘"
    title = next(
        c for c in notebook.cells if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")
    )
    assert "⏱" in title.source and f"{stated}（本頁最後的執行紀錄）" in title.source, (path.stem, stated)
    if path.stem.startswith("07"):
        return
    for cell in notebook.cells:
        seconds = _cell_seconds(cell) if cell.cell_type == "code" else None
        if seconds is not None and seconds >= 90:
            assert f"⏱ 完整模式：雙核心 CPU 約 {round(seconds / 60)} 分鐘" in cell.source, (
                f"{path.stem}: a cell that ran {seconds / 60:.1f} minutes does not say so: {cell.source[:60]}"
            )
