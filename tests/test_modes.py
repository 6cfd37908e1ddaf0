"""The run modes: the environment variable, sizes, epochs, runs and the mode-dependent numbers."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.modes import FULL, MODE_ENV_VAR, MODES, SMOKE, get_mode


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


def test_runs_and_full_train_size() -> None:
    assert FULL.runs(full=3) == 3 and SMOKE.runs(full=3) == 1
    x = np.zeros((3000, 2), np.uint8)
    y = np.tile(np.arange(10), 300).reshape(-1, 1)
    data = ((x, y), (x[:600], y[:600]))
    assert len(FULL.subset(data, full_train_size=2000)[0][0]) == 2000
    assert len(SMOKE.subset(data, full_train_size=2000)[0][0]) == 1000


def test_every_mode_dependent_number_is_on_the_mode() -> None:
    assert FULL.homework_target == 0.80 and SMOKE.homework_target < FULL.homework_target
    assert FULL.grading_timeout_s == 1800 and SMOKE.grading_timeout_s < FULL.grading_timeout_s
    assert MODES == {"full": FULL, "smoke": SMOKE}
    assert MODE_ENV_VAR == "COURSE_MODE"
