"""The release transformation: solutions/ → notebooks/ (stubs, tags, stripped outputs, --check)."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from helpers import release
from helpers.contract import BADGE_TAG, BEGIN, RAISES_TAG, SETUP_TAG, has_tag, is_stub
from helpers.course import CourseConfig, load_config, setup_source
from helpers.release import (
    README_END,
    README_START,
    ReleaseError,
    main,
    readme_badges,
    stale,
    strip_solution,
    student_notebook,
    sync_solution,
    write,
)

CONFIG = CourseConfig("https://github.com/someone/course-fork", "v1.0")

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


def test_a_named_todo_line_replaces_the_generic_one() -> None:
    source, _ = strip_solution(
        "x = 1\n# TODO：定義 answer（一個 tuple）\n# BEGIN SOLUTION\nanswer = (1,)\n# END SOLUTION"
    )
    assert source.splitlines() == ["x = 1", "# TODO：定義 answer（一個 tuple）", release.STUB[1]]


def test_every_exercise_names_what_to_define() -> None:
    """Each solution region follows a ``# TODO：定義 …`` line that names a name the region assigns."""

    for path in sorted((release.ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            lines = cell.source.split("\n")
            for k, line in enumerate(lines):
                if line.strip() != BEGIN:
                    continue
                todo = lines[k - 1].strip() if k else ""
                assert todo.startswith(release.TODO_PREFIX + "定義 "), f"{path.name}: {todo!r}"
                end = next(j for j in range(k, len(lines)) if lines[j].strip() == release.END)
                body = textwrap.dedent("\n".join(lines[k + 1 : end]))
                names = {
                    ast.unparse(t) for node in ast.walk(ast.parse(body)) for t in getattr(node, "targets", [])
                }
                names |= {n.name for n in ast.walk(ast.parse(body)) if isinstance(n, ast.FunctionDef)}
                enclosing = [lines[j] for j in range(k) if lines[j].lstrip().startswith("def ")]
                names |= {d.split("def ")[1].split("(")[0] for d in enclosing}
                assert any(name.split("[")[0] in todo or name in todo for name in names), (
                    f"{path.name}: {todo!r}"
                )


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
    setup = nbformat.v4.new_code_cell("import helpers", execution_count=1)
    setup.metadata["tags"] = [SETUP_TAG]
    setup.outputs = [nbformat.v4.new_output("stream", text="TensorFlow ...\n")]
    exercise = nbformat.v4.new_code_cell(EXERCISE, execution_count=2)
    exercise.metadata["tags"] = ["exercise"]
    exercise.outputs = [nbformat.v4.new_output("stream", text="checked (4, 3, 32, 32)\n")]
    notebook.cells = [nbformat.v4.new_markdown_cell("# 標題\n說明"), setup, exercise]
    return notebook


def test_student_notebook_strips_outputs_and_tags_exercises() -> None:
    solution = sync_solution(make_solution(), "01_demo.ipynb", CONFIG)
    student = student_notebook(solution, "01_demo.ipynb", CONFIG)
    badge, markdown, setup, exercise = student.cells
    assert markdown == solution.cells[1]
    assert badge.source.startswith(CONFIG.badge("notebooks/01_demo.ipynb") + "\n\n")
    assert "solutions/01_demo.ipynb" in badge.source and "python -m helpers.release" in badge.source
    assert student.metadata["course"]["generated_from"] == "solutions/01_demo.ipynb"
    assert setup.source == setup_source(CONFIG) and setup.outputs == [] and setup.execution_count is None
    assert not has_tag(setup, RAISES_TAG)
    assert exercise.metadata["tags"] == ["exercise", RAISES_TAG]
    assert exercise.outputs == [] and "BEGIN SOLUTION" not in exercise.source
    assert solution.cells[3].source == EXERCISE, "the solution itself is not modified"
    assert student_notebook(student, "01_demo.ipynb", CONFIG) == student, "releasing twice changes nothing"


def test_sync_adds_badge_and_regenerates_setup_cell() -> None:
    solution = make_solution()
    synced = sync_solution(solution, "01_demo.ipynb", CONFIG)
    assert synced.cells[0].metadata["tags"] == [BADGE_TAG]
    assert synced.cells[0].source == (
        "[![在 Colab 開啟 Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/someone/course-fork/blob/v1.0/solutions/01_demo.ipynb)"
    )
    assert synced.cells[2].source == setup_source(CONFIG)
    assert '"https://github.com/someone/course-fork"' in synced.cells[2].source
    assert '"v1.0"' in synced.cells[2].source
    assert sync_solution(synced, "01_demo.ipynb", CONFIG) == synced, "syncing twice changes nothing"
    solution.cells[1].metadata["tags"] = []
    with pytest.raises(ReleaseError, match="setup cell"):
        sync_solution(solution, "01_demo.ipynb", CONFIG)


def write_solution(folder: Path, name: str = "01_demo.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(make_solution(), path)
    return path


def test_write_then_check_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    source = write_solution(solutions)
    args = [
        "--solutions",
        str(solutions),
        "--notebooks",
        str(notebooks),
        "--readme",
        str(tmp_path / "none.md"),
    ]
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

    generated = next(notebooks.glob("*.ipynb")).read_text(encoding="utf-8")
    (notebooks / "99_orphan.ipynb").write_text(generated, encoding="utf-8")  # an old release's file
    (notebooks / "my_experiments.ipynb").write_text("{}", encoding="utf-8")  # a student's own notebook
    main(args)
    assert not (notebooks / "99_orphan.ipynb").exists()
    assert (notebooks / "my_experiments.ipynb").read_text(encoding="utf-8") == "{}", "never deleted"
    (notebooks / "my_experiments.ipynb").unlink()
    assert main([*args, "--check"]) == 0


def test_a_students_answers_are_never_overwritten_without_the_flag_and_a_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    write_solution(solutions)
    args = ["--solutions", str(solutions), "--notebooks", str(notebooks), "--readme", str(tmp_path / "x.md")]
    assert main(args) == 0
    copy = next(notebooks.glob("*.ipynb"))
    notebook = nbformat.read(copy, as_version=4)
    stub = next(c for c in notebook.cells if is_stub(c))
    stub.source = stub.source.replace("raise NotImplementedError", "answer = (4, 3, 32, 32)  # 我的答案\n#")
    nbformat.write(notebook, copy)
    answered = copy.read_text(encoding="utf-8")
    capsys.readouterr()

    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "學生的工作副本" in out and "holds a student's work" in out and "--overwrite-student-work" in out
    assert main(args) == 0
    assert copy.read_text(encoding="utf-8") == answered, "kept without the flag"
    assert "沒有覆蓋 (kept)" in capsys.readouterr().err

    assert main([*args, "--overwrite-student-work"]) == 0
    assert copy.with_name(copy.name + ".bak").read_text(encoding="utf-8") == answered
    assert "我的答案" not in copy.read_text(encoding="utf-8")
    assert main([*args, "--check"]) == 0


def test_the_sites_download_is_generated_from_the_solution(tmp_path: Path, monkeypatch) -> None:
    """The website's student download never comes from the working notebooks/ copy."""
    from helpers import site

    source = tmp_path / "site"
    (source / "lessons").mkdir(parents=True)
    lesson = Path(release.ROOT) / "solutions" / "02_convolution.ipynb"
    monkeypatch.setattr(site, "ROOT", tmp_path)  # a working copy without any notebooks/
    site._lesson(lesson, load_config(), source)
    wanted = release.expected_files(Path(release.ROOT) / "solutions", load_config())[lesson.name]
    assert (source / "downloads" / lesson.name).read_text(encoding="utf-8") == wanted


def test_check_reports_a_stale_setup_cell_and_readme(tmp_path: Path) -> None:
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    path = write_solution(solutions)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n{README_START}\nold\n{README_END}\n\nmore text\n", encoding="utf-8")
    write(solutions, notebooks, CONFIG, readme)
    assert stale(solutions, notebooks, CONFIG, readme) == []
    text = readme.read_text(encoding="utf-8")
    assert text.endswith("\n\nmore text\n") and readme_badges(solutions, CONFIG) in text
    assert "blob/v1.0/notebooks/01_demo.ipynb" in text and "blob/v1.0/solutions/01_demo.ipynb" in text

    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "import helpers  # edited by hand"
    nbformat.write(notebook, path)
    problems = stale(solutions, notebooks, CONFIG, readme)
    assert any("badge or setup cell is stale" in p for p in problems)

    fork = CourseConfig("https://github.com/other/fork", "main")
    write(solutions, notebooks, CONFIG, readme)
    assert stale(solutions, notebooks, fork, readme), "a new repository URL makes everything stale"
    write(solutions, notebooks, fork, readme)
    assert stale(solutions, notebooks, fork, readme) == []
    assert "github/other/fork/blob/main/notebooks" in notebooks.joinpath(path.name).read_text(
        encoding="utf-8"
    )


def test_broken_solution_exits_2(tmp_path: Path, capsys) -> None:
    solutions = tmp_path / "solutions"
    path = write_solution(solutions)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].source = "# BEGIN SOLUTION\nx = 1"
    nbformat.write(notebook, path)
    args = [
        "--solutions",
        str(solutions),
        "--notebooks",
        str(tmp_path / "nb"),
        "--readme",
        str(tmp_path / "x"),
    ]
    assert main(args) == 2
    assert "01_demo.ipynb, cell 3" in capsys.readouterr().err


def test_repository_badges_point_at_the_configured_repository() -> None:
    config = load_config()
    for folder in ("solutions", "notebooks"):
        for path in sorted(release.ROOT.joinpath(folder).glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            badge = config.badge(f"{folder}/{path.name}")
            if folder == "notebooks":
                assert notebook.cells[0].source == f"{badge}\n\n{release.generated_notice(path.name)}", path
                assert notebook.metadata["course"]["generated_from"] == f"solutions/{path.name}"
            else:
                assert notebook.cells[0].source == badge, path
            setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
            assert setup.source == setup_source(config), path


def test_repository_notebooks_are_in_sync(capsys) -> None:
    """CI fails when someone edits solutions/ without regenerating notebooks/."""
    assert sorted(p.name for p in release.ROOT.joinpath("solutions").glob("*.ipynb"))
    code = main(["--check"])
    assert code == 0, capsys.readouterr().out


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names bound, names read) in Python ``source``; IPython magics and shell lines are skipped."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    bound, read = set(), set()
    for node in ast.walk(ast.parse(textwrap.dedent(code))):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound, read


def _solution_regions(source: str) -> list[str]:
    return re.findall(r"# BEGIN SOLUTION\n(.*?)\n[ \t]*# END SOLUTION", source, flags=re.S)


SOLUTIONS = sorted(p.name for p in release.ROOT.joinpath("solutions").glob("*.ipynb"))


@pytest.mark.parametrize("name", SOLUTIONS)
def test_student_cells_do_not_need_what_only_a_solution_defines(name: str) -> None:
    """The untouched student copy runs to the end: a cell after a TODO stub that uses a name only a
    solution region defines must be tagged raises-exception (the conftest runs only the stubs of a
    student copy, so this is checked here, statically)."""
    solution = nbformat.read(release.ROOT / "solutions" / name, as_version=4)
    student = nbformat.read(release.ROOT / "notebooks" / name, as_version=4)
    only_in_solutions: set[str] = set()
    for cell in solution.cells:
        if cell.cell_type == "code":
            for region in _solution_regions(cell.source):
                only_in_solutions |= _names(region)[0]
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    for cell in code:
        only_in_solutions -= _names(cell.source)[0]  # the student copy defines it elsewhere too
    first_stub = next((i for i, c in enumerate(code) if is_stub(c)), None)
    if first_stub is None:
        return
    for index, cell in enumerate(code[first_stub + 1 :], start=first_stub + 1):
        if is_stub(cell):
            continue
        needed = _names(cell.source)[1] & only_in_solutions
        assert not needed, f"{name}: code cell {index} uses {sorted(needed)}, defined only in a solution"


MACHINE_SPECIFIC = re.compile(
    r"/root/|/home/|/Users/|[A-Za-z]:\\\\|site-packages|dist-packages|/tmp/|/var/folders/"
)


@pytest.mark.parametrize("name", SOLUTIONS)
def test_committed_outputs_hold_no_machine_specific_paths(name: str) -> None:
    """Outputs are what any student's machine would show: no home folders, install paths,
    temporary files or this checkout's location (a warning that prints a path is fixed at its cause)."""
    notebook = nbformat.read(release.ROOT / "solutions" / name, as_version=4)
    checkout = str(release.ROOT)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + output.get("evalue", "") + "".join(output.get("traceback", []))
            text += str(output.get("data", {}).get("text/plain", ""))
            found = MACHINE_SPECIFIC.search(text)
            assert not found and checkout not in text, f"{name} cell {index}: {text[:200]!r}"
