"""The release transformation: solutions/ → notebooks/ (stubs, tags, stripped outputs, --check)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers import release
from helpers.release import (
    RAISES_TAG,
    SETUP_SOURCE,
    ReleaseError,
    main,
    strip_solution,
    student_notebook,
)

EXERCISE = """\
batch_size = 4
# BEGIN SOLUTION
answer = (batch_size, 3, 32, 32)
# END SOLUTION
print("checked", answer)"""


def test_region_becomes_a_stub() -> None:
    source, found = strip_solution(EXERCISE)
    assert found
    assert source.splitlines() == [
        "batch_size = 4",
        *release.STUB,
        'print("checked", answer)',
    ]
    assert "(batch_size, 3, 32, 32)" not in source


def test_stub_keeps_indentation_and_handles_several_regions() -> None:
    source, _ = strip_solution(
        "def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n"
        "# BEGIN SOLUTION\ny = 1\n# END SOLUTION"
    )
    lines = source.splitlines()
    assert lines[1] == "    " + release.STUB[0] and lines[2] == "    " + release.STUB[1]
    assert lines[3:] == list(release.STUB)


def test_stub_raises_not_implemented_before_the_check_runs() -> None:
    source, _ = strip_solution(EXERCISE)
    printed = []
    with pytest.raises(NotImplementedError, match="complete this exercise"):
        exec(source, {"print": printed.append})
    assert printed == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("# BEGIN SOLUTION\nx = 1", "without # END SOLUTION"),
        ("x = 1\n# END SOLUTION", "without # BEGIN SOLUTION"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested"),
    ],
)
def test_broken_markers_are_reported(source: str, problem: str) -> None:
    with pytest.raises(ReleaseError, match=problem):
        strip_solution(source, where="nb.ipynb, cell 3")


def make_solution() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell(SETUP_SOURCE, execution_count=1)
    setup.outputs = [nbformat.v4.new_output("stream", text="TensorFlow ...\n")]
    exercise = nbformat.v4.new_code_cell(EXERCISE, execution_count=2)
    exercise.metadata["tags"] = ["exercise"]
    exercise.outputs = [nbformat.v4.new_output("stream", text="checked (4, 3, 32, 32)\n")]
    notebook.cells = [nbformat.v4.new_markdown_cell("# 標題\n說明"), setup, exercise]
    return notebook


def test_student_notebook_strips_outputs_and_tags_exercises() -> None:
    solution = make_solution()
    student = student_notebook(solution)
    markdown, setup, exercise = student.cells
    assert markdown == solution.cells[0]
    assert setup.source == SETUP_SOURCE and setup.outputs == [] and setup.execution_count is None
    assert RAISES_TAG not in setup.metadata.get("tags", [])
    assert exercise.metadata["tags"] == ["exercise", RAISES_TAG]
    assert exercise.outputs == [] and "BEGIN SOLUTION" not in exercise.source
    assert solution.cells[2].source == EXERCISE, "the solution itself is not modified"
    assert student_notebook(student) == student, "releasing twice changes nothing"


def write_solution(folder: Path, name: str = "01_demo.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(make_solution(), path)
    return path


def test_write_then_check_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    source = write_solution(solutions)
    args = ["--solutions", str(solutions), "--notebooks", str(notebooks)]
    assert main([*args, "--check"]) == 1
    assert "missing" in capsys.readouterr().out
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    assert "in sync" in capsys.readouterr().out

    text = source.read_text(encoding="utf-8").replace("batch_size = 4", "batch_size = 8")
    source.write_text(text, encoding="utf-8")
    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert '-    "batch_size = 4\\n",' in out and '+    "batch_size = 8\\n",' in out
    assert "python -m helpers.release" in out

    (notebooks / "99_orphan.ipynb").write_text("{}", encoding="utf-8")
    main(args)
    assert not (notebooks / "99_orphan.ipynb").exists()
    assert main([*args, "--check"]) == 0


def test_check_requires_the_setup_cell(tmp_path: Path, capsys) -> None:
    solutions = tmp_path / "solutions"
    path = write_solution(solutions)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = "import helpers"
    nbformat.write(notebook, path)
    args = ["--solutions", str(solutions), "--notebooks", str(tmp_path / "nb")]
    main(args)
    assert main([*args, "--check"]) == 1
    assert "SETUP_SOURCE" in capsys.readouterr().out


def test_broken_solution_exits_2(tmp_path: Path, capsys) -> None:
    solutions = tmp_path / "solutions"
    path = write_solution(solutions)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "# BEGIN SOLUTION\nx = 1"
    nbformat.write(notebook, path)
    assert main(["--solutions", str(solutions), "--notebooks", str(tmp_path / "nb")]) == 2
    assert "01_demo.ipynb, cell 2" in capsys.readouterr().err


def test_repository_notebooks_are_in_sync(capsys) -> None:
    """CI fails when someone edits solutions/ without regenerating notebooks/."""
    assert sorted(p.name for p in release.ROOT.joinpath("solutions").glob("*.ipynb"))
    code = main(["--check"])
    assert code == 0, capsys.readouterr().out
