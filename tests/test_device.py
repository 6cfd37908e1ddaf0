"""The machine: names, the one-line description, and the training policy (on a CPU and on a GPU)."""

from __future__ import annotations

import os

import keras

from helpers.device import (
    BACKEND_MODULES,
    DevicePolicy,
    cpu_name,
    device_policy,
    gpu_names,
    hardware,
    hardware_record,
    policy_for,
    software_versions,
)
from helpers.models import small_cnn
from helpers.training import build


def test_policy_for_a_cpu_and_for_a_gpu() -> None:
    assert policy_for([]) == DevicePolicy(mixed_precision=False, jit_compile=False, precision="float32")
    assert policy_for(["NVIDIA H200"]) == DevicePolicy(
        mixed_precision=True, jit_compile=True, precision="mixed_float16"
    )


def test_jax_always_compiles_and_uses_bfloat16_on_a_gpu() -> None:
    assert policy_for([], "jax") == DevicePolicy(mixed_precision=False, jit_compile=True, precision="float32")
    assert policy_for(["NVIDIA H200"], "jax").precision == "mixed_bfloat16"


def test_this_machine_gets_the_policy_of_its_gpus() -> None:
    # right on a CPU machine and on a GPU machine
    assert device_policy() == policy_for(gpu_names(), keras.backend.backend())


def test_build_uses_the_policy_and_keeps_the_output_in_float32() -> None:
    model = build(lambda: small_cnn(widths=(4,), convs_per_stage=1))
    assert model.layers[1].dtype_policy.name == device_policy().precision
    assert model.layers[-1].dtype_policy.compute_dtype == "float32"


def test_hardware_names_cpu_cores_and_gpus() -> None:
    assert cpu_name()
    line = hardware()
    assert cpu_name() in line and f"{os.cpu_count()} 核心 (cores)" in line
    assert ("GPU：" in line) == bool(gpu_names())
    versions = software_versions()
    assert versions["backend"] == keras.backend.backend() and versions["keras"] == keras.__version__
    assert set(BACKEND_MODULES[versions["backend"]]) <= set(versions) and "python" in versions
    record = hardware_record()
    assert record["cpu_count"] == os.cpu_count() and record["gpus"] == gpu_names()
