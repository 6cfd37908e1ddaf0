"""How long the grader takes: one submission, and a batch with ``--jobs 1`` vs ``--jobs 2``.

Copies a homework-07 notebook ``--copies`` times into a temporary folder and grades the folder
with ``python -m helpers.grade`` in the given mode, once per ``--jobs`` value, timing the whole
command (kernel starts, sandbox, evaluation included) and reading each submission's
``runtime_s``, score and measured accuracy from the CSV::

    python -m benchmarks.grading --out benchmarks/results/grading_smoke_cpu.json

``--notebook example`` grades, instead of the solution, the student copy filled in the way its
TODO comments suggest (the starting model and training call they show, answers for that model):
what a student who follows the examples hands in. In full mode with ``--copies 1 --jobs 1`` this
measures whether that example fits the grading time limit on this machine::

    python -m benchmarks.grading --notebook example --mode full --copies 1 --jobs 1 \\
        --out benchmarks/results/homework_example_full_cpu.json
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

import nbformat

from helpers.course import ROOT
from helpers.device import hardware_record

#: Answers for the example model (small_cnn widths 16/32/64): the ones a student computes.
EXAMPLE_ANSWERS = {
    "answers[JUSTIFICATION_KEY]": 'answers[JUSTIFICATION_KEY] = "conv-bn-relu，momentum 0.9（第 3 課）"',
    'answers["gap_input_shape"]': 'answers["gap_input_shape"] = (8, 8, 64)',
    'answers["head_params"]': 'answers["head_params"] = (64 + 1) * 10',
    'answers["head_params_at_64px"]': 'answers["head_params_at_64px"] = (64 + 1) * 10',
}


def example_submission() -> nbformat.NotebookNode:
    """The student copy of homework 07 with every stub replaced by the example its TODO comment
    shows (indented ``#     code`` lines), or by an answer for the example model."""
    notebook = nbformat.read(ROOT / "notebooks" / "07_homework.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        for k, line in enumerate(lines):
            if "raise NotImplementedError" not in line:
                continue
            indent = line[: len(line) - len(line.lstrip())]
            todo = lines[k - 1] if k and "# TODO：定義 " in lines[k - 1] else ""
            end = k - 1 if todo else k
            start = end
            while start > 0 and lines[start - 1].lstrip().startswith("#     "):
                start -= 1
            example = [indent + text.lstrip()[len("#     ") :].rstrip() for text in lines[start:end]]
            if not example:
                example = [indent + code for name, code in EXAMPLE_ANSWERS.items() if f"定義 {name}" in todo]
            if not example:
                raise ValueError(f"no example for the stub after {todo!r}")
            lines[k] = "\n".join(example)
        cell.source = "\n".join(lines)
        tags = cell.metadata.get("tags", [])
        if "raises-exception" in tags:  # a finished submission must run every cell
            tags.remove("raises-exception")
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mode", default="smoke")
    parser.add_argument("--notebook", choices=("solution", "example"), default="solution")
    args = parser.parse_args(argv)

    from helpers.grade import sandbox_available  # noqa: PLC0415

    result: dict[str, Any] = {
        "copies": args.copies,
        "mode": args.mode,
        "notebook": args.notebook,
        "sandbox": "bubblewrap" if sandbox_available() else "none",
        "hardware": hardware_record(),
        "python": platform.python_version(),
        "batches": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        submissions = Path(tmp) / "submissions"
        submissions.mkdir()
        source = Path(tmp) / "07_homework.ipynb"
        if args.notebook == "solution":
            shutil.copyfile(ROOT / "solutions" / "07_homework.ipynb", source)
        else:
            nbformat.write(example_submission(), source)
        for i in range(args.copies):
            shutil.copyfile(source, submissions / f"student{i:02d}.ipynb")
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
                    "test_accuracies": sorted({row["test_accuracy"] for row in rows}),
                }
            )
            print(json.dumps(result["batches"][-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
