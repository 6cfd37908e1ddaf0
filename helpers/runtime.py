"""What the setup cell at the top of every notebook calls.

Used in notebooks 01, 02, 03, 04, 05, 06, 07.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator

from helpers.data import data_source
from helpers.device import device_policy, gpu_names, hardware, software_versions
from helpers.modes import RunMode, get_mode
from helpers.plots import use_chinese_font

_started: float | None = None
#: The run mode :func:`setup_notebook` chose; the run report names it (never re-read from the environment).
_mode: RunMode | None = None


#: What a Colab runtime lacks (module → pip requirement). TensorFlow, Keras, NumPy, pandas and
#: matplotlib are already there and are never reinstalled.
COLAB_MISSING = {"cvttf_NotoSansCJK_Regular": "cvttf-NotoSansCJK-Regular==1.0"}
COLAB_GPU_HINT = (
    "提示：Colab 可以免費使用 GPU，訓練會快很多：選單「執行階段 → 變更執行階段類型 → T4 GPU」，再重新執行。\n"
    "Hint: switch Colab to a GPU runtime (Runtime → Change runtime type → T4 GPU) and run again."
)


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab."""
    try:
        return importlib.util.find_spec("google.colab") is not None
    except ModuleNotFoundError:
        return False


def install_missing(packages: dict[str, str]) -> list[str]:
    """``pip install`` the requirements whose module cannot be imported; returns what was installed."""
    needed = [
        requirement for module, requirement in packages.items() if importlib.util.find_spec(module) is None
    ]
    if needed:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *needed], check=True)
        importlib.invalidate_caches()
    return needed


def setup_notebook() -> RunMode:
    """Prepare a notebook: packages Colab lacks, the Chinese font, the training precision; report.

    Prints two lines (versions and device with the training setup; the run mode) and, on a Colab
    runtime without a GPU, how to switch to one. Returns the run mode, which the notebook then
    uses for epochs and data sizes. Running it again is harmless.
    """
    global _started, _mode
    _started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads: no C++ log lines
    colab = on_colab()
    if colab:
        install_missing(COLAB_MISSING)
    use_chinese_font()
    mode = _mode = get_mode()
    with quiet_native_stderr():  # TensorFlow's start-up lines ignore TF_CPP_MIN_LOG_LEVEL
        gpus = gpu_names()
    _quiet_tensorflow()
    policy = device_policy()
    device = f"GPU：{', '.join(gpus)}" if gpus else "CPU（沒有 GPU / no GPU）"
    training = (
        f"訓練 (training)：混合精度 {policy.precision} + XLA"
        if policy.mixed_precision
        else "訓練 (training)：float32，不用 XLA (CPU)"
    )
    _explain_name_errors()
    print(f"{_backend_versions()}｜{device}｜{training}")
    print(mode.describe())
    if colab and not gpus:
        print(COLAB_GPU_HINT)
    return mode


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send what native code writes to the process's stderr (file descriptor 2) to ``/dev/null``
    while the block runs. TensorFlow's C++ start-up lines on a CPU machine ("All log messages
    before absl::InitializeLog() is called…", "Could not find cuda drivers…", a red "failed call
    to cuInit") are written before its log level applies; in a notebook they would be a student's
    first screen. Python's own ``sys.stderr`` (warnings, tracebacks) is not touched."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def name_error_hint(name: str) -> str:
    """What a student reads under a ``NameError``: usually an exercise above is not done or not run."""
    return (
        f"💡 `{name}` 還沒有定義：通常是上面定義它的練習（找「# TODO：定義 {name}」那一格）"
        "還沒完成或還沒執行；完成它，再從那一格往下依序執行。\n"
        f"   (`{name}` is not defined yet: the exercise above whose TODO line defines it is not done or "
        "not run; finish it, then run the cells below it in order.)"
    )


def _explain_name_errors() -> None:
    """In a notebook, follow every ``NameError``'s traceback with :func:`name_error_hint`."""
    try:
        from IPython import get_ipython  # noqa: PLC0415 - only in a kernel
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def explain(self, etype, value, tb, tb_offset=None):  # type: ignore[no-untyped-def]
        self.showtraceback((etype, value, tb), tb_offset=tb_offset)
        name = getattr(value, "name", None) or str(value).split("'")[1:2]
        print(name_error_hint(name if isinstance(name, str) else (name[0] if name else "?")))

    shell.set_custom_exc((NameError,), explain)


def _quiet_tensorflow() -> None:
    """Hide TensorFlow's Python warnings (e.g. "N out of the last M calls ... triggered
    tf.function retracing" after several models' predict): noise for a student, and in a notebook
    TensorFlow prints them to stdout, into the cell's output. ``tf.get_logger()`` sets the level
    to INFO on its first call in an interactive session, so it is called first."""
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].get_logger().setLevel(logging.ERROR)


def _backend_versions() -> str:
    """``TensorFlow 2.21.0｜Keras 3.15.1`` (``JAX …｜jaxlib …｜Keras …`` when Keras runs on JAX)."""
    versions = software_versions()
    names = {"tensorflow": "TensorFlow", "jax": "JAX", "jaxlib": "jaxlib", "torch": "PyTorch"}
    parts = [f"{label} {versions[key]}" for key, label in names.items() if key in versions]
    return "｜".join([*parts, f"Keras {versions['keras']}"])


def run_report(mode: RunMode | None = None) -> str:
    """Where and how long this notebook ran (printed by the last cell of every notebook).

    ``mode`` defaults to the one :func:`setup_notebook` returned.
    """
    mode = mode or _mode or get_mode()
    elapsed = time.perf_counter() - _started if _started is not None else float("nan")
    versions = f"{_backend_versions().replace('｜', '，')}，Python {platform.python_version()}"
    return (
        f"本次執行 (this run)：{mode.name} 模式，{elapsed / 60:.1f} 分鐘 (minutes)\n"
        f"硬體 (hardware)：{hardware()}\n"
        f"軟體 (software)：{versions}\n"
        f"資料 (data)：{data_source()}"
    )
