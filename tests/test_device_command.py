"""The GPU reference's device command (benchmarks/device/run.sh), run here on a CPU with a tiny budget,
in a Python environment that has Keras on JAX and no TensorFlow (benchmarks/requirements-jax.txt).

``.ci/run`` builds that environment and names its Python in ``COURSE_JAX_PYTHON``; without it (a
student's machine) the test is skipped. The same script, unchanged, runs on the accelerator.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers.course import ROOT
from helpers.data import local_copy

JAX_PYTHON = os.environ.get("COURSE_JAX_PYTHON", "")
pytestmark = [
    pytest.mark.end_to_end,
    pytest.mark.skipif(
        not JAX_PYTHON or local_copy() is None,
        reason="needs COURSE_JAX_PYTHON (a Python with Keras on JAX, no TensorFlow) and a CIFAR-10 copy",
    ),
]


def test_the_jax_environment_has_no_tensorflow_and_imports_the_helpers() -> None:
    code = (
        "import importlib.util, sys\n"
        "assert importlib.util.find_spec('tensorflow') is None, 'TensorFlow is installed'\n"
        "import helpers.training, helpers.models, helpers.data, helpers.device, helpers.seed\n"
        "assert 'tensorflow' not in sys.modules\n"
        "print('ok')"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([JAX_PYTHON, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_device_command_trains_and_writes_the_record(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHON": JAX_PYTHON,
        "OUT": str(tmp_path),
        "EPOCHS": "1",
        "TRAIN_SIZE": "200",
        "TEST_SIZE": "100",
        "CIFAR10_DIR": str(local_copy()),
    }
    done = subprocess.run(
        ["bash", "benchmarks/device/run.sh"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    airbench = json.loads((tmp_path / "gpu_airbench_1ep_jax.json").read_text(encoding="utf-8"))
    reference = json.loads((tmp_path / "gpu_reference_1ep_jax.json").read_text(encoding="utf-8"))
    assert airbench["recipe"] == "gpu-airbench" and airbench["params"] == 1_975_106
    assert set(airbench["tricks"]) == {"whiten", "freeze"} and 0.0 <= airbench["tta2_test_accuracy"] <= 1.0
    assert reference["recipe"] == "gpu-reference" and reference["params"] == 6_577_600
    assert 0.0 <= reference["flip_tta_test_accuracy"] <= 1.0
    for record in (airbench, reference):
        assert record["versions"]["backend"] == "jax" and "tensorflow" not in record["versions"]
        assert record["train_images"] == 200 and record["test_images"] == 100 and len(record["epochs"]) == 1
        assert record["precision"] == ("mixed_bfloat16" if record["hardware"]["gpus"] else "float32")
    assert done.stdout.count("final test acc") == 2
