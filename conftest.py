"""How the test command runs the notebooks, so that each training cell runs at most twice.

nbval runs every notebook of ``solutions/`` cell by cell in its own kernel (Restart & Run All). This
file changes three things about that run:

1. **Checked cells compare what the lesson is about.** In a ``# NBVAL_CHECK_OUTPUT`` cell, stdout,
   results and displays are compared with the committed outputs; stderr never is (library
   warnings and log lines differ between machines and versions, and they are not the lesson).
2. **Re-run pass.** After a solution's cells have run once, every code cell runs a second time, in
   order, in the same kernel (outputs not compared), as a student who re-runs cells would: no
   cell may break the ones after it.
3. **Student copies.** A student notebook is generated from its solution
   (``python -m helpers.release``; the test suite checks they are in sync) and differs from it only
   in the ``# TODO`` stub cells. Only those cells run, in the solution's kernel after its two
   passes, and each must raise ``NotImplementedError``. Cells identical to the solution's are not
   run again; ``tests/test_release.py`` checks statically that no later cell of a student copy
   uses a name that only a solution region defines (unless that cell is tagged
   ``raises-exception``), which is what running them again would have found.

It also sets the session's defaults: smoke mode unless ``COURSE_MODE`` says otherwise, and quiet
TensorFlow start-up logs. Kernels started by nbval inherit them.

``--quick`` (:data:`QUICK_OPTION`) is a shorter loop while developing, never what CI runs: it
leaves out the re-run pass and the tests marked ``end_to_end`` (the browser, the real Dask
cluster, the device command on JAX). The README's test command runs everything.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell

from helpers.contract import RAISES_TAG, has_tag

_session_env = pytest.MonkeyPatch()
_original_compare = IPyNbCell.compare_outputs


def _without_stderr(outputs: list) -> list:
    return [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]


def _compare_without_stderr(self: IPyNbCell, test: list, ref: list, skip_compare=None) -> bool:
    return _original_compare(self, _without_stderr(test), _without_stderr(ref), skip_compare)


class StudentStubCell(IPyNbCell):
    """A student copy's ``# TODO`` cell, run in its solution's kernel: it must raise NotImplementedError."""

    def runtest(self) -> None:
        super().runtest()
        errors = [o.get("ename") for o in self.test_outputs or [] if o.get("output_type") == "error"]
        if errors != ["NotImplementedError"]:
            self.raise_cell_error(
                f"the TODO stub should raise NotImplementedError, got {errors or 'nothing'}"
            )


#: The option that leaves out the re-run pass and the ``end_to_end`` tests (see the docstring).
QUICK_OPTION = "--quick"
#: The marker of the slowest end-to-end tests, which :data:`QUICK_OPTION` leaves out.
END_TO_END = "end_to_end"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        QUICK_OPTION,
        action="store_true",
        help="while developing: leave out the solution notebooks' re-run pass and the tests marked "
        f"{END_TO_END} (browser, Dask cluster, JAX device command). CI runs everything.",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    if config.getoption("quick"):
        return (
            f"{QUICK_OPTION}：不跑解答版的第二輪（重跑）與 {END_TO_END} 測試，不是 CI 跑的全部 "
            f"(leaves out the re-run pass and the {END_TO_END} tests: not everything CI runs)"
        )
    return None


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's workers share the cores: each worker's TensorFlow (and the kernels it starts)
    # gets its part, so that two workers on two cores do not fight over four threads.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        _session_env.setenv(name, os.environ.get(name) or threads)
    _session_env.setenv("TF_NUM_INTEROP_THREADS", os.environ.get("TF_NUM_INTEROP_THREADS") or "1")
    _session_env.setenv("COURSE_MODE", os.environ.get("COURSE_MODE") or "smoke")
    _session_env.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL") or "3")
    _session_env.setattr(IPyNbCell, "compare_outputs", _compare_without_stderr)


def pytest_unconfigure(config: pytest.Config) -> None:
    _session_env.undo()


#: The slowest test files, slowest first: pytest-xdist (``--dist loadfile``) hands files to its
#: workers in collection order, so starting these first keeps one long file from running alone at
#: the end (measured with ``--durations``; the rest keep their order).
SLOWEST_FIRST = (
    "tests/test_grade_batch.py",
    "tests/test_grade_cluster.py",
    "tests/test_grade.py",
    "solutions/06_softmax_classifier.ipynb",
    "solutions/07_homework.ipynb",
    "solutions/05_flatten_vs_gap.ipynb",
    "tests/test_site.py",
    "tests/test_training.py",
    "solutions/03_batchnorm_activation.ipynb",
    "tests/test_device_command.py",
)


def _rank(item: pytest.Item) -> int:
    relative = Path(str(item.path)).resolve().relative_to(Path(__file__).parent).as_posix()
    return SLOWEST_FIRST.index(relative) if relative in SLOWEST_FIRST else len(SLOWEST_FIRST)


def _folder(item: pytest.Item) -> str:
    return Path(str(item.parent.path)).parent.name


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    cells = [item for item in items if isinstance(item, IPyNbCell)]
    solutions: dict[str, list[IPyNbCell]] = {}
    students: dict[str, list[IPyNbCell]] = {}
    for item in cells:
        group = {"solutions": solutions, "notebooks": students}.get(_folder(item))
        if group is not None:
            group.setdefault(Path(str(item.parent.path)).name, []).append(item)
    quick = bool(config.getoption("quick"))
    added: dict[int, list[pytest.Item]] = {}
    for name, solution_cells in solutions.items():
        parent = solution_cells[0].parent
        extra: list[pytest.Item] = []
        for cell in [] if quick else solution_cells:
            options = copy.copy(cell.options)  # a defaultdict(bool): keep it one
            options["check"] = False
            extra.append(
                IPyNbCell.from_parent(
                    parent,
                    name=f"{cell.name} (re-run)",
                    cell_num=cell.cell_num,
                    cell=cell.cell,
                    options=options,
                )
            )
        by_number = {cell.cell_num: cell for cell in solution_cells}
        for student in students.get(name, []):
            twin = by_number.get(student.cell_num)
            if twin is not None and twin.cell.source == student.cell.source:
                continue  # ran identically in the solution's passes
            if not has_tag(student.cell, RAISES_TAG):
                continue  # only a stub cell may differ; tests/test_release.py checks the sync itself
            extra.append(
                StudentStubCell.from_parent(
                    parent,
                    name=f"{student.name} (student copy notebooks/{name})",
                    cell_num=student.cell_num,
                    cell=student.cell,
                    options=student.options,
                )
            )
        added[id(solution_cells[-1])] = extra
    student_items = [item for name, group in students.items() if name in solutions for item in group]
    left_out = [item for item in items if item.get_closest_marker(END_TO_END)] if quick else []
    dropped = {id(item) for item in [*student_items, *left_out]}
    items[:] = [new for item in items if id(item) not in dropped for new in (item, *added.get(id(item), []))]
    items.sort(key=_rank)  # stable: each file's items stay together and in order
    config.hook.pytest_deselected(items=[*student_items, *left_out])
