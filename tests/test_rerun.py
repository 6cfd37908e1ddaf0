"""Restart & Run All, then re-run every cell once more: no cell may break the ones after it.

nbval already runs each notebook top to bottom in a fresh kernel (Restart & Run All). Students
also re-run single cells; here every solution notebook, in smoke mode, is run through once and
then every code cell is executed a second time, in order, in the same kernel.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.course import ROOT

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_cell_can_run_twice(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    code_cells = [(i, cell) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    with client.setup_kernel():
        for _ in range(2):
            for index, cell in code_cells:
                client.execute_cell(cell, index)  # raises CellExecutionError on any error
