"""Where a submission runs: a bubblewrap sandbox, a clean environment, limits, and a clean kill.

Nothing here knows about notebooks or scores: it runs a command line with limits and reports how
it ended (:class:`Finished`).

- **What it can see** (:func:`sandboxed`): an empty root with only what the run needs mounted
  read-only (the system's programs and libraries, the Python environment, the course's
  ``helpers`` package, the data copy it may read), a size-limited private ``/tmp``, and its scratch
  folder, the only writable place. Nothing else of the file system exists inside: no home
  folders, no other data, no course git history, no solutions, no other submission.
- **How much it can use** (:class:`Limits`, :func:`run_limited`): a wall clock; a control group
  (cgroup v2, or v1's memory and pids hierarchies) limiting the memory and the number of tasks of
  the whole run, every child included; a per-process data-size limit as well; the scratch
  folder's size, watched while it runs, and a per-file size limit.
- **What it reports**: a private pipe that only the command it starts receives (a result line
  printed by anything else goes to stdout, which is only logged).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.data import DATA_ENV_VAR
from helpers.grade.files import tree_size
from helpers.modes import MODE_ENV_VAR

#: stdout and stderr kept from one process (the rest is read and dropped).
MAX_CAPTURED_BYTES = 1_000_000
#: The most bytes read from the result pipe.
MAX_RESULT_BYTES = 1_000_000
#: Stands in ``argv`` for the number of the result pipe's file descriptor.
RESULT_FD = "{result_fd}"

SANDBOX_MISSING = """\
⚠️  沒有可用的沙箱（bubblewrap / bwrap）！學生的程式會直接在這台電腦上執行，
    只受時間限制、記憶體限制、私人暫存資料夾與乾淨的環境變數保護，仍可能讀寫你的檔案。
    安裝：sudo apt-get install bubblewrap
⚠️  No sandbox (bubblewrap) available! Submissions run directly on this machine, limited only by
    the time and memory limits, a private scratch folder and a clean environment; they could
    still read or change your files. Install it: sudo apt-get install bubblewrap"""
SANDBOX_OFF = """\
⚠️  沙箱已用 --no-sandbox 關閉：學生的程式會直接在這台電腦上執行，仍可能讀寫你的檔案。
⚠️  The sandbox is turned off by --no-sandbox: submissions run directly on this machine and could
    still read or change your files."""
NO_CGROUP = """\
⚠️  無法建立 cgroup：整個執行（所有子行程）的記憶體總量與行程數沒有上限，只有每個行程各自的記憶體上限。
⚠️  No cgroup could be made: the memory and process count of a run as a whole (all its children)
    are not limited, only each process's own data size."""

#: System folders mounted read-only into the sandbox (a link, as on merged-/usr systems, stays a link).
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: The few files of /etc that programs read at start (dynamic loader, users, time zone, fonts).
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "nsswitch.conf",
    "passwd",
    "group",
    "localtime",
    "alternatives",
    "fonts",
)


@dataclass(frozen=True)
class Limits:
    """What one run may use."""

    memory_bytes: int = 8 * 2**30  # the whole run (cgroup), and each process's data size
    tasks: int = 512  # processes and threads of the whole run (TensorFlow starts dozens of threads)
    disk_bytes: int = 2 * 2**30  # the scratch folder, and any one file
    tmp_bytes: int = 512 * 2**20  # the sandbox's private /tmp (in memory, counted in memory_bytes)


def sandbox_available() -> bool:
    """Whether bubblewrap is installed and can create a sandbox on this machine."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    probe = [bwrap, *_system_mounts(), "--dev", "/dev", "--proc", "/proc", "--unshare-all"]
    try:
        return subprocess.run([*probe, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _system_mounts() -> list[str]:
    args: list[str] = []
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    args += ["--dir", "/etc"]
    for name in ETC_ENTRIES:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def sandboxed(argv: list[str], scratch: Path, readable: Sequence[Path], tmp_bytes: int) -> list[str]:
    """``argv`` wrapped in bubblewrap: an empty root with the system folders, the ``readable``
    folders (Python, the course's ``helpers``, the data) mounted read-only, a private ``/tmp`` of
    ``tmp_bytes``, and ``scratch``, the only writable folder; no network, no capabilities, a new
    session, and everything inside killed when the sandbox ends."""
    command = ["bwrap", *_system_mounts(), "--dev", "/dev", "--proc", "/proc"]
    command += ["--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    for folder in dict.fromkeys(Path(f) for f in readable):
        command += ["--ro-bind", str(folder), str(folder)]
    command += ["--bind", str(scratch), str(scratch), "--remount-ro", "/", "--chdir", str(scratch)]
    command += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
    return command + argv


def clean_environment(
    scratch: Path, mode: str, data: Path | None, threads: int, course: Path | None = None
) -> dict[str, str]:
    """The only environment a submission sees: nothing of the instructor's but PATH and the data.
    ``course`` is the folder holding the course's ``helpers`` package."""
    from helpers.course import ROOT  # noqa: PLC0415 - default course folder

    course = course or ROOT
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(course),
        "PYTHONDONTWRITEBYTECODE": "1",
        "COURSE_ROOT": str(course),
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


# --------------------------------------------------------------------------------------
# Control groups: memory and task limits for a whole run
# --------------------------------------------------------------------------------------


@dataclass
class ControlGroup:
    """One run's control group (one folder in cgroup v2, or one per v1 controller, memory first)."""

    folders: list[Path]
    version: int

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the group: a shell writes its own pid into the group, then
        replaces itself with ``argv`` (no Python runs between fork and exec, which a threaded
        grader needs)."""
        procs = " ".join(shlex.quote(str(folder / "cgroup.procs")) for folder in self.folders)
        script = f'for f in {procs}; do echo $$ > "$f" || exit 125; done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *argv]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
        return sorted(found)

    def oom_kills(self) -> int:
        """How often the memory limit killed a process of this run (0 where the kernel does not
        say: a count of mere hits of the limit would also count reclaimed page cache)."""
        events = self.folders[0] / ("memory.events" if self.version == 2 else "memory.oom_control")
        with contextlib.suppress(OSError, ValueError):
            for line in events.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def close(self) -> None:
        """Kill what is left in the group, then remove it."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        for folder in self.folders:
            with contextlib.suppress(OSError):
                folder.rmdir()


def _own_path(controller: str) -> str:
    """This process's cgroup path for ``controller`` ("" for the v2 unified hierarchy)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(",") or (controller == "" and names == ""):
                return path.lstrip("/")
    return ""


def make_control_group(limits: Limits) -> ControlGroup | None:
    """A new control group with ``limits`` (memory, tasks), or None where none can be made here
    (no permission, no such controllers). Tried: cgroup v2 beside this process, then v1."""
    name = f"cifar10-grade-{uuid.uuid4().hex[:12]}"
    root = Path("/sys/fs/cgroup")
    for unified in (root, root / "unified"):
        if not (unified / "cgroup.controllers").is_file():
            continue
        for base in dict.fromkeys((unified / _own_path(""), unified)):
            folder = base / name
            try:
                enabled = (base / "cgroup.subtree_control").read_text().split()
                if not {"memory", "pids"} <= set(enabled):
                    (base / "cgroup.subtree_control").write_text("+memory +pids")
                folder.mkdir()
                (folder / "memory.max").write_text(str(limits.memory_bytes))
                with contextlib.suppress(OSError):
                    (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(limits.tasks))
                return ControlGroup([folder], 2)
            except OSError:
                with contextlib.suppress(OSError):
                    folder.rmdir()
    folders: list[Path] = []
    try:
        for controller, settings in (
            ("memory", {"memory.limit_in_bytes": limits.memory_bytes}),
            ("pids", {"pids.max": limits.tasks}),
        ):
            mount = root / controller
            if not (mount / "cgroup.procs").is_file():
                raise OSError(f"no cgroup v1 {controller} hierarchy")
            own = mount / _own_path(controller)
            base = own if os.access(own, os.W_OK) else mount
            folder = base / name
            folder.mkdir()
            folders.append(folder)
            for key, value in settings.items():
                (folder / key).write_text(str(value))
        return ControlGroup(folders, 1)
    except OSError:
        for folder in folders:
            with contextlib.suppress(OSError):
                folder.rmdir()
        return None


# --------------------------------------------------------------------------------------
# Running with limits
# --------------------------------------------------------------------------------------


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


def kill_tree(process: subprocess.Popen[Any]) -> None:
    """SIGKILL ``process`` and every process it started (children first found, then itself)."""
    for pid in [*_descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class Finished:
    """How a child process ended: exit code (None after a timeout), its capped output, and the
    result it wrote to its private pipe."""

    returncode: int | None
    stdout: str
    timed_out: bool
    stderr: str = ""
    result: str = ""
    #: Why it was stopped by a limit other than time: "memory" or "disk" ("" if none).
    limit: str = ""

    def last_error_line(self) -> str:
        """The last non-empty line of stderr (the exception of a crashed helper process)."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1][:300] if lines else f"exit code {self.returncode}"


def _drain(stream: Any, into: list[bytes], most: int) -> None:
    size = 0
    while True:
        chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
        if not chunk:
            break
        if size < most:
            into.append(chunk[: most - size])
            size += len(chunk)


def run_limited(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    limits: Limits,
    watch: Path | None = None,
) -> Finished:
    """Run ``argv`` with a wall-clock limit (the whole process tree is killed at the limit), the
    ``limits`` (a cgroup for memory and tasks where one can be made, each process's data size and
    file size, the size of ``watch`` polled ten times a second: a fast writer overshoots by what
    it writes in a tenth of a second), stdout/stderr capped at
    :data:`MAX_CAPTURED_BYTES` each. ``argv`` may hold :data:`RESULT_FD`: the number of a pipe
    only that process receives; what it writes there is :attr:`Finished.result`."""
    group = make_control_group(limits)
    read_end, write_end = os.pipe()
    argv = [a.replace(RESULT_FD, str(write_end)) for a in argv]

    def in_child() -> None:  # only setrlimit: nothing that could deadlock after fork
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.disk_bytes, limits.disk_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    if group is not None:
        argv = group.wrap(argv)

    try:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=(write_end,),
            preexec_fn=in_child,
        )
    except BaseException:
        os.close(read_end)
        if group is not None:
            group.close()
        raise
    finally:
        os.close(write_end)
    captured: dict[str, list[bytes]] = {"out": [], "err": [], "result": []}
    with os.fdopen(read_end, "rb") as result_pipe:
        readers = [
            threading.Thread(target=_drain, args=(process.stdout, captured["out"], MAX_CAPTURED_BYTES)),
            threading.Thread(target=_drain, args=(process.stderr, captured["err"], MAX_CAPTURED_BYTES)),
            threading.Thread(target=_drain, args=(result_pipe, captured["result"], MAX_RESULT_BYTES)),
        ]
        for reader in readers:
            reader.daemon = True
            reader.start()
        timed_out, limit = False, ""
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                break
            if watch is not None and tree_size(watch, limits.disk_bytes) > limits.disk_bytes:
                limit = "disk"
                break
            time.sleep(0.1)
        kill_tree(process)  # at a limit, or a kernel left behind by the runner: none may outlive it
        if group is not None:
            if not limit and group.oom_kills():
                limit = "memory"
            group.close()
        process.wait()
        for reader in readers:
            reader.join(timeout=5)
    return Finished(
        None if timed_out else process.returncode,
        b"".join(captured["out"]).decode("utf-8", "replace"),
        timed_out,
        b"".join(captured["err"]).decode("utf-8", "replace"),
        b"".join(captured["result"]).decode("utf-8", "replace"),
        limit,
    )
