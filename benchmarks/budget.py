"""The reference grader's speed: the calibration step of :mod:`helpers.budget`, measured.

Runs :func:`helpers.budget.calibrate` in ``--runs`` fresh processes with each ``--threads`` value
(TensorFlow's intra-op threads, as the grader sets them for a task) and records every run's
median step, and the median over runs::

    python -m benchmarks.budget --threads 2 1 --out benchmarks/results/budget_cpu.json

:data:`helpers.budget.REFERENCE_STEP_S` is the 2-thread median of this record on the course's
2-core CPU; with 1 thread (``--jobs 2`` on that machine) a task's budget is longer in wall
seconds by the ratio printed here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from helpers.budget import REFERENCE_STEP_S
from helpers.course import ROOT
from helpers.device import hardware_record

CODE = (
    "import json; from helpers.budget import GRADER_CALIBRATION_S, calibrate; "
    "print(json.dumps(calibrate(min_seconds=GRADER_CALIBRATION_S).to_dict()))"
)


def measure(threads: int, runs: int) -> list[dict]:
    env = {
        **os.environ,
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": str(threads),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, cwd=ROOT, check=True
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.budget", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    record: dict = {"hardware": hardware_record(), "threads": {}}
    for threads in args.threads:
        runs = measure(threads, args.runs)
        median = statistics.median(r["step_s"] for r in runs)
        record["threads"][str(threads)] = {"median_step_s": median, "runs": runs}
        print(
            f"{threads} threads: median step {median * 1000:.1f} ms over {len(runs)} runs "
            f"({REFERENCE_STEP_S / median:.2f}× the reference grader)",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
