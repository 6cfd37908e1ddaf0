"""Unit tests of the run modes and the seed helper."""

from __future__ import annotations

import random

import numpy as np
import pytest

from helpers.modes import FULL, SMOKE, get_mode
from helpers.seed import set_seed


def test_default_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COURSE_MODE", raising=False)
    assert get_mode() is FULL
    monkeypatch.setenv("COURSE_MODE", "")
    assert get_mode() is FULL


def test_env_var_switches_to_smoke(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_MODE", " Smoke ")
    assert get_mode() is SMOKE
    assert get_mode("full") is FULL, "an explicit name wins over the environment"


def test_unknown_mode_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match=r"未知的執行模式 'fast'.*\n.*must be one of full, smoke"):
        get_mode()


def test_epochs() -> None:
    assert FULL.epochs(full=50) == 50
    assert SMOKE.epochs(full=50) == 2
    assert SMOKE.epochs(full=1) == 1


def test_subset_sizes() -> None:
    x = np.zeros((2000, 2), np.uint8)
    y = np.tile(np.arange(10), 200).reshape(-1, 1)
    data = ((x, y), (x[:600], y[:600]))
    (xs, ys), (xt, _) = SMOKE.subset(data)
    assert len(xs) == SMOKE.train_size == 1000 and len(xt) == SMOKE.test_size == 500
    assert np.bincount(ys.ravel()).tolist() == [100] * 10
    (xf, _), (xft, _) = FULL.subset(data)
    assert xf is x and xft is data[1][0], "full mode keeps all data"


def test_describe_names_the_values() -> None:
    assert "smoke" in SMOKE.describe() and "1,000" in SMOKE.describe() and "2" in SMOKE.describe()
    assert "full" in FULL.describe() and "50,000" in FULL.describe()


def test_set_seed_repeats_python_numpy_and_tensorflow() -> None:
    import tensorflow as tf

    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), float(tf.random.uniform([]))

    assert set_seed(7) == 7
    first = draw()
    set_seed(7)
    assert draw() == first
    set_seed(8)
    assert draw() != first


def test_runs_and_full_train_size() -> None:
    assert FULL.runs(full=3) == 3 and SMOKE.runs(full=3) == 1
    x = np.zeros((3000, 2), np.uint8)
    y = np.tile(np.arange(10), 300).reshape(-1, 1)
    data = ((x, y), (x[:600], y[:600]))
    assert len(FULL.subset(data, full_train_size=2000)[0][0]) == 2000
    assert len(SMOKE.subset(data, full_train_size=2000)[0][0]) == 1000


def test_run_report_names_mode_hardware_and_versions(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from helpers import runtime

    monkeypatch.setenv("COURSE_MODE", "smoke")
    mode = runtime.setup_notebook()
    printed = capsys.readouterr().out
    assert mode is SMOKE and "TensorFlow" in printed and "smoke" in printed
    report = runtime.run_report()
    assert "smoke 模式" in report and "核心 (cores)" in report and "Keras" in report
    assert "nan" not in report
