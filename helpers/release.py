"""Generate the student notebooks in ``notebooks/`` from the solution notebooks in ``solutions/``.

Solution notebooks are the source. In a code cell, solution code sits between two marker lines::

    # BEGIN SOLUTION
    nchw_shape = (32, 3, 32, 32)
    # END SOLUTION

In the student copy the markers and everything between them become, at the marker's
indentation, a stub that raises::

    # TODO: 在這裡寫下你的程式碼 (write your code here)
    raise NotImplementedError("請完成這個練習 / complete this exercise")

and the cell gets the tag ``raises-exception``, so nbval expects that error. Every output and
execution count is removed; everything else stays identical. A check call placed after the
region (in the same cell) is kept, so the student runs it once the stub is replaced. Code in
later cells must not depend on a variable defined inside a solution region.

Usage::

    python -m helpers.release            # write notebooks/ from solutions/
    python -m helpers.release --check    # exit 1 with a diff when notebooks/ is stale
    python -m helpers.release --execute solutions/01_data_shapes.ipynb
        # run a solution top to bottom in the current COURSE_MODE (full by default), store its
        # outputs (without TensorFlow's start-up log lines), then write notebooks/
"""

from __future__ import annotations

import argparse
import copy
import difflib
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
STUB = (
    "# TODO: 在這裡寫下你的程式碼 (write your code here)",
    'raise NotImplementedError("請完成這個練習 / complete this exercise")',
)
RAISES_TAG = "raises-exception"
#: The first code cell of every notebook, word for word (``--check`` reports notebooks without it).
SETUP_SOURCE = """\
# 設定（Setup）：讓 helpers 套件可以匯入、設定中文字型、印出環境與執行模式
import pathlib
import sys

HERE = pathlib.Path.cwd()
ROOT = next((p for p in [HERE, *HERE.parents] if (p / "helpers").is_dir()), HERE)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.runtime import setup_notebook

MODE = setup_notebook()"""
#: TensorFlow's C++ start-up log lines (stderr): noise in a committed solution notebook.
_TF_LOG_LINE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} |To enable the following|$)")
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker># (?:BEGIN|END) SOLUTION)\s*$")


class ReleaseError(ValueError):
    """A solution notebook whose markers cannot be turned into a student notebook."""


def strip_solution(source: str, where: str = "cell") -> tuple[str, bool]:
    """Replace each solution region of a cell's source with the stub.

    Returns the new source and whether any region was found.
    """
    out: list[str] = []
    inside: str | None = None  # indentation of the open BEGIN marker
    found = False
    for number, line in enumerate(source.split("\n"), start=1):
        match = _MARKER.match(line)
        marker = match["marker"] if match else None
        if marker == BEGIN:
            if inside is not None:
                raise ReleaseError(f"{where}, line {number}: nested {BEGIN}")
            inside = match["indent"]
            found = True
            out.extend(inside + stub_line for stub_line in STUB)
        elif marker == END:
            if inside is None:
                raise ReleaseError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise ReleaseError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out), found


def student_notebook(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new object; the input is not changed)."""
    notebook = copy.deepcopy(solution)
    for index, cell in enumerate(notebook.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        source, found = strip_solution(cell.source, where=f"{name}, cell {index}")
        if found:
            cell.source = source
            tags = list(cell.metadata.get("tags", []))
            if RAISES_TAG not in tags:
                tags.append(RAISES_TAG)
            cell.metadata["tags"] = tags
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    """The exact file text written for a notebook."""
    return nbformat.writes(notebook) + "\n"


def expected_files(solutions: Path) -> dict[str, str]:
    """File name → text of every student notebook that ``solutions`` produces."""
    files = {}
    for path in sorted(solutions.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        files[path.name] = render(student_notebook(solution, name=path.name))
    return files


def setup_cell_problems(solutions: Path) -> list[str]:
    """Solution notebooks whose first code cell is not the shared setup cell."""
    problems = []
    for path in sorted(solutions.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        first = next((c for c in notebook.cells if c.cell_type == "code"), None)
        if first is None or first.source != SETUP_SOURCE:
            problems.append(f"{path}: the first code cell must be helpers.release.SETUP_SOURCE")
    return problems


def stale(solutions: Path, notebooks: Path) -> list[str]:
    """Readable differences between ``notebooks`` and what ``solutions`` produce ([] if in sync)."""
    problems = setup_cell_problems(solutions)
    wanted = expected_files(solutions)
    for name, text in wanted.items():
        target = notebooks / name
        if not target.exists():
            problems.append(f"missing: {target}")
            continue
        current = target.read_text(encoding="utf-8")
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(),
                text.splitlines(),
                fromfile=f"{target} (committed)",
                tofile=f"{target} (generated from solutions/{name})",
                lineterm="",
            )
            problems.append("\n".join(list(diff)[:80]))
    for extra in sorted(notebooks.glob("*.ipynb")):
        if extra.name not in wanted:
            problems.append(f"no solution for: {extra} (delete it or add solutions/{extra.name})")
    return problems


def write(solutions: Path, notebooks: Path) -> list[Path]:
    """Write every student notebook; remove student notebooks that have no solution."""
    notebooks.mkdir(parents=True, exist_ok=True)
    wanted = expected_files(solutions)
    written = []
    for name, text in wanted.items():
        target = notebooks / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    for extra in notebooks.glob("*.ipynb"):
        if extra.name not in wanted:
            extra.unlink()
    return written


def execute(path: Path) -> None:
    """Run a solution notebook in a fresh kernel (from its own folder) and store its outputs."""
    from nbclient import NotebookClient  # noqa: PLC0415 - only needed here

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if not _is_tf_log(output)]
    nbformat.write(notebook, path)


def _is_tf_log(output: nbformat.NotebookNode) -> bool:
    return (
        output.get("output_type") == "stream"
        and output.get("name") == "stderr"
        and all(_TF_LOG_LINE.match(line) for line in output.get("text", "").split("\n"))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.release",
        description="Generate student notebooks from solution notebooks.",
    )
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument(
        "--execute", type=Path, nargs="+", metavar="SOLUTION", help="run these solutions first, keep outputs"
    )
    args = parser.parse_args(argv)
    try:
        for path in args.execute or []:
            print(f"executing {path} …", flush=True)
            execute(path)
        if args.check:
            problems = stale(args.solutions, args.notebooks)
            if problems:
                print("\n\n".join(problems))
                print(
                    "\nnotebooks/ 與 solutions/ 不同步，請執行 python -m helpers.release。\n"
                    "notebooks/ is out of sync with solutions/: run python -m helpers.release."
                )
                return 1
            print(f"notebooks/ is in sync with solutions/ ({len(expected_files(args.solutions))} notebooks).")
            return 0
        for path in write(args.solutions, args.notebooks):
            print(f"wrote {path}")
    except ReleaseError as err:
        print(f"錯誤 / error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
