"""What runs inside the sandbox: the notebook runner and the model evaluator.

Each runs as its own process, started by :func:`inside_command` in isolated mode (``python -I``):
the working folder, which the submission controls, is not on ``sys.path``; only the course's own
``helpers`` is, so a ``helpers`` package planted in a submission cannot replace this code. Each
writes one line, :data:`RESULT_MARK` followed by JSON, which :func:`last_result` reads back, to a
private pipe (``--result-fd``): the kernel it starts does not inherit that pipe, and the process
makes itself non-dumpable first, so the kernel cannot open it through ``/proc`` either. Lines the
kernel prints, result-like or not, go to stdout, which the grader only logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets.config import Config

from helpers.contract import graded_copy
from helpers.course import ROOT
from helpers.grade.sandbox import RESULT_FD

RESULT_MARK = "GRADER-RESULT "
#: Which error, raised by a cell, gives which status.
ERROR_STATUS = {
    "SyntaxError": "syntax_error",
    "IndentationError": "syntax_error",
    "NotImplementedError": "unfinished",
    "MemoryError": "memory_limit",
}


def inside_command(*arguments: str) -> list[str]:
    """``python -I`` running :func:`main` of this module with ``arguments``; its result goes to
    the private pipe :func:`helpers.grade.sandbox.run_limited` opens (:data:`RESULT_FD`)."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        "from helpers.grade.inside import main; sys.exit(main())"
    )
    return [sys.executable, "-I", "-c", code, "--result-fd", RESULT_FD, *arguments]


def last_result(stdout: str) -> dict[str, Any] | None:
    """The JSON of the last :data:`RESULT_MARK` line in ``stdout`` (None if there is none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            try:
                return json.loads(line[len(RESULT_MARK) :])
            except json.JSONDecodeError:
                return None
    return None


def first_error(nb: nbformat.NotebookNode) -> dict[str, Any] | None:
    """The status and message of the first cell that raised: the error, then which code cell
    (counted from 1, as a student counts) and its first line. None when no cell raised."""
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
            lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
            where = f"第 {number} 個程式格 (code cell {number}): {(lines or [''])[0][:80]}"
            return {
                "status": ERROR_STATUS.get(ename, "cell_error"),
                "error": f"{ename}: {str(evalue)[:300]}｜{where}",
            }
    return None


def execute_notebook(path: Path, timeout: float, output_cap: int) -> dict[str, Any]:
    """Run every cell of the notebook at ``path`` in a fresh kernel; report how it ended.

    Like nbgrader, the run goes on after a cell raises: a typo in a late plotting cell costs the
    "runs" points (the status names the first failing cell), and the model and answers that later
    cells save are still graded. Cells tagged ``raises-exception`` lose the tag: a TODO stub that
    still raises is an error here. After ``output_cap`` bytes of output the kernel is interrupted.
    The result says how many seconds the run took (kernel start to the last cell).

    The kernel talks to this process over Unix sockets in a folder of its own (``ipc``
    transport), not TCP ports: kernels started at the same moment on one machine can never pick
    the same port (jupyter/nbgrader#174, nteract/papermill#511).
    """

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

    nb = graded_copy(nbformat.read(path, as_version=4))
    sockets = tempfile.mkdtemp(prefix="k")  # short: a Unix socket's path has at most 107 bytes
    client = CappedClient(
        nb,
        timeout=int(timeout),
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
        config=Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "k")}}),
    )
    started = time.monotonic()
    try:
        result = _run(client, output_cap)
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _run(client: NotebookClient, output_cap: int) -> dict[str, Any]:
    over_cap = {"status": "output_limit", "error": f"輸出超過 {output_cap:,} bytes (output over the cap)"}
    try:
        client.execute()
    except CellTimeoutError:
        return {"status": "timeout", "error": "儲存格執行超過時間限制 (a cell ran past the time limit)"}
    except DeadKernelError as err:
        return {"status": "kernel_died", "error": f"DeadKernelError: {str(err)[:300]}"}
    except CellExecutionError as err:
        if getattr(client, "over_cap", False):
            return over_cap
        ename, evalue = getattr(err, "ename", "Error"), getattr(err, "evalue", "")
        return {"status": ERROR_STATUS.get(ename, "cell_error"), "error": f"{ename}: {evalue}"[:500]}
    if getattr(client, "over_cap", False):
        return over_cap
    return first_error(client.nb) or {"status": "ok", "error": ""}


def evaluate_model(path: Path, mode: str) -> dict[str, Any]:
    """Load a saved model (no custom code: ``safe_mode``) and measure it: its contract (shapes,
    parameters, layers, whether it is a course reference model), the facts the homework's questions
    ask about, and its accuracy on the mode's test set (the true labels: only this process reads
    them)."""
    import keras  # noqa: PLC0415 - only this process needs Keras (seconds to import)

    from helpers.data import load_cifar10  # noqa: PLC0415 - the runner never needs these
    from helpers.homework import inspect_model, model_facts  # noqa: PLC0415
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
        "reference": report.reference,
        "unchanged": report.unchanged,
        "gap_feeds_output": report.gap_feeds_output,
        "pooling_reduces": report.pooling_reduces,
        "similar": [list(pair) for pair in report.similar],
        "facts": model_facts(model),
        "test_accuracy": None,
    }
    if report.shapes_ok:
        x_test, y_test = get_mode(mode).splits(load_cifar10()).test
        result["test_accuracy"] = accuracy(model, x_test, y_test, batch_size=100)
    return result


def calibrate() -> dict[str, Any]:
    """This box's speed (:func:`helpers.budget.calibrate`), with the threads its environment sets."""
    from helpers.budget import GRADER_CALIBRATION_S  # noqa: PLC0415 - imports Keras
    from helpers.budget import calibrate as measure  # noqa: PLC0415

    return measure(min_seconds=GRADER_CALIBRATION_S).to_dict()


def _private() -> None:
    """Make this process non-dumpable: a process of the same user (the kernel) can then neither
    trace it nor open its file descriptors through ``/proc/PID/fd``."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def main(argv: list[str] | None = None) -> int:
    """``execute NOTEBOOK --timeout S --output-cap B --result-fd N``,
    ``evaluate MODEL --mode M --result-fd N`` or ``calibrate --result-fd N``."""
    _private()
    parser = argparse.ArgumentParser(prog="helpers.grade.inside")
    parser.add_argument("--result-fd", type=int, default=None, help="pipe for the result (else stdout)")
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute")
    execute.add_argument("notebook", type=Path)
    execute.add_argument("--timeout", type=float, required=True)
    execute.add_argument("--output-cap", type=int, required=True)
    evaluate = commands.add_parser("evaluate")
    evaluate.add_argument("model", type=Path)
    evaluate.add_argument("--mode", required=True)
    commands.add_parser("calibrate")
    args = parser.parse_args(argv)
    channel = None
    if args.result_fd is not None:
        os.set_inheritable(args.result_fd, False)  # never passed on to the kernel
        channel = os.fdopen(args.result_fd, "w", encoding="utf-8")
    if args.command == "execute":
        result = execute_notebook(args.notebook, args.timeout, args.output_cap)
    elif args.command == "evaluate":
        result = evaluate_model(args.model, args.mode)
    else:
        result = calibrate()
    line = RESULT_MARK + json.dumps(result, ensure_ascii=False)
    if channel is None:
        print(line, flush=True)
    else:
        channel.write(line + "\n")
        channel.close()
    return 0
