"""The test command's own rules (root ``conftest.py``): what a run collects, with and without
``--quick``. Collection only (nothing runs), of one small notebook and one end-to-end file."""

from __future__ import annotations

import subprocess
import sys

from helpers.course import ROOT

NOTEBOOK = "04_pooling.ipynb"
END_TO_END_FILE = "tests/test_device_command.py"


def collected(*options: str) -> list[str]:
    """The test ids ``pytest --collect-only`` lists for the notebook pair and the end-to-end file."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0"]
    command += [*options, f"solutions/{NOTEBOOK}", f"notebooks/{NOTEBOOK}", END_TO_END_FILE]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_the_full_run_has_every_pass_and_quick_leaves_out_only_the_re_run_and_end_to_end() -> None:
    full = collected()
    solution = [i for i in full if i.startswith(f"solutions/{NOTEBOOK}::") and "(" not in i]
    reruns = [i for i in full if i.endswith("(re-run)")]
    stubs = [i for i in full if f"(student copy notebooks/{NOTEBOOK})" in i]
    end_to_end = [i for i in full if i.startswith(END_TO_END_FILE)]
    assert solution and len(reruns) == len(solution), "every solution cell runs a second time"
    assert stubs, "the student copy's stub cells run"
    assert not [i for i in full if i.startswith("notebooks/")], (
        "student cells equal to the solution's run once"
    )
    assert end_to_end, "the end-to-end tests are in the full run"

    quick = collected("--quick")
    assert sorted(quick) == sorted(set(full) - set(reruns) - set(end_to_end))
