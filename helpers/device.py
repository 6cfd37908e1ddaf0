"""The machine a notebook runs on: CPU and GPU names, a one-line description, and how to train on it.

One owner for these facts: the setup cell (:mod:`helpers.runtime`), training
(:mod:`helpers.training`) and the benchmarks all ask here. Used by every notebook through the
setup cell and the run report at the end.

Keras (and TensorFlow or JAX behind it) is imported inside the functions that ask the backend,
never when this module is imported: it takes seconds, and the grader's command line and the
release command import helpers without ever needing it.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from typing import Any


def cpu_name() -> str:
    """The CPU model, as the operating system names it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """Names of the GPUs the Keras backend can use ([] on a CPU-only machine)."""
    import keras  # noqa: PLC0415 - slow import (TensorFlow or JAX behind it)

    if keras.backend.backend() == "jax":
        import jax  # noqa: PLC0415

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    import tensorflow as tf  # noqa: PLC0415

    return [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]


def hardware() -> str:
    """The machine in one line: CPU model and cores, and the GPUs, if any."""
    gpus = gpu_names()
    return f"{cpu_name()}，{os.cpu_count()} 核心 (cores)" + (
        f"，GPU：{', '.join(gpus)}" if gpus else "，沒有 GPU"
    )


def hardware_record() -> dict[str, Any]:
    """The machine as a benchmark record stores it (JSON-ready)."""
    return {
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_names(),
        "platform": platform.platform(),
    }


#: The modules behind each Keras backend whose versions a run reports.
BACKEND_MODULES = {"tensorflow": ("tensorflow",), "jax": ("jax", "jaxlib"), "torch": ("torch",)}


def software_versions() -> dict[str, str]:
    """Keras, its backend's modules (TensorFlow, or JAX and jaxlib) and Python, as a benchmark
    record and the run report name them."""
    import keras  # noqa: PLC0415 - slow import

    backend = keras.backend.backend()
    versions = {"keras": keras.__version__, "backend": backend}
    for name in BACKEND_MODULES.get(backend, ()):
        versions[name] = __import__(name).__version__
    versions["python"] = platform.python_version()
    return versions


@dataclass(frozen=True)
class DevicePolicy:
    """How models are built and compiled here: on a GPU, mixed precision and XLA; on a CPU, neither.

    ``precision`` is the Keras dtype policy the training layers are built under.
    """

    mixed_precision: bool
    jit_compile: bool
    precision: str = "float32"


def policy_for(gpus: list[str], backend: str = "tensorflow") -> DevicePolicy:
    """The policy for a machine with these GPUs and this Keras backend.

    TensorFlow: float32 without XLA on a CPU (XLA compiles slowly there and gains little), and
    ``mixed_float16`` + XLA on a GPU (Colab's T4 has fast float16, no fast bfloat16). JAX always
    compiles with XLA (``jit_compile`` off would run every op eagerly); on a GPU it uses
    ``mixed_bfloat16``, which needs no loss scaling and is what Ampere and Hopper GPUs run fastest.
    """
    if backend == "jax":
        if not gpus:
            return DevicePolicy(mixed_precision=False, jit_compile=True)
        return DevicePolicy(mixed_precision=True, jit_compile=True, precision="mixed_bfloat16")
    if not gpus:
        return DevicePolicy(mixed_precision=False, jit_compile=False)
    return DevicePolicy(mixed_precision=True, jit_compile=True, precision="mixed_float16")


def device_policy() -> DevicePolicy:
    """The policy for this machine and the running Keras backend."""
    import keras  # noqa: PLC0415 - slow import

    return policy_for(gpu_names(), keras.backend.backend())
