"""Grade a folder of homework-07 submissions into a CSV and one feedback file per student.

Usage::

    python -m helpers.grade SUBMISSIONS_DIR --out grades.csv [--mode smoke|full] [--jobs N]
                            [--timeout SECONDS] [--feedback DIR] [--rubric FILE] [--no-sandbox]

``SUBMISSIONS_DIR`` holds one notebook per student (``alice.ipynb``) or one folder per student
(``alice/…ipynb``); the id is the file or folder name without extension.

For each submission the grader

1. copies it into a private scratch folder (dropping any ``homework_output/`` it brought along:
   only files the run itself writes count);
2. runs the notebook headless with nbclient, in its own kernel process, inside an OS-level
   sandbox when the machine has one (bubblewrap: read-only view of the system, the scratch
   folder the only writable place, the submissions folder, other scratch folders and the rubric
   hidden, no network, no capabilities), with a clean environment, a time limit, a memory limit
   and an output cap; cells left tagged ``raises-exception`` must not raise here;
3. loads the saved model in a separate sandboxed process and measures it itself: input and
   output shapes, parameter count, layer types, accuracy on the test set of the run mode. Nothing
   the notebook printed is read;
4. re-checks the answers file against the rubric kept with the solution
   (``solutions/07_homework.rubric.json``: answers and points).

A broken submission gets a row whose ``status`` names the problem (see :data:`STATUSES`); the
grader itself goes on to the next one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.homework import (
    ANSWERS_PATH,
    JUSTIFICATION_KEY,
    JUSTIFICATION_MIN_CHARS,
    MODEL_PATH,
    OUTPUT_DIR,
    PARAM_BUDGET,
    TARGET_ACCURACY,
    ModelReport,
    accuracy_credit,
    canonical,
    model_problems,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUBRIC = ROOT / "solutions" / "07_homework.rubric.json"

#: Every status a row can have, and what it means (zh-TW with English), most serious first.
STATUSES: dict[str, str] = {
    "invalid_notebook": "不是有效的 .ipynb 筆記本 (not a valid notebook file)",
    "no_notebook": "資料夾裡沒有 .ipynb (no notebook in the folder)",
    "timeout": "超過時間限制 (ran past the time limit)",
    "kernel_died": "核心（kernel）當掉或被結束 (the kernel died)",
    "output_limit": "輸出太多，超過上限 (too much output)",
    "memory_limit": "記憶體超過上限 (ran out of its memory limit)",
    "syntax_error": "有語法錯誤 (a cell has a syntax error)",
    "unfinished": "還有 TODO 沒完成 (a TODO cell still raises NotImplementedError)",
    "cell_error": "有儲存格發生錯誤 (a cell raised an error)",
    "no_model": f"沒有存下模型 {MODEL_PATH} (no saved model)",
    "bad_model": "模型不符合規定或無法載入 (the model breaks the rules or cannot be loaded)",
    "grader_error": "評分程式本身出錯 (the grader failed on this one)",
    "ok": "順利執行並完成評分 (ran and was scored)",
}
ITEMS = ("runs", "shapes", "param_budget", "gap_head", "batch_norm", "accuracy")
RESULT_MARK = "GRADER-RESULT "
MAX_ANSWERS_BYTES = 100_000
MAX_SUBMISSION_BYTES = 50_000_000


# ---------------------------------------------------------------------------------------------
# Submissions and the rubric


@dataclass(frozen=True)
class Submission:
    """One student's hand-in: a notebook file, or a folder holding one."""

    id: str
    path: Path  # the .ipynb file or the student's folder
    notebook: Path | None  # None: a folder without a notebook


def find_submissions(folder: Path) -> list[Submission]:
    """Every ``*.ipynb`` file and every sub-folder of ``folder``, sorted by id."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry, entry))
        elif entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            preferred = [p for p in notebooks if p.name.startswith("07")]
            chosen = (preferred or notebooks or [None])[0]
            found.append(Submission(entry.name, entry, chosen))
    seen: dict[str, int] = {}
    unique = []
    for submission in found:  # alice.ipynb and a folder alice/ both hand in: alice, alice_2
        seen[submission.id] = seen.get(submission.id, 0) + 1
        suffix = f"_{seen[submission.id]}" if seen[submission.id] > 1 else ""
        unique.append(Submission(submission.id + suffix, submission.path, submission.notebook))
    return unique


@dataclass(frozen=True)
class Rubric:
    """Points per item, and the solution's answers to the conceptual questions."""

    points: dict[str, float]
    answers: dict[str, Any]

    @property
    def columns(self) -> list[str]:
        return list(self.points)

    @property
    def total(self) -> float:
        return sum(self.points.values())


def load_rubric(path: Path = DEFAULT_RUBRIC) -> Rubric:
    table = json.loads(path.read_text(encoding="utf-8"))
    return Rubric(points=dict(table["points"]), answers=dict(table["answers"]))


# ---------------------------------------------------------------------------------------------
# Sandbox and processes


def sandbox_available() -> bool:
    """Whether bubblewrap is installed and can create a sandbox on this machine."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all"]
    try:
        return subprocess.run([*probe, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def sandboxed(argv: list[str], scratch: Path, readable: Sequence[Path], hidden: Sequence[Path]) -> list[str]:
    """``argv`` wrapped in bubblewrap: a read-only view of the system with a private, empty /tmp;
    the ``hidden`` folders (the instructor's home, the submissions, the rubric) replaced by empty
    ones; inside them only the ``readable`` folders (course, Python, data) mounted back, read-only;
    ``scratch`` the only writable folder; no network, no capabilities, and everything inside
    killed when the sandbox ends."""
    command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    hide = [arg for folder in hidden if folder.is_dir() for arg in ("--tmpfs", str(folder))]
    command += hide
    for folder in readable:
        command += ["--ro-bind", str(folder), str(folder)]
    for folder in hidden:  # again where a readable folder brought it back (the rubric inside the course)
        if folder.is_dir() and any(folder != r and folder.is_relative_to(r) for r in readable):
            command += ["--tmpfs", str(folder)]
    command += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    command += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
    return command + argv


def clean_environment(scratch: Path, mode: str, data: Path | None, threads: int) -> dict[str, str]:
    """The only environment a submission sees: nothing of the instructor's but PATH and the data."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "COURSE_ROOT": str(ROOT),
        "COURSE_MODE": mode,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(scratch / ".jupyter" / "runtime"),
        "JUPYTER_DATA_DIR": str(scratch / ".jupyter" / "data"),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "KERAS_HOME": str(scratch / ".keras"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": str(threads),
    }
    if data is not None:
        env["CIFAR10_DIR"] = str(data)
    return env


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _kill_tree(process: subprocess.Popen[str]) -> None:
    for pid in [*_descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Finished:
    """How a child process ended: exit code (None after a timeout) and its capped output."""

    returncode: int | None
    stdout: str
    timed_out: bool
    stderr: str = ""

    def last_error_line(self) -> str:
        """The last non-empty line of stderr (the exception of a crashed helper process)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1][:300] if lines else f"exit code {self.returncode}"


def run_limited(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float, memory_bytes: int
) -> Finished:
    """Run ``argv`` with a wall-clock limit (the whole process tree is killed at the limit), a
    data-size limit, and stdout/stderr capped at 1 MB each (the rest is read and dropped)."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=limits,  # only setrlimit, nothing that could deadlock after fork
    )
    captured: dict[str, list[str]] = {"out": [], "err": []}

    def drain(stream: Any, into: list[str]) -> None:
        size = 0
        for line in stream:
            if size < 1_000_000:
                into.append(line)
                size += len(line)

    readers = [
        threading.Thread(target=drain, args=(process.stdout, captured["out"]), daemon=True),
        threading.Thread(target=drain, args=(process.stderr, captured["err"]), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_tree(process)
        process.wait()
    else:
        _kill_tree(process)  # a kernel left behind by the runner must not outlive it
    for reader in readers:
        reader.join(timeout=5)
    return Finished(
        None if timed_out else process.returncode,
        "".join(captured["out"]),
        timed_out,
        "".join(captured["err"]),
    )


def _own_command(*arguments: str) -> list[str]:
    """``python -m helpers.grade ARGUMENTS`` in isolated mode (``-I``): the working folder, which
    the submission controls, is not on ``sys.path``; only the course's own ``helpers`` is."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from helpers.grade import main; sys.exit(main())"
    return [sys.executable, "-I", "-c", code, *arguments]


def _last_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            try:
                return json.loads(line[len(RESULT_MARK) :])
            except json.JSONDecodeError:
                return None
    return None


# ---------------------------------------------------------------------------------------------
# What runs inside the sandbox: the notebook runner and the model evaluator


def execute_notebook(path: Path, timeout: float, output_cap: int) -> dict[str, Any]:
    """Run every cell of the notebook at ``path`` in a fresh kernel; report how it ended."""
    import nbformat  # noqa: PLC0415
    from nbclient import NotebookClient  # noqa: PLC0415
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: PLC0415

    class CappedClient(NotebookClient):
        """Keeps at most ``output_cap`` bytes of output, then interrupts the kernel."""

        def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
            self.output_bytes = getattr(self, "output_bytes", 0) + len(json.dumps(msg.get("content", {})))
            if self.output_bytes <= output_cap:
                return super().output(outs, msg, display_id, cell_index)
            if not getattr(self, "over_cap", False):
                self.over_cap = True
                self.interrupting = asyncio.ensure_future(self.km.interrupt_kernel())
            return None

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # a TODO stub that still raises is an error here
        tags = cell.get("metadata", {}).get("tags", [])
        if "raises-exception" in tags:
            cell.metadata["tags"] = [t for t in tags if t != "raises-exception"]
    client = CappedClient(
        nb,
        timeout=int(timeout),
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellTimeoutError:
        return {"status": "timeout", "error": "儲存格執行超過時間限制 (a cell ran past the time limit)"}
    except DeadKernelError as err:
        return {"status": "kernel_died", "error": f"DeadKernelError: {str(err)[:300]}"}
    except CellExecutionError as err:
        if getattr(client, "over_cap", False):
            return {"status": "output_limit", "error": f"輸出超過 {output_cap:,} bytes (output over the cap)"}
        ename, evalue = getattr(err, "ename", "Error"), getattr(err, "evalue", "")
        status = {
            "SyntaxError": "syntax_error",
            "IndentationError": "syntax_error",
            "NotImplementedError": "unfinished",
            "MemoryError": "memory_limit",
        }.get(ename, "cell_error")
        return {"status": status, "error": f"{ename}: {evalue}"[:500]}
    if getattr(client, "over_cap", False):
        return {"status": "output_limit", "error": f"輸出超過 {output_cap:,} bytes (output over the cap)"}
    return {"status": "ok", "error": ""}


def evaluate_model(path: Path, mode: str) -> dict[str, Any]:
    """Load a saved model (no custom code: ``safe_mode``) and measure it on the mode's test set."""
    import keras  # noqa: PLC0415

    import helpers.models  # noqa: F401, PLC0415 - registers the course's own serialisable objects
    from helpers.data import load_cifar10  # noqa: PLC0415
    from helpers.homework import inspect_model  # noqa: PLC0415
    from helpers.modes import get_mode  # noqa: PLC0415
    from helpers.training import accuracy  # noqa: PLC0415

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - any failure to load is the submission's problem
        return {"error": f"無法載入模型 (cannot load the model): {type(err).__name__}: {str(err)[:300]}"}
    report = inspect_model(model)
    result: dict[str, Any] = {
        "input_shape": report.input_shape,
        "output_shape": report.output_shape,
        "params": report.params,
        "layer_types": report.layer_types,
        "test_accuracy": None,
    }
    if report.shapes_ok:
        _, (x_test, y_test) = get_mode(mode).subset(load_cifar10())
        result["test_accuracy"] = accuracy(model, x_test, y_test, batch_size=100)
    return result


# ---------------------------------------------------------------------------------------------
# Grading


@dataclass
class Settings:
    mode: str
    timeout: float
    rubric: Rubric
    rubric_path: Path
    work: Path
    submissions: Path
    data: Path | None
    sandbox: bool
    threads: int
    memory_bytes: int = 8 * 2**30
    output_cap: int = 5_000_000


@dataclass
class Row:
    """One line of the CSV, and what the feedback file says."""

    id: str
    status: str = "ok"
    error: str = ""
    items: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    test_accuracy: float | None = None
    params: int | None = None
    runtime_s: float = 0.0

    def csv_row(self, rubric: Rubric) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "score": round(sum(self.items.values()), 2),
        }
        row.update({name: self.items.get(name, 0) for name in rubric.columns})
        row["test_accuracy"] = "" if self.test_accuracy is None else round(self.test_accuracy, 4)
        row["params"] = "" if self.params is None else self.params
        row["runtime_s"] = round(self.runtime_s, 1)
        row["error"] = self.error
        return row


def _copy_submission(submission: Submission, scratch: Path) -> Path:
    """Copy the hand-in into ``scratch`` (regular files only, 50 MB at most); the notebook's path there."""
    assert submission.notebook is not None
    if submission.path.is_file():
        target = scratch / submission.notebook.name
        shutil.copyfile(submission.notebook, target)
        return target
    total = 0
    for source in sorted(submission.path.rglob("*")):
        relative = source.relative_to(submission.path)
        if source.is_symlink() or not source.is_file() or relative.parts[0] == OUTPUT_DIR.name:
            continue
        total += source.stat().st_size
        if total > MAX_SUBMISSION_BYTES:
            break
        (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, scratch / relative)
    return scratch / submission.notebook.relative_to(submission.path)


def _in_box(settings: Settings, scratch: Path, argv: list[str], timeout: float) -> Finished:
    env = clean_environment(scratch, settings.mode, settings.data, settings.threads)
    for folder in ("MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        Path(env[folder]).mkdir(parents=True, exist_ok=True)
    if settings.sandbox:
        readable = [ROOT, Path(sys.prefix), Path(sys.base_prefix)]  # course, venv, Python
        if settings.data is not None:
            readable.append(settings.data if settings.data.is_dir() else settings.data.parent)
        home = [Path.home()] if Path.home() != Path("/") else []  # the instructor's own files
        hidden = [*home, settings.submissions, settings.work, settings.rubric_path.parent]
        argv = sandboxed(argv, scratch, readable, hidden)
    return run_limited(argv, env, scratch, timeout, settings.memory_bytes)


def _score_answers(row: Row, scratch: Path, rubric: Rubric) -> None:
    answers_file = scratch / ANSWERS_PATH
    answers: dict[str, Any] = {}
    if answers_file.is_file() and answers_file.stat().st_size <= MAX_ANSWERS_BYTES:
        try:
            loaded = json.loads(answers_file.read_text(encoding="utf-8"))
            answers = loaded if isinstance(loaded, dict) else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            row.notes["answers"] = "answers.json 不是有效的 JSON (not valid JSON)"
    elif not answers_file.is_file():
        row.notes["answers"] = f"沒有 {ANSWERS_PATH} (no answers file)"
    for question, expected in rubric.answers.items():
        column = f"q_{question}"
        if column not in rubric.points:
            continue
        given = canonical(answers.get(question))
        right = given is not None and given == canonical(expected)
        row.items[column] = rubric.points[column] if right else 0
        row.notes[column] = "✅" if right else f"❌ 你的答案 (yours): {repr(answers.get(question))[:40]}"
    if "justification" in rubric.points:
        text = answers.get(JUSTIFICATION_KEY)
        ok = isinstance(text, str) and len(text.strip()) >= JUSTIFICATION_MIN_CHARS
        row.items["justification"] = rubric.points["justification"] if ok else 0
        row.notes["justification"] = (
            "✅" if ok else f"❌ 需要一句說明卷積區塊順序的理由（至少 {JUSTIFICATION_MIN_CHARS} 個字）"
        )


def _score_model(row: Row, evaluation: dict[str, Any], settings: Settings) -> None:
    points = settings.rubric.points
    report = ModelReport(
        input_shape=tuple(evaluation["input_shape"]) if evaluation.get("input_shape") else None,
        output_shape=tuple(evaluation["output_shape"]) if evaluation.get("output_shape") else None,
        params=int(evaluation.get("params") or 0),
        layer_types=tuple(evaluation.get("layer_types") or ()),
    )
    row.params = report.params
    row.test_accuracy = evaluation.get("test_accuracy")
    checks = {
        "shapes": report.shapes_ok,
        "param_budget": report.shapes_ok and report.within_budget,
        "gap_head": report.gap_head,
        "batch_norm": report.batch_norm,
    }
    for name, ok in checks.items():
        row.items[name] = points.get(name, 0) if ok else 0
    target = TARGET_ACCURACY[settings.mode]
    accuracy = row.test_accuracy
    row.items["accuracy"] = round(points.get("accuracy", 0) * accuracy_credit(accuracy, settings.mode), 1)
    problems = model_problems(report)
    row.notes["model"] = "✅" if not problems else "❌ " + "；".join(p for p, _ in problems)
    row.notes["accuracy"] = (
        f"評分程式量到的測試準確率 (measured by the grader): {accuracy:.1%}（目標 target {target:.0%}）"
        if accuracy is not None
        else "無法量測準確率 (accuracy could not be measured)"
    )
    if problems and row.status == "ok":
        row.status, row.error = "bad_model", problems[0][0]


def grade_one(submission: Submission, settings: Settings) -> Row:
    """Run, measure and score one submission; never raises."""
    row = Row(submission.id)
    started = time.monotonic()
    try:
        _grade(submission, settings, row)
    except Exception as err:  # noqa: BLE001 - one broken submission must not stop the batch
        row.status, row.error = "grader_error", f"{type(err).__name__}: {err}"[:500]
    row.runtime_s = time.monotonic() - started
    return row


def _grade(submission: Submission, settings: Settings, row: Row) -> None:
    import nbformat  # noqa: PLC0415

    if submission.notebook is None:
        row.status, row.error = "no_notebook", STATUSES["no_notebook"]
        return
    try:
        nbformat.validate(nbformat.read(submission.notebook, as_version=4))
    except Exception as err:  # noqa: BLE001 - JSON, encoding and schema errors alike
        row.status, row.error = "invalid_notebook", f"{type(err).__name__}: {str(err)[:300]}"
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"{submission.id[:40]}-", dir=settings.work))
    notebook = _copy_submission(submission, scratch)
    runner = _own_command("_execute", str(notebook), "--timeout", str(settings.timeout))
    runner += ["--output-cap", str(settings.output_cap)]
    finished = _in_box(settings, scratch, runner, settings.timeout + 60)
    result = _last_result(finished.stdout)
    if finished.timed_out:
        row.status, row.error = "timeout", f"超過 {settings.timeout:.0f} 秒 (over {settings.timeout:.0f} s)"
    elif result is None:
        row.status, row.error = (
            "kernel_died",
            f"執行程式沒有回報結果，結束碼 {finished.returncode} (no result)",
        )
    else:
        row.status, row.error = result["status"], result["error"]
    row.items["runs"] = settings.rubric.points.get("runs", 0) if row.status == "ok" else 0
    _score_answers(row, scratch, settings.rubric)
    model = scratch / MODEL_PATH
    if not model.is_file():
        if row.status == "ok":
            row.status, row.error = "no_model", STATUSES["no_model"]
        row.notes["model"] = f"❌ 沒有 {MODEL_PATH} (no model file)"
        return
    # Measured in a fresh folder the submission never ran in: nothing it left behind (a fake
    # helpers package, a keras.json) can reach the evaluator.
    fresh = Path(tempfile.mkdtemp(prefix=f"{submission.id[:40]}-eval-", dir=settings.work))
    shutil.copyfile(model, fresh / "model.keras")
    evaluator = _own_command("_evaluate", str(fresh / "model.keras"), "--mode", settings.mode)
    evaluation = _in_box(settings, fresh, evaluator, 600)
    measured = _last_result(evaluation.stdout)
    if measured is None or "error" in measured:
        fallback = f"評估模型時失敗 (the evaluation failed): {evaluation.last_error_line()}"
        message = (measured or {}).get("error", fallback)
        if row.status == "ok":
            row.status, row.error = "bad_model", message
        row.notes["model"] = f"❌ {message}"
        return
    _score_model(row, measured, settings)


def feedback_text(row: Row, rubric: Rubric, mode: str) -> str:
    """The zh-TW feedback file for one student."""
    lines = [
        f"# 作業 07 回饋 (feedback)：{row.id}",
        "",
        f"- 狀態 (status)：`{row.status}`：{STATUSES.get(row.status, '')}",
        f"- 總分 (score)：{sum(row.items.values()):g} / {rubric.total:g}",
        f"- 評分模式 (mode)：{mode}",
    ]
    if row.error:
        lines.append(f"- 錯誤 (error)：`{row.error}`")
    if row.test_accuracy is not None:
        lines.append(f"- {row.notes.get('accuracy', '')}")
    if row.params is not None:
        lines.append(f"- 參數量 (params)：{row.params:,}（預算 budget {PARAM_BUDGET:,}）")
    lines += ["", "| 項目 (item) | 得分 (points) | 說明 (note) |", "|---|---|---|"]
    for name in rubric.columns:
        note = row.notes.get(name) or row.notes.get("model" if name in ITEMS[1:5] else name, "")
        if name == "runs":
            note = "✅" if row.status == "ok" else f"❌ {STATUSES.get(row.status, row.status)}"
        lines.append(f"| {name} | {row.items.get(name, 0):g} / {rubric.points[name]:g} | {note} |")
    return "\n".join(lines) + "\n"


def grade_all(
    submissions: list[Submission], settings: Settings, jobs: int, report: Callable[[int, int, Row], None]
) -> list[Row]:
    """Grade every submission, ``jobs`` at a time; ``report`` is called as each one finishes."""
    rows: dict[str, Row] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, s, settings): s for s in submissions}
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows[row.id] = row
            report(done, len(submissions), row)
    return [rows[s.id] for s in submissions]


def write_csv(rows: list[Row], rubric: Rubric, out: Path) -> None:
    """Write the CSV (UTF-8 with BOM, so that Excel shows the Chinese correctly)."""
    columns = ["id", "status", "score", *rubric.columns, "test_accuracy", "params", "runtime_s", "error"]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.csv_row(rubric))


def _progress(done: int, total: int, row: Row) -> None:
    width = 20
    filled = round(width * done / total)
    bar = "█" * filled + "·" * (width - filled)
    score = sum(row.items.values())
    print(
        f"[{bar}] {done}/{total}  {row.id:<20} {row.status:<16} 分數 {score:5.1f}  {row.runtime_s:5.1f} s",
        file=sys.stderr,
        flush=True,
    )


SANDBOX_MISSING = """\
⚠️  沒有可用的沙盒（bubblewrap / bwrap）！學生的程式會直接在這台電腦上執行，
    只受時間限制、記憶體限制、私人暫存資料夾與乾淨的環境變數保護，仍可能讀寫你的檔案。
    安裝：sudo apt-get install bubblewrap
⚠️  No sandbox (bubblewrap) available! Submissions run directly on this machine, limited only by
    the time and memory limits, a private scratch folder and a clean environment; they could
    still read or change your files. Install it: sudo apt-get install bubblewrap"""


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["_execute"]:
        return _main_execute(arguments[1:])
    if arguments[:1] == ["_evaluate"]:
        return _main_evaluate(arguments[1:])
    parser = argparse.ArgumentParser(prog="python -m helpers.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks (or one folder each)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    parser.add_argument("--mode", choices=sorted(TARGET_ACCURACY), default="full")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per submission (full 1800, smoke 300)"
    )
    parser.add_argument(
        "--feedback", type=Path, default=None, help="folder for feedback files (OUT's folder/feedback)"
    )
    parser.add_argument("--rubric", type=Path, default=DEFAULT_RUBRIC)
    parser.add_argument("--memory-gb", type=float, default=8.0, help="memory limit per submission")
    parser.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap even if present")
    args = parser.parse_args(arguments)

    from helpers.data import local_copy  # noqa: PLC0415

    if not args.submissions.is_dir():
        parser.error(f"找不到資料夾 (no such folder): {args.submissions}")
    data = local_copy()
    if data is None:
        print(
            "⚠️  找不到 CIFAR-10 的本機副本；請設定 CIFAR10_DIR。 (No local CIFAR-10; set CIFAR10_DIR.)",
            file=sys.stderr,
        )
    sandbox = not args.no_sandbox and sandbox_available()
    if not sandbox:
        print(SANDBOX_MISSING, file=sys.stderr)
    submissions = find_submissions(args.submissions.resolve())
    work = Path(tempfile.mkdtemp(prefix="cifar10-grade-"))
    settings = Settings(
        mode=args.mode,
        timeout=args.timeout or (300.0 if args.mode == "smoke" else 1800.0),
        rubric=load_rubric(args.rubric),
        rubric_path=args.rubric.resolve(),
        work=work,
        submissions=args.submissions.resolve(),
        data=data,
        sandbox=sandbox,
        threads=max(1, (os.cpu_count() or 1) // max(1, args.jobs)),
        memory_bytes=int(args.memory_gb * 2**30),
    )
    sandbox_word = "bubblewrap" if sandbox else "無 (none)"
    print(
        f"評分 (grading) {len(submissions)} 份｜模式 mode {args.mode}｜同時 jobs {args.jobs}｜"
        f"時限 timeout {settings.timeout:.0f} s｜沙盒 sandbox {sandbox_word}",
        file=sys.stderr,
    )
    try:
        rows = grade_all(submissions, settings, args.jobs, _progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_csv(rows, settings.rubric, args.out)
    feedback = args.feedback or args.out.parent / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    for row in rows:
        (feedback / f"{row.id}.md").write_text(
            feedback_text(row, settings.rubric, args.mode), encoding="utf-8"
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = "、".join(f"{status} {n}" for status, n in sorted(counts.items()))
    print(f"完成 (done)：{summary}｜CSV：{args.out}｜回饋 (feedback)：{feedback}/", file=sys.stderr)
    return 0


def _main_execute(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.grade _execute")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--output-cap", type=int, required=True)
    args = parser.parse_args(arguments)
    result = execute_notebook(args.notebook, args.timeout, args.output_cap)
    print(RESULT_MARK + json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def _main_evaluate(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.grade _evaluate")
    parser.add_argument("model", type=Path)
    parser.add_argument("--mode", required=True)
    args = parser.parse_args(arguments)
    result = evaluate_model(args.model, args.mode)
    print(RESULT_MARK + json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
