"""How long the grader takes: one submission, and a batch with ``--jobs 1`` vs ``--jobs 2``.

Copies the solution notebook of homework 07 ``--copies`` times into a temporary folder and grades
the folder with ``python -m helpers.grade`` in the given mode, once per ``--jobs`` value, timing
the whole command (kernel starts, sandbox, evaluation included) and reading each submission's
``runtime_s`` from the CSV::

    python -m benchmarks.grading --out benchmarks/results/grading_smoke_cpu.json
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from helpers.course import ROOT
from helpers.device import hardware_record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", default="smoke")
    args = parser.parse_args(argv)

    from helpers.grade import sandbox_available  # noqa: PLC0415

    result: dict[str, Any] = {
        "copies": args.copies,
        "mode": args.mode,
        "sandbox": "bubblewrap" if sandbox_available() else "none",
        "hardware": hardware_record(),
        "python": platform.python_version(),
        "batches": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        submissions = Path(tmp) / "submissions"
        submissions.mkdir()
        for i in range(args.copies):
            shutil.copyfile(ROOT / "solutions" / "07_homework.ipynb", submissions / f"student{i:02d}.ipynb")
        for jobs in args.jobs:
            out = Path(tmp) / f"grades_{jobs}.csv"
            command = [sys.executable, "-m", "helpers.grade", str(submissions), "--out", str(out)]
            command += ["--mode", args.mode, "--jobs", str(jobs)]
            start = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
            wall = time.perf_counter() - start
            with open(out, encoding="utf-8-sig") as f:
                rows = list(csv.DictReader(f))
            per_submission = [float(row["runtime_s"]) for row in rows]
            result["batches"].append(
                {
                    "jobs": jobs,
                    "wall_s": round(wall, 1),
                    "median_submission_s": round(statistics.median(per_submission), 1),
                    "statuses": sorted({row["status"] for row in rows}),
                    "scores": sorted({row["score"] for row in rows}),
                }
            )
            print(json.dumps(result["batches"][-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
