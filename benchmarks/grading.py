"""How long grading takes, and how a class scales: the same submissions serial, on an embedded
2-worker ``LocalCluster``, and on a cluster of ``dask worker`` processes started separately.

Copies a homework-07 notebook ``--copies`` times into a temporary folder and grades the folder
with ``python -m helpers.grade`` in the given mode, once per setup, timing the whole command
(cluster start, kernel starts, sandbox, evaluation) and reading each submission's ``runtime_s``,
``reference_s``, score and measured accuracy from the CSV. The graders' cache (data copy,
calibrations) is filled before the first timed run, as on an instructor's machine after its
first batch::

    python -m benchmarks.grading --copies 8 --out benchmarks/results/grading_smoke_cpu.json

Setups: ``serial`` (``--jobs 1``), ``local2`` (``--jobs 2``), ``cluster2`` (``dask scheduler``
and 2 ``dask worker --nthreads 1`` processes on 127.0.0.1, graded with ``--scheduler``).

``--notebook example`` grades, instead of the solution, the student copy filled in the way its
TODO comments suggest (:func:`helpers.grade.example.example_submission`). In full mode with
``--copies 1 --setups serial`` it measures one full-mode submission on this machine::

    python -m benchmarks.grading --notebook example --mode full --copies 1 --setups serial \\
        --out benchmarks/results/homework_example_full_cpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat

from helpers.course import ROOT
from helpers.data import data_source
from helpers.device import hardware_record
from helpers.grade.example import example_submission

SETUPS = ("serial", "local2", "cluster2")


@contextlib.contextmanager
def local_cluster(folder: Path, workers: int) -> Iterator[str]:
    """``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on 127.0.0.1."""
    dask = str(Path(sys.executable).parent / "dask")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    address_file = folder / "scheduler.json"
    started = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(address_file)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start")
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(workers):
            started.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--no-dashboard"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                )
            )  # fmt: skip
        yield address
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def grade(submissions: Path, out: Path, mode: str, *options: str) -> tuple[float, list[dict[str, str]]]:
    command = [sys.executable, "-m", "helpers.grade", str(submissions), "--out", str(out), "--mode", mode]
    start = time.perf_counter()
    subprocess.run([*command, *options, "--regrade"], check=True, cwd=ROOT, capture_output=True)
    wall = time.perf_counter() - start
    with open(out, encoding="utf-8-sig") as f:
        return wall, list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS))
    parser.add_argument("--mode", default="smoke")
    parser.add_argument("--notebook", choices=("solution", "example"), default="solution")
    args = parser.parse_args(argv)

    from helpers.grade import sandbox_available  # noqa: PLC0415

    result: dict[str, Any] = {
        "copies": args.copies,
        "mode": args.mode,
        "notebook": args.notebook,
        "sandbox": "bubblewrap" if sandbox_available() else "none",
        "data_source": data_source(),
        "hardware": hardware_record(),
        "python": platform.python_version(),
        "batches": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        submissions = folder / "submissions"
        submissions.mkdir()
        source = folder / "07_homework.ipynb"
        if args.notebook == "solution":
            shutil.copyfile(ROOT / "solutions" / "07_homework.ipynb", source)
        else:
            nbformat.write(example_submission(), source)
        for i in range(args.copies):
            shutil.copyfile(source, submissions / f"student{i:02d}.ipynb")
        warm = folder / "warm"  # fills the cache: data copy, calibration with 1 and 2 threads
        warm.mkdir()
        (warm / "empty.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()), encoding="utf-8")
        for jobs in ("1", "2"):
            grade(warm, folder / "warm.csv", args.mode, "--jobs", jobs)
        for setup in args.setups:
            out = folder / f"grades_{setup}.csv"
            if setup == "cluster2":
                with local_cluster(folder, 2) as address:
                    wall, rows = grade(submissions, out, args.mode, "--scheduler", address)
            else:
                wall, rows = grade(submissions, out, args.mode, "--jobs", "1" if setup == "serial" else "2")
            result["batches"].append(
                {
                    "setup": setup,
                    "wall_s": round(wall, 1),
                    "median_submission_s": round(statistics.median(float(r["runtime_s"]) for r in rows), 1),
                    "median_reference_s": round(
                        statistics.median(float(r["reference_s"] or 0) for r in rows), 1
                    ),
                    "statuses": sorted({row["status"] for row in rows}),
                    "scores": sorted({row["score"] for row in rows}),
                    "test_accuracies": sorted({row["test_accuracy"] for row in rows}),
                    "devices": sorted({row["device"] for row in rows}),
                }
            )
            print(json.dumps(result["batches"][-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
