"""``python -m helpers.grade``: grade a folder of homework-07 submissions into a CSV and feedback files.

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
   and an output cap; cells left tagged ``raises-exception`` must not raise here; a cell that
   raises costs the "runs" points and is named, and the run goes on (later cells still save the
   model and the answers);
   the kernel gets a copy of CIFAR-10 whose test batch has **no labels** (the notebook's own
   test-accuracy cell says so and goes on), and the original data is hidden from it;
3. loads the saved model in a separate sandboxed process and measures it itself: input and
   output shapes, parameter count, layer types (BN, pooling, GAP head), whether it is a course
   reference model (then no model points), the facts the questions ask about, and accuracy on the
   test set of the run mode with the true labels. Nothing the notebook printed is read;
4. checks the answers file against those facts, with the points of the rubric kept with the
   solution (``solutions/07_homework.rubric.json``);
5. lists what a person must review (the BN-order justification, the data augmentation) in the
   CSV's ``review`` column and quotes it in the feedback file; those points are the instructor's.

A broken submission gets a row whose ``status`` names the problem (see :data:`STATUSES`); the
grader itself goes on to the next one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from helpers.course import ROOT
from helpers.data import DATA_ENV_VAR, CIFAR10Error, load_cifar10, local_copy, write_withheld_copy
from helpers.grade.files import UnsafeFileError, read_regular
from helpers.grade.inside import inside_command, last_result
from helpers.grade.report import write_csv, write_feedback
from helpers.grade.sandbox import (
    NO_CGROUP,
    SANDBOX_MISSING,
    SANDBOX_OFF,
    Finished,
    Limits,
    clean_environment,
    make_control_group,
    run_limited,
    sandbox_available,
    sandboxed,
)
from helpers.grade.scoring import (
    DEFAULT_RUBRIC,
    MAX_ANSWERS_BYTES,
    STATUSES,
    Row,
    Rubric,
    load_rubric,
    mark_for_review,
    parse_answers,
    score_answers,
    score_model,
)
from helpers.grade.submissions import (
    Handin,
    Submission,
    embedded_data,
    find_submissions,
    justification_code,
    load_handin,
    read_notebook,
    training_code,
    write_handin,
)
from helpers.homework import ANSWERS_PATH, MODEL_PATH
from helpers.modes import MODES, RunMode, get_mode

#: The biggest saved model the grader copies out of a scratch folder (the parameter budget in
#: float32 is 2 MB; Keras files with optimizer state are a few times that).
MAX_MODEL_BYTES = 200_000_000


@dataclass
class Settings:
    """Everything one grading run needs, the same for every submission."""

    mode: RunMode
    timeout: float
    rubric: Rubric
    work: Path
    data: Path | None  # the instructor's CIFAR-10: only the evaluator reads it
    sandbox: bool
    threads: int
    limits: Limits = field(default_factory=Limits)
    output_cap: int = 5_000_000
    kernel_data: Path | None = None  # the copy without the test set that submissions read


def _folder_of(data: Path) -> Path:
    return data if data.is_dir() else data.parent


def _in_box(
    settings: Settings, scratch: Path, argv: list[str], timeout: float, data: Path | None
) -> Finished:
    """Run ``argv`` for a submission: clean environment, limits, and the sandbox when there is one.
    ``data`` is the CIFAR-10 copy this process may read; nothing else of the instructor's is
    mounted (see :func:`helpers.grade.sandbox.sandboxed`)."""
    env = clean_environment(scratch, settings.mode.name, data, settings.threads)
    for folder in ("MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        Path(env[folder]).mkdir(parents=True, exist_ok=True)
    if settings.sandbox:
        readable = [Path(sys.prefix), Path(sys.base_prefix), ROOT / "helpers"]  # Python, venv, course code
        readable += [Path(sys.executable).resolve().parent.parent]
        if data is not None:
            readable.append(_folder_of(data))
        argv = sandboxed(argv, scratch, readable, settings.limits.tmp_bytes)
    return run_limited(argv, env, scratch, timeout, settings.limits, watch=scratch)


def grade_one(submission: Submission, settings: Settings) -> Row:
    """Read, run, measure and score one submission; never raises. Its scratch folders are
    deleted as soon as it is done."""
    row = Row(submission.id)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=settings.work))
    try:
        _grade(load_handin(submission), settings, row, scratch)
    except Exception as err:  # noqa: BLE001 - one broken submission must not stop the batch
        row.status, row.error = "grader_error", f"{type(err).__name__}: {err}"[:500]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    row.runtime_s = time.monotonic() - started
    return row


def _grade(handin: Handin, settings: Settings, row: Row, scratch: Path) -> None:
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
    embedded = embedded_data(original, handin)
    run = scratch / "run"
    run.mkdir()
    notebook = write_handin(handin, run)
    runner = inside_command("execute", str(notebook), "--timeout", str(settings.timeout))
    runner += ["--output-cap", str(settings.output_cap)]
    finished = _in_box(settings, run, runner, settings.timeout + 60, settings.kernel_data)
    result = last_result(finished.result)
    if finished.timed_out:
        row.status, row.error = "timeout", f"超過 {settings.timeout:.0f} 秒 (over {settings.timeout:.0f} s)"
    elif finished.limit == "disk":
        gb = settings.limits.disk_bytes / 2**30
        row.status, row.error = "disk_limit", f"暫存資料夾超過 {gb:g} GB (scratch folder over {gb:g} GB)"
    elif finished.limit == "memory":
        gb = settings.limits.memory_bytes / 2**30
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
    answers = parse_answers(_read_output(run, ANSWERS_PATH, MAX_ANSWERS_BYTES, row, "answers"), row)
    mark_for_review(row, answers, quoted, settings.rubric, written)
    if embedded:
        row.review["embedded"] = "\n".join(embedded)
    model = _read_output(run, MODEL_PATH, MAX_MODEL_BYTES, row, "model")
    if model is None:
        row.fail("no_model", STATUSES["no_model"])
        row.notes.setdefault("model", f"❌ 沒有 {MODEL_PATH} (no model file)")
        score_answers(row, answers, {}, settings.rubric)
        row.items["runs"] = 0
        return
    # Measured in a fresh folder the submission never ran in: nothing it left behind (a fake
    # helpers package, a keras.json) can reach the evaluator.
    fresh = scratch / "evaluate"
    fresh.mkdir()
    (fresh / "model.keras").write_bytes(model)
    evaluator = inside_command("evaluate", str(fresh / "model.keras"), "--mode", settings.mode.name)
    evaluation = _in_box(settings, fresh, evaluator, 600, settings.data)
    measured = last_result(evaluation.result)
    if measured is None or "error" in measured:
        fallback = f"評估模型時失敗 (the evaluation failed): {evaluation.last_error_line()}"
        message = str((measured or {}).get("error", fallback))
        row.fail("bad_model", message)
        row.notes["model"] = f"❌ {message}"
        score_answers(row, answers, {}, settings.rubric)
        row.items["runs"] = 0
        return
    # The "runs" points: the whole notebook ran and left a model the grader could load.
    row.items["runs"] = settings.rubric.points.get("runs", 0) if row.status == "ok" else 0
    score_answers(row, answers, measured.get("facts") or {}, settings.rubric)
    score_model(row, measured, settings.rubric, settings.mode)


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


def grade_all(
    submissions: list[Submission], settings: Settings, jobs: int, report: Callable[[int, int, Row], None]
) -> list[Row]:
    """Grade every submission, ``jobs`` at a time; ``report`` is called as each one finishes.
    One row per submission, in the order given (ids are unique; nothing is keyed by them)."""
    rows: list[Row | None] = [None] * len(submissions)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_one, s, settings): k for k, s in enumerate(submissions)}
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows[futures[future]] = row
            report(done, len(submissions), row)
    return [row for row in rows if row is not None]


def _progress(done: int, total: int, row: Row) -> None:
    width = 20
    filled = round(width * done / total)
    bar = "█" * filled + "·" * (width - filled)
    print(
        f"[{bar}] {done}/{total}  {row.id:<20} {row.status:<16} "
        f"分數 {row.score:5.1f}  {row.runtime_s:5.1f} s",
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks (or one folder each)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per submission (default: the mode's "
        + ", ".join(f"{m.name} {m.grading_timeout_s:.0f}" for m in MODES.values())
        + ")",
    )
    parser.add_argument(
        "--feedback", type=Path, default=None, help="folder for feedback files (OUT's folder/feedback)"
    )
    parser.add_argument("--rubric", type=Path, default=DEFAULT_RUBRIC)
    parser.add_argument("--memory-gb", type=float, default=8.0, help="memory limit per submission")
    parser.add_argument("--disk-gb", type=float, default=2.0, help="scratch folder size per submission")
    parser.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap even if present")
    args = parser.parse_args(argv)
    mode = get_mode(args.mode)

    if not args.submissions.is_dir():
        parser.error(f"找不到資料夾 (no such folder): {args.submissions}")
    data = local_copy()
    try:
        if data is None:
            raise CIFAR10Error(
                f"找不到 CIFAR-10 的本機副本：請設定環境變數 {DATA_ENV_VAR}。",
                f"No local CIFAR-10 copy: set the environment variable {DATA_ENV_VAR}.",
            )
        loaded = load_cifar10(data)
    except CIFAR10Error as err:
        print(
            "❌ 評分沒有開始：這台電腦的設定有問題，不是學生的錯。"
            " (Grading did not start: a setup problem, not a student's.)\n"
            f"{err}\n詳見 README「沒有網路時的資料」。 (See the README: offline CIFAR-10.)",
            file=sys.stderr,
        )
        return 2
    if args.no_sandbox:
        print(SANDBOX_OFF, file=sys.stderr)
    elif not sandbox_available():
        print(SANDBOX_MISSING, file=sys.stderr)
    sandbox = not args.no_sandbox and sandbox_available()
    limits = Limits(memory_bytes=int(args.memory_gb * 2**30), disk_bytes=int(args.disk_gb * 2**30))
    probe = make_control_group(limits)
    if probe is None:
        print(NO_CGROUP, file=sys.stderr)
    else:
        probe.close()
    submissions = find_submissions(args.submissions.resolve())
    work = Path(tempfile.mkdtemp(prefix="cifar10-grade-"))
    # The submissions' copy: the training set only (no test images, no test labels).
    kernel_data = write_withheld_copy(loaded, work / "kernel-data")
    settings = Settings(
        mode=mode,
        timeout=args.timeout or mode.grading_timeout_s,
        rubric=load_rubric(args.rubric),
        work=work,
        data=data,
        sandbox=sandbox,
        threads=max(1, (os.cpu_count() or 1) // max(1, args.jobs)),
        limits=limits,
        kernel_data=kernel_data,
    )
    sandbox_word = "bubblewrap" if sandbox else "無 (none)"
    print(
        f"評分 (grading) {len(submissions)} 份｜模式 mode {args.mode}｜同時 jobs {args.jobs}｜"
        f"時限 timeout {settings.timeout:.0f} s｜沙箱 sandbox {sandbox_word}",
        file=sys.stderr,
    )
    try:
        rows = grade_all(submissions, settings, args.jobs, _progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_csv(rows, settings.rubric, args.out)
    feedback = args.feedback or args.out.parent / "feedback"
    write_feedback(rows, settings.rubric, mode.name, feedback)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = "、".join(f"{status} {n}" for status, n in sorted(counts.items()))
    print(f"完成 (done)：{summary}｜CSV：{args.out}｜回饋 (feedback)：{feedback}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
