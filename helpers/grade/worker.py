"""What a grading worker does with one submission: a Dask task, or a plain call on one machine.

:func:`grade_task` is the task the client (``python -m helpers.grade``) submits, once per
submission. It receives the hand-in as bytes (:class:`helpers.grade.submissions.Handin`) and the
batch's settings (:class:`TaskConfig`), so a worker needs no shared file system: only the course
code, its Python environment and its own CIFAR-10 copy. It returns the scored row with the
worker's name and device.

Each worker process prepares, once, and keeps (:func:`worker_setup`):

- **its data**: the instructor's CIFAR-10 copy (``CIFAR10_DIR`` of the worker), which only the
  evaluator reads, and the copy without the test set that submissions read, written into a cache
  folder keyed by the data's content (:func:`data_key`), so it is made once per machine;
- **its speed**: a calibration (:func:`helpers.budget.calibrate`) run in the sandbox with the
  threads each task gets, cached per machine and thread count for an hour. The time budget is
  enforced in reference seconds from it: the same rule on a 2-core CPU and on a GPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.budget import Calibration
from helpers.course import ROOT
from helpers.data import DATA_ENV_VAR, load_cifar10, local_copy, write_withheld_copy
from helpers.grade.files import UnsafeFileError, read_regular
from helpers.grade.inside import inside_command, last_result
from helpers.grade.sandbox import (
    Finished,
    Limits,
    clean_environment,
    run_limited,
    sandboxed,
)
from helpers.grade.scoring import (
    MAX_ANSWERS_BYTES,
    MODEL_ITEMS,
    STATUSES,
    Row,
    Rubric,
    mark_for_review,
    parse_answers,
    score_answers,
    score_model,
)
from helpers.grade.submissions import (
    Handin,
    ablation_code,
    embedded_data,
    justification_code,
    read_notebook,
    training_code,
    write_handin,
)
from helpers.homework import ANSWERS_PATH, MODEL_PATH
from helpers.modes import get_mode

#: The biggest saved model the grader copies out of a scratch folder (the parameter budget in
#: float32 is 2 MB; Keras files with optimizer state are a few times that).
MAX_MODEL_BYTES = 200_000_000
#: Where a worker keeps its data copy and calibrations (``$COURSE_GRADE_CACHE`` overrides).
CACHE_ENV_VAR = "COURSE_GRADE_CACHE"
#: How long a calibration is reused on the same machine with the same threads.
CALIBRATION_MAX_AGE_S = 3600.0


class WorkerSetupError(RuntimeError):
    """The worker cannot grade at all (no data, other course code): not the student's fault."""


@dataclass(frozen=True)
class TaskConfig:
    """The batch's settings, the same for every submission; travels with each task."""

    mode: str
    budget_s: float  # reference seconds for the whole notebook run
    rubric: Rubric
    sandbox: bool
    limits: Limits = field(default_factory=Limits)
    #: Tasks that run at once on each host (the threads of all its workers, from the scheduler): a
    #: task gets that host's cores divided by it. A host not listed counts its own worker only.
    slots_by_host: dict[str, int] = field(default_factory=dict)
    #: Wall-clock seconds for the notebook run; None: the guard derived from the budget.
    timeout_s: float | None = None
    output_cap: int = 5_000_000
    code_version: str = ""


def code_version(root: Path = ROOT) -> str:
    """A hash of the course code the grader runs (``helpers/**/*.py``): a worker whose code differs
    from the client's refuses to grade rather than grade by other rules."""
    h = hashlib.sha256()
    for path in sorted((root / "helpers").rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def cache_folder() -> Path:
    given = os.environ.get(CACHE_ENV_VAR)
    folder = Path(given) if given else Path.home() / ".cache" / "cifar10-course" / "grade"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def machine_lock(name: str) -> Iterator[None]:
    """Held by one process of this machine at a time (the workers of one machine share the cache:
    one prepares, the others wait and reuse)."""
    with open(cache_folder() / f".{name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def data_key(data: Path) -> str:
    """A hash of the data's bytes (every file under ``data``, or the file itself)."""
    h = hashlib.sha256()
    files = sorted(p for p in data.rglob("*") if p.is_file()) if data.is_dir() else [data]
    for path in files:
        h.update(path.name.encode() + b"\0")
        with open(path, "rb") as f:
            h.update(hashlib.file_digest(f, "sha256").digest())
    return h.hexdigest()[:16]


@dataclass
class WorkerSetup:
    """One worker process's data and calibrations (made once, then reused by every task)."""

    data: Path  # the instructor's copy: only the evaluator reads it
    kernel_data: Path  # training batches only: what submissions read
    calibrations: dict[tuple[int, bool], Calibration] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_SETUP: WorkerSetup | None = None
_SETUP_LOCK = threading.Lock()


def worker_setup() -> WorkerSetup:
    """This process's :class:`WorkerSetup`, prepared on first use (data copy from the cache when
    one with the same content is there)."""
    global _SETUP
    with _SETUP_LOCK:
        if _SETUP is None:
            data = local_copy()
            if data is None or not data.exists():
                raise WorkerSetupError(
                    f"這個評分 worker（{socket.gethostname()}）找不到 CIFAR-10：請設定 {DATA_ENV_VAR}。"
                    f" (Worker {socket.gethostname()} has no CIFAR-10 copy: set {DATA_ENV_VAR}.)"
                )
            key = data_key(data)
            target = cache_folder() / f"kernel-data-{key}"
            with machine_lock(f"data-{key}"):
                if not (target / "ready").exists():
                    partial = Path(tempfile.mkdtemp(prefix="kernel-data-", dir=target.parent))
                    write_withheld_copy(load_cifar10(data), partial)
                    (partial / "ready").write_text("", encoding="utf-8")
                    shutil.rmtree(target, ignore_errors=True)
                    partial.rename(target)
            _SETUP = WorkerSetup(data=data, kernel_data=next(target.glob("cifar-10-batches-py")))
        return _SETUP


def in_box(
    config: TaskConfig, scratch: Path, argv: list[str], timeout: float, data: Path | None, threads: int
) -> Finished:
    """Run ``argv`` for a submission: clean environment, limits, and the sandbox when asked for.
    ``data`` is the CIFAR-10 copy this process may read; nothing else of the instructor's is
    mounted (see :func:`helpers.grade.sandbox.sandboxed`)."""
    env = clean_environment(scratch, config.mode, data, threads)
    for folder in ("MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        Path(env[folder]).mkdir(parents=True, exist_ok=True)
    if config.sandbox:
        readable = [Path(sys.prefix), Path(sys.base_prefix), ROOT / "helpers"]  # Python, venv, course code
        readable += [Path(sys.executable).resolve().parent.parent]
        if data is not None:
            readable.append(data if data.is_dir() else data.parent)
        argv = sandboxed(argv, scratch, readable, config.limits.tmp_bytes)
    return run_limited(argv, env, scratch, timeout, config.limits, watch=scratch)


def calibration_for(config: TaskConfig, setup: WorkerSetup, threads: int) -> Calibration:
    """This machine's calibration with ``threads`` threads, run in the same box as the notebooks
    (cached in memory, and on disk for :data:`CALIBRATION_MAX_AGE_S`)."""
    key = (threads, config.sandbox)
    with setup.lock:
        if key in setup.calibrations:
            return setup.calibrations[key]
        stored = cache_folder() / f"calibration-{socket.gethostname()}-{threads}t.json"
        with machine_lock(stored.stem):
            calibration = _stored_calibration(stored)
            if calibration is None:
                calibration = _measure(config, threads)
                partial = stored.with_suffix(f".{os.getpid()}.tmp")
                partial.write_text(json.dumps({"time": time.time(), "calibration": calibration.to_dict()}))
                partial.replace(stored)
        setup.calibrations[key] = calibration
        return calibration


def _stored_calibration(stored: Path) -> Calibration | None:
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        record = json.loads(stored.read_text(encoding="utf-8"))
        if time.time() - float(record["time"]) < CALIBRATION_MAX_AGE_S:
            return Calibration(**record["calibration"])
    return None


def _measure(config: TaskConfig, threads: int) -> Calibration:
    scratch = Path(tempfile.mkdtemp(prefix="calibrate-"))
    try:
        finished = in_box(config, scratch, inside_command("calibrate"), 600, None, threads)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = last_result(finished.result)
    if not result or "step_s" not in result:
        raise WorkerSetupError(
            f"校準失敗 (calibration failed) on {socket.gethostname()}: {finished.last_error_line()}"
        )
    return Calibration(**result)


def task_threads(config: TaskConfig) -> int:
    """CPU threads this task gets: this machine's cores over the tasks that run on it at once."""
    slots = 1
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker  # noqa: PLC0415 - only inside a Dask worker
        from distributed.comm import get_address_host  # noqa: PLC0415

        worker = get_worker()
        slots = config.slots_by_host.get(get_address_host(worker.address)) or worker.state.nthreads
    return max(1, (os.cpu_count() or 1) // max(1, slots))


def grade_task(handin: Handin, config: TaskConfig) -> Row:
    """The Dask task: prepare this worker (once), then grade one hand-in. Raises only
    :class:`WorkerSetupError` (the worker cannot grade anyone); a broken submission is a row."""
    if config.code_version and config.code_version != code_version():
        raise WorkerSetupError(
            f"這個 worker（{socket.gethostname()}）的課程程式碼與評分指令不同：請在兩邊 git pull 到同一版。"
            f" (The course code on worker {socket.gethostname()} differs from the client's: update both.)"
        )
    setup = worker_setup()
    threads = task_threads(config)
    calibration = calibration_for(config, setup, threads)
    row = grade_handin(handin, config, setup, calibration, threads)
    row.worker, row.device = f"{socket.gethostname()}:{os.getpid()}", _device(calibration)
    return row


def _device(calibration: Calibration) -> str:
    if calibration.device != "CPU":
        return calibration.device
    return f"CPU {calibration.threads or '?'} threads ({platform.machine()})"


def grade_handin(
    handin: Handin, config: TaskConfig, setup: WorkerSetup, calibration: Calibration, threads: int
) -> Row:
    """Read, run, measure and score one hand-in; never raises. Its scratch folder is deleted as
    soon as it is done."""
    row = Row(handin.id)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="run-"))
    try:
        _grade(handin, config, setup, calibration, threads, row, scratch)
    except Exception as err:  # noqa: BLE001 - one broken submission must not stop the batch
        row.status, row.error = "grader_error", f"{type(err).__name__}: {err}"[:500]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    row.runtime_s = time.monotonic() - started
    return row


def _grade(
    handin: Handin,
    config: TaskConfig,
    setup: WorkerSetup,
    calibration: Calibration,
    threads: int,
    row: Row,
    scratch: Path,
) -> None:
    if handin.problem:
        row.status, row.error = "invalid_notebook", f"無法讀取繳交的檔案 (not read): {handin.problem}"[:500]
        return
    if handin.notebook is None:
        row.status, row.error = "no_notebook", STATUSES["no_notebook"]
        return
    try:
        original = read_notebook(handin)
    except Exception as err:  # noqa: BLE001 - JSON, encoding and schema errors alike
        row.status, row.error = "invalid_notebook", f"{type(err).__name__}: {str(err)[:300]}"
        return
    quoted = training_code(original)  # from the hand-in, before anything ran
    written = justification_code(original)
    ablation = ablation_code(original)
    embedded = embedded_data(original, handin)
    run = scratch / "run"
    run.mkdir()
    notebook = write_handin(handin, run)
    timeout = config.timeout_s if config.timeout_s is not None else calibration.guard_s(config.budget_s)
    runner = inside_command("execute", str(notebook), "--timeout", f"{timeout:.0f}")
    runner += ["--output-cap", str(config.output_cap)]
    finished = in_box(config, run, runner, timeout + 60, setup.kernel_data, threads)
    result = last_result(finished.result)
    _status(row, finished, result, config.limits, timeout)
    if result and isinstance(result.get("seconds"), (int, float)):
        row.reference_s = calibration.to_reference(float(result["seconds"]))
    over_budget = row.reference_s is not None and row.reference_s > config.budget_s
    if over_budget:
        row.fail(
            "over_budget",
            f"用了 {row.reference_s:,.0f} 參考秒，超過預算 {config.budget_s:,.0f}"
            f" (used {row.reference_s:,.0f} reference seconds, over the budget of {config.budget_s:,.0f})",
        )
    rubric = config.rubric
    answers = parse_answers(_read_output(run, ANSWERS_PATH, MAX_ANSWERS_BYTES, row, "answers"), row)
    mark_for_review(row, answers, quoted, rubric, written, ablation)
    if embedded:
        row.review["embedded"] = "\n".join(embedded)
    model = _read_output(run, MODEL_PATH, MAX_MODEL_BYTES, row, "model")
    if model is None:
        row.fail("no_model", STATUSES["no_model"])
        row.notes.setdefault("model", f"❌ 沒有 {MODEL_PATH} (no model file)")
        score_answers(row, answers, {}, rubric)
        row.items["runs"] = 0
        return
    # Measured in a fresh folder the submission never ran in: nothing it left behind (a fake
    # helpers package, a keras.json) can reach the evaluator.
    fresh = scratch / "evaluate"
    fresh.mkdir()
    (fresh / "model.keras").write_bytes(model)
    evaluator = inside_command("evaluate", str(fresh / "model.keras"), "--mode", config.mode)
    evaluation = in_box(config, fresh, evaluator, 600, setup.data, threads)
    measured = last_result(evaluation.result)
    if measured is None or "error" in measured:
        fallback = f"評估模型時失敗 (the evaluation failed): {evaluation.last_error_line()}"
        message = str((measured or {}).get("error", fallback))
        row.fail("bad_model", message)
        row.notes["model"] = f"❌ {message}"
        score_answers(row, answers, {}, rubric)
        row.items["runs"] = 0
        return
    # The "runs" points: the whole notebook ran, within the budget, and left a model the grader could load.
    row.items["runs"] = rubric.points.get("runs", 0) if row.status == "ok" else 0
    score_answers(row, answers, measured.get("facts") or {}, rubric)
    score_model(row, measured, rubric, get_mode(config.mode))
    if over_budget:  # over the time budget: no model points (the answers still count)
        for name in (*MODEL_ITEMS, "accuracy"):
            row.items[name] = 0
        row.notes["model"] = "❌ 超過時間預算：沒有模型的分數 (over the time budget: no model points)"


def _status(
    row: Row, finished: Finished, result: dict[str, Any] | None, limits: Limits, timeout: float
) -> None:
    if finished.timed_out:
        row.status, row.error = "timeout", f"超過 {timeout:.0f} 秒 (over {timeout:.0f} s)"
    elif finished.limit == "disk":
        gb = limits.disk_bytes / 2**30
        row.status, row.error = "disk_limit", f"暫存資料夾超過 {gb:g} GB (scratch folder over {gb:g} GB)"
    elif finished.limit == "memory":
        gb = limits.memory_bytes / 2**30
        row.status, row.error = "memory_limit", f"整個執行超過 {gb:g} GB 記憶體 (the run went over {gb:g} GB)"
    elif result is None:
        row.status, row.error = (
            "kernel_died",
            f"執行程式沒有回報結果，結束碼 {finished.returncode} (no result)",
        )
    else:
        row.status, row.error = str(result.get("status")), str(result.get("error", ""))[:500]
        if row.status not in STATUSES:
            row.status = "grader_error"


def _read_output(run: Path, relative: Path, limit: int, row: Row, what: str) -> bytes | None:
    """A file the run left, read safely (:func:`helpers.grade.files.read_regular`); None, with a
    note, when it is missing, a link, not a regular file or too large."""
    try:
        return read_regular(run, relative.as_posix(), limit)
    except FileNotFoundError:
        return None
    except (UnsafeFileError, OSError) as err:
        row.notes[what] = f"❌ 沒有讀取 {relative} (not read): {err}"
        return None
