"""``python -m helpers.grade``: grade a folder of homework-07 submissions into a CSV and feedback files.

Usage::

    python -m helpers.grade SUBMISSIONS_DIR --out grades.csv [--mode smoke|full] [--jobs N]
                            [--scheduler ADDRESS] [--regrade] [--budget REFERENCE_SECONDS]
                            [--timeout SECONDS] [--feedback DIR] [--rubric FILE] [--no-sandbox]
                            [--memory-gb GB] [--disk-gb GB] [--output-mb MB]

Grading runs on Dask (:mod:`helpers.grade.batch`): an embedded ``LocalCluster`` of ``--jobs``
workers on this machine, or the cluster at ``--scheduler``. Each finished row goes at once into
``OUT.journal.jsonl``, the CSV and its feedback file; the same command run again resumes.

``SUBMISSIONS_DIR`` holds one notebook per student (``alice.ipynb``) or one folder per student
(``alice/…ipynb``); the id is the file or folder name without extension.

For each submission the grader

1. copies it into a private scratch folder (dropping any ``homework_output/`` it brought along:
   only files the run itself writes count);
2. runs the notebook headless with nbclient, in its own kernel process, inside an OS-level
   sandbox when the machine has one (bubblewrap: read-only view of the system, the scratch
   folder the only writable place, the submissions folder, other scratch folders and the rubric
   hidden, no network, no capabilities), with a clean environment, a memory limit and an output
   cap; its time counts in reference seconds against the mode's budget (:mod:`helpers.budget`,
   from the worker's own calibration), with a wall-clock guard well above it; cells left tagged
   ``raises-exception`` must not raise here; a cell that raises costs the "runs" points and is
   named, and the run goes on (later cells still save the model and the answers);
   the kernel gets a copy of CIFAR-10 without the test set (the notebook's own test-accuracy
   cell says so and goes on), and the original data is hidden from it;
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
import sys
from pathlib import Path

from helpers.data import DATA_ENV_VAR, CIFAR10Error, local_copy
from helpers.grade.batch import grade_batch, journal_path, open_client
from helpers.grade.sandbox import (
    NO_CGROUP,
    SANDBOX_MISSING,
    SANDBOX_OFF,
    Limits,
    make_control_group,
    sandbox_available,
)
from helpers.grade.scoring import DEFAULT_RUBRIC, load_rubric
from helpers.grade.submissions import find_submissions
from helpers.grade.worker import TaskConfig, code_version
from helpers.modes import MODES, get_mode


def _check_data() -> bool:
    """Whether this machine has a CIFAR-10 copy; says what to do when it has not. (Each worker
    reads and checks its own copy when it prepares, see :func:`helpers.grade.worker.worker_setup`.)"""
    data = local_copy()
    if data is not None and data.exists():
        return True
    err = CIFAR10Error(
        f"找不到 CIFAR-10 的本機副本：請設定環境變數 {DATA_ENV_VAR}。",
        f"No local CIFAR-10 copy: set the environment variable {DATA_ENV_VAR}.",
    )
    print(
        "❌ 評分沒有開始：這台電腦的設定有問題，不是學生的錯。"
        " (Grading did not start: a setup problem, not a student's.)\n"
        f"{err}\n詳見 README「沒有網路時的資料」。 (See the README: offline CIFAR-10.)",
        file=sys.stderr,
    )
    return False


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks (or one folder each)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write")
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--jobs", type=int, default=1, help="workers of the embedded cluster (this machine)")
    parser.add_argument("--scheduler", default=None, help="grade on this Dask cluster (tcp://HOST:8786)")
    parser.add_argument("--regrade", action="store_true", help="grade again what the journal holds")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="time budget in reference seconds (default: the mode's, "
        + ", ".join(f"{m.name} {m.budget_s:.0f}" for m in MODES.values())
        + ")",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="wall-clock seconds per notebook (default: a guard from the budget)",
    )
    parser.add_argument(
        "--feedback", type=Path, default=None, help="folder for feedback files (OUT's folder/feedback)"
    )
    parser.add_argument("--rubric", type=Path, default=DEFAULT_RUBRIC)
    parser.add_argument("--memory-gb", type=float, default=8.0, help="memory limit per submission")
    parser.add_argument("--disk-gb", type=float, default=2.0, help="scratch folder size per submission")
    parser.add_argument(
        "--output-mb", type=float, default=5.0, help="output a notebook may print before it is stopped"
    )
    parser.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap even if present")
    args = parser.parse_args(argv)
    mode = get_mode(args.mode)

    if not args.submissions.is_dir():
        parser.error(f"找不到資料夾 (no such folder): {args.submissions}")
    if args.scheduler is None and not _check_data():  # a cluster's workers check their own
        return 2
    if args.no_sandbox:
        print(SANDBOX_OFF, file=sys.stderr)
    elif not sandbox_available():
        print(SANDBOX_MISSING, file=sys.stderr)
    limits = Limits(memory_bytes=int(args.memory_gb * 2**30), disk_bytes=int(args.disk_gb * 2**30))
    probe = make_control_group(limits)
    if probe is None:
        print(NO_CGROUP, file=sys.stderr)
    else:
        probe.close()
    config = TaskConfig(
        mode=mode.name,
        budget_s=args.budget or mode.budget_s,
        rubric=load_rubric(args.rubric),
        sandbox=not args.no_sandbox and sandbox_available(),
        limits=limits,
        timeout_s=args.timeout,
        output_cap=int(args.output_mb * 1_000_000),
        code_version=code_version(),
    )
    submissions = find_submissions(args.submissions.resolve())
    feedback = args.feedback or args.out.parent / "feedback"
    sandbox_word = "bubblewrap" if config.sandbox else "無 (none)"
    print(
        f"評分 (grading) {len(submissions)} 份｜模式 mode {mode.name}｜"
        f"預算 budget {config.budget_s:,.0f} 參考秒 (reference s)｜沙箱 sandbox {sandbox_word}｜"
        f"紀錄 journal {journal_path(args.out)}",
        file=sys.stderr,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open_client(args.scheduler, args.jobs) as client:
        rows = grade_batch(submissions, config, client, args.out, feedback, regrade=args.regrade)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    summary = "、".join(f"{status} {n}" for status, n in sorted(counts.items()))
    print(f"完成 (done)：{summary}｜CSV：{args.out}｜回饋 (feedback)：{feedback}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
