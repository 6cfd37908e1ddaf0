"""Grading a batch on Dask: the cluster, the journal that makes a run resumable, and the progress line.

- **The engine** (:func:`open_client`): an embedded :class:`distributed.LocalCluster` with
  ``--jobs`` single-threaded workers on this machine (threads of the client's process: the work
  of a task runs in sandboxed subprocesses), or an existing cluster (``--scheduler
  ADDRESS``: ``dask scheduler`` on one machine, ``dask worker ADDRESS`` on the others). One
  submission is one task (:func:`helpers.grade.worker.grade_task`); the hand-in travels as bytes.
  Scheduling, retries and lost workers are Dask's: a task whose worker dies runs again elsewhere,
  and one that was on a worker that died twice ends in :class:`distributed.KilledWorker`
  (``distributed.scheduler.allowed-failures``: 1 for the embedded cluster, whose workers are threads
  of the client and so cannot die alone; set it on a ``dask scheduler``, see the README). Such a
  task may have been only queued beside the one that killed the worker: each is graded again
  alone, after the rest, and only one lost again becomes the status ``worker_lost``. On a
  full-mode batch, a cluster with GPU workers (``dask worker … --resources GPU=1``) runs every
  task on them.
- **Nothing lost** (:class:`Journal`): each finished row is appended to ``OUT.journal.jsonl`` at
  once (flushed to disk) and the CSV and that student's feedback file are rewritten atomically.
  Running the same command again grades only what the journal does not hold with the same content
  and the same settings (``--regrade``: everything again).
- **Progress** (:class:`Progress`): finished/total, failures so far and an estimate of the time left.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers.grade.report import write_csv, write_feedback
from helpers.grade.scoring import STATUSES, Row, Rubric
from helpers.grade.submissions import Handin, Submission, load_handin
from helpers.grade.worker import TaskConfig, WorkerSetupError, grade_task

#: Statuses that are not a failure of the submission's run.
PASSING = frozenset({"ok"})


def journal_path(out: Path) -> Path:
    """Where the journal of the CSV ``out`` lives: beside it."""
    return out.with_name(out.name + ".journal.jsonl")


def settings_key(config: TaskConfig) -> str:
    """What makes two gradings of the same hand-in comparable: mode, budget, rubric, course code."""
    settings = {
        "mode": config.mode,
        "budget_s": config.budget_s,
        "rubric": [config.rubric.points, config.rubric.reviewed],
        "code": config.code_version,
        "timeout_s": config.timeout_s,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


class Journal:
    """Finished rows, one JSON line each, appended and flushed as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[tuple[str, str], Row]:
        """Rows already graded, by (hand-in digest, settings key); a torn last line is skipped."""
        done: dict[tuple[str, str], Row] = {}
        if not self.path.exists():
            return done
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    done[(entry["digest"], entry["settings"])] = Row(**entry["row"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        return done

    def append(self, digest: str, settings: str, row: Row) -> None:
        entry = {"digest": digest, "settings": settings, "row": dataclasses.asdict(row)}
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


class Progress:
    """One line per finished submission on stderr: a bar, finished/total, failures, time left."""

    def __init__(self, total: int, already: int = 0) -> None:
        self.total, self.done, self.already, self.failures = total, already, already, 0
        self.started = time.monotonic()

    def line(self, row: Row) -> str:
        self.done += 1
        self.failures += row.status not in PASSING
        width = 20
        filled = round(width * self.done / max(1, self.total))
        ran = self.done - self.already
        elapsed = time.monotonic() - self.started
        left = elapsed / ran * (self.total - self.done) if ran else 0.0
        return (
            f"[{'█' * filled}{'·' * (width - filled)}] {self.done}/{self.total}  "
            f"{row.id[:20]:<20} {row.status:<14} 分數 {row.score:5.1f}  {row.runtime_s:5.1f} s｜"
            f"失敗 failures {self.failures}｜剩餘約 ETA {_clock(left)}"
        )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextmanager
def open_client(scheduler: str | None, jobs: int) -> Iterator[Any]:
    """A Dask client: on the cluster at ``scheduler``, or on an embedded ``LocalCluster`` of
    ``jobs`` single-threaded worker processes (closed on exit)."""
    import dask  # noqa: PLC0415 - seconds to import; only the batch needs it
    from distributed import Client, LocalCluster  # noqa: PLC0415

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    scratch = tempfile.mkdtemp(prefix="dask-grade-")  # the workers' own files, deleted at the end
    settings = {"distributed.scheduler.allowed-failures": 1, "temporary-directory": scratch}
    with dask.config.set(settings):
        # Workers as threads of this process: each task's work runs in subprocesses of its own
        # (the sandboxed kernel, the evaluator), so worker processes would only add start-up time.
        cluster = LocalCluster(
            local_directory=scratch,
            n_workers=max(1, jobs),
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
            shutil.rmtree(scratch, ignore_errors=True)


def cluster_layout(client: Any, mode: str) -> tuple[dict[str, int], dict[str, float] | None, str]:
    """From the scheduler's view: tasks at once per host (threads of all workers on it), the
    resources every task asks for (a GPU in full mode when some worker has one), and a line that
    describes the cluster."""
    workers = client.scheduler_info()["workers"]  # all of them (n_workers=-1 by default)
    slots: dict[str, int] = {}
    gpus = 0
    for info in workers.values():
        slots[info["host"]] = slots.get(info["host"], 0) + int(info.get("nthreads", 1))
        gpus += int((info.get("resources") or {}).get("GPU", 0))
    resources = {"GPU": 1.0} if gpus and mode == "full" else None
    where = f"{len(workers)} workers / {len(slots)} 台機器 (hosts)" + (f"｜GPU {gpus}" if gpus else "")
    return slots, resources, where


def grade_batch(
    submissions: list[Submission],
    config: TaskConfig,
    client: Any,
    out: Path,
    feedback: Path,
    regrade: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> list[Row]:
    """Grade every submission on ``client``'s cluster; rows in the order given. Results are
    written as they arrive (journal, CSV, feedback); rows the journal already holds for the same
    hand-in and settings are reused unless ``regrade``."""
    from distributed import KilledWorker, as_completed, wait  # noqa: PLC0415

    journal = Journal(journal_path(out))
    settings = settings_key(config)
    done = {} if regrade else journal.load()
    rows: list[Row | None] = [None] * len(submissions)
    pending: dict[Any, tuple[int, Handin, str]] = {}
    slots, resources, where = cluster_layout(client, config.mode)
    config = dataclasses.replace(config, slots_by_host=slots)
    say(f"叢集 (cluster)：{where}")
    handins = [load_handin(s) for s in submissions]
    for k, handin in enumerate(handins):
        digest = handin.digest()
        kept = done.get((digest, settings))
        if kept is not None:
            rows[k] = kept
            continue
        future = client.submit(
            grade_task,
            handin,
            config,
            key=f"grade-{k}-{digest[:12]}",
            pure=False,
            retries=1,
            resources=resources,
        )
        pending[future] = (k, handin, digest)
    reused = sum(row is not None for row in rows)
    if reused:
        say(f"已評過 (already graded, from the journal)：{reused} 份；這次評 (to grade) {len(pending)} 份")
    progress = Progress(len(submissions), already=reused)
    _write(rows, config.rubric, out)

    def record(k: int, digest: str, row: Row) -> None:
        rows[k] = row
        journal.append(digest, settings, row)
        _write(rows, config.rubric, out)
        write_feedback([row], config.rubric, config.mode, feedback)
        say(progress.line(row))

    lost: list[tuple[int, Handin, str]] = []
    for future in as_completed(list(pending)):
        k, handin, digest = pending.pop(future)
        if future.status == "error" and isinstance(future.exception(), KilledWorker):
            lost.append((k, handin, digest))  # it, or a task beside it, brought its workers down
            continue
        record(k, digest, _outcome(future, handin, KilledWorker))
    # A task is lost when the workers it was given died twice: a submission that kills its worker,
    # or one queued on a worker beside it (or on a machine that crashed). Each lost one is graded
    # again alone, after the others, so that only a submission that kills its worker on its own
    # is reported as lost.
    if lost:
        say(f"worker 當掉過：{len(lost)} 份作業單獨再評一次 (graded again alone, one at a time)")
    for k, handin, digest in lost:
        future = client.submit(
            grade_task,
            handin,
            config,
            key=f"grade-{k}-{digest[:12]}-alone",
            pure=False,
            retries=1,
            resources=resources,
        )
        wait([future])
        record(k, digest, _outcome(future, handin, KilledWorker))
    finished = [row for row in rows if row is not None]
    write_feedback(finished, config.rubric, config.mode, feedback)
    return finished


def _outcome(future: Any, handin: Handin, killed_worker: type) -> Row:
    """The row a finished future gives, or the row for how it failed."""
    try:
        row = future.result()
    except killed_worker:
        row = Row(handin.id, status="worker_lost")
        row.error = (
            "這份作業在評分時讓 worker 當掉兩次，單獨再評一次時又當掉兩次，已停止重試；請講師檢查。"
            " (Grading this submission killed its worker twice, and twice again when it was graded"
            " alone; not retried again. Please check it.)"
        )
    except WorkerSetupError as err:
        row = Row(handin.id, status="grader_error", error=str(err)[:500])
    except Exception as err:  # noqa: BLE001 - anything else the cluster reports: the batch goes on
        row = Row(handin.id, status="grader_error", error=f"{type(err).__name__}: {err}"[:500])
    if not isinstance(row, Row):
        row = Row(handin.id, status="grader_error", error=f"unexpected result {type(row).__name__}")
    if row.status not in STATUSES:
        row.status = "grader_error"
    return row


def _write(rows: list[Row | None], rubric: Rubric, out: Path) -> None:
    write_csv([row for row in rows if row is not None], rubric, out)
