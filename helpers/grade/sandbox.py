"""Where a submission runs: a bubblewrap sandbox, a clean environment, limits, and a clean kill.

Nothing here knows about notebooks or scores: it runs a command line with limits and reports how
it ended (:class:`Finished`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.course import ROOT
from helpers.data import DATA_ENV_VAR
from helpers.modes import MODE_ENV_VAR

#: stdout and stderr kept from one process (the rest is read and dropped).
MAX_CAPTURED_BYTES = 1_000_000

SANDBOX_MISSING = """\
⚠️  沒有可用的沙箱（bubblewrap / bwrap）！學生的程式會直接在這台電腦上執行，
    只受時間限制、記憶體限制、私人暫存資料夾與乾淨的環境變數保護，仍可能讀寫你的檔案。
    安裝：sudo apt-get install bubblewrap
⚠️  No sandbox (bubblewrap) available! Submissions run directly on this machine, limited only by
    the time and memory limits, a private scratch folder and a clean environment; they could
    still read or change your files. Install it: sudo apt-get install bubblewrap"""


def sandbox_available() -> bool:
    """Whether bubblewrap is installed and can create a sandbox on this machine."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all"]
    try:
        return subprocess.run([*probe, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def sandboxed(argv: list[str], scratch: Path, readable: Sequence[Path], hidden: Sequence[Path]) -> list[str]:
    """``argv`` wrapped in bubblewrap: a read-only view of the system with a private, empty /tmp;
    the ``hidden`` folders (the instructor's home, the submissions, the rubric) replaced by empty
    ones; inside them only the ``readable`` folders (course, Python, data) mounted back, read-only;
    ``scratch`` the only writable folder; no network, no capabilities, and everything inside
    killed when the sandbox ends."""
    command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    command += [arg for folder in hidden if folder.is_dir() for arg in ("--tmpfs", str(folder))]
    for folder in readable:
        command += ["--ro-bind", str(folder), str(folder)]
    for folder in hidden:  # again where a readable folder brought it back (the rubric inside the course)
        if folder.is_dir() and any(folder != r and folder.is_relative_to(r) for r in readable):
            command += ["--tmpfs", str(folder)]
    command += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    command += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
    return command + argv


def clean_environment(scratch: Path, mode: str, data: Path | None, threads: int) -> dict[str, str]:
    """The only environment a submission sees: nothing of the instructor's but PATH and the data."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "COURSE_ROOT": str(ROOT),
        MODE_ENV_VAR: mode,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "JUPYTER_RUNTIME_DIR": str(scratch / ".jupyter" / "runtime"),
        "JUPYTER_DATA_DIR": str(scratch / ".jupyter" / "data"),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "KERAS_HOME": str(scratch / ".keras"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": str(threads),
    }
    if data is not None:
        env[DATA_ENV_VAR] = str(data)
    return env


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_tree(process: subprocess.Popen[str]) -> None:
    """SIGKILL ``process`` and every process it started (children first found, then itself)."""
    for pid in [*_descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Finished:
    """How a child process ended: exit code (None after a timeout) and its capped output."""

    returncode: int | None
    stdout: str
    timed_out: bool
    stderr: str = ""

    def last_error_line(self) -> str:
        """The last non-empty line of stderr (the exception of a crashed helper process)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1][:300] if lines else f"exit code {self.returncode}"


def run_limited(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float, memory_bytes: int
) -> Finished:
    """Run ``argv`` with a wall-clock limit (the whole process tree is killed at the limit), a
    data-size limit, and stdout/stderr capped at :data:`MAX_CAPTURED_BYTES` each."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
        preexec_fn=limits,  # only setrlimit, nothing that could deadlock after fork
    )
    captured: dict[str, list[str]] = {"out": [], "err": []}

    def drain(stream: Any, into: list[str]) -> None:
        size = 0
        for line in stream:
            if size < MAX_CAPTURED_BYTES:
                into.append(line)
                size += len(line)

    readers = [
        threading.Thread(target=drain, args=(process.stdout, captured["out"]), daemon=True),
        threading.Thread(target=drain, args=(process.stderr, captured["err"]), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_tree(process)
        process.wait()
    else:
        kill_tree(process)  # a kernel left behind by the runner must not outlive it
    for reader in readers:
        reader.join(timeout=5)
    return Finished(
        None if timed_out else process.returncode,
        "".join(captured["out"]),
        timed_out,
        "".join(captured["err"]),
    )
