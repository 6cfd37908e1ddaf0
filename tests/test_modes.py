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


def test_splits_sizes_and_validation_held_out_of_training() -> None:
    x = np.arange(6000).reshape(-1, 1)  # each image is its own index, to see where it went
    y = np.tile(np.arange(10), 600).reshape(-1, 1)
    test = (np.arange(600).reshape(-1, 1) + 10_000, y[:600])
    assert len(SMOKE.splits(((x, y), test)).train[0]) == SMOKE.train_size == 128
    data = SMOKE.splits(((x, y), test), homework=True)
    assert len(data.train[0]) == SMOKE.homework_train_size == 1000
    assert len(data.val[0]) == SMOKE.val_size == 200
    assert len(data.test[0]) == SMOKE.test_size == 500
    assert np.bincount(data.train[1].ravel()).tolist() == [100] * 10
    assert np.bincount(data.val[1].ravel()).tolist() == [20] * 10, "stratified validation set"
    assert not set(data.train[0].ravel()) & set(data.val[0].ravel()), "validation is held out"
    full = FULL.splits(((x, y), test))
    assert len(full.val[0]) == 5000 and len(full.train[0]) == 1000 and full.test[0] is test[0]
    again = FULL.splits(((x, y), test), full_train_size=500)
    assert np.array_equal(again.val[0], full.val[0]), "the validation set does not depend on the train size"
    assert len(again.train[0]) == 500


def test_splits_keep_a_test_split_without_labels() -> None:
    x = np.zeros((3000, 2), np.uint8)
    y = np.tile(np.arange(10), 300).reshape(-1, 1)
    data = SMOKE.splits(((x, y), (x[:800], None)))
    assert data.test_labels_withheld and data.test[1] is None and len(data.test[0]) == 500
    assert "labels withheld" in data.describe()


def test_describe_names_the_values() -> None:
    assert "smoke" in SMOKE.describe() and "1,000" in SMOKE.describe() and "2" in SMOKE.describe()
    assert "full" in FULL.describe() and "45,000" in FULL.describe() and "5,000" in FULL.describe()


def test_runs_and_full_train_size() -> None:
    assert FULL.runs(full=3) == 3 and SMOKE.runs(full=3) == 1
    x = np.zeros((8000, 2), np.uint8)
    y = np.tile(np.arange(10), 800).reshape(-1, 1)
    data = ((x, y), (x[:600], y[:600]))
    assert len(FULL.splits(data, full_train_size=2000).train[0]) == 2000
    assert len(SMOKE.splits(data, full_train_size=2000).train[0]) == SMOKE.train_size == 128
    assert len(SMOKE.splits(data, homework=True).train[0]) == SMOKE.homework_train_size == 1000
    assert len(FULL.splits(data, homework=True).train[0]) == len(FULL.splits(data).train[0]) == 3000


def test_every_mode_dependent_number_is_on_the_mode() -> None:
    assert FULL.homework_target == 0.80 and SMOKE.homework_target < FULL.homework_target
    assert FULL.budget_s == 1800 and SMOKE.budget_s < FULL.budget_s
    assert MODES == {"full": FULL, "smoke": SMOKE}
    assert MODE_ENV_VAR == "COURSE_MODE"


def test_smoke_mode_runs_the_fast_recipe_in_fewer_steps_and_full_mode_unchanged() -> None:
    from helpers.training import FAST_RECIPE

    assert FULL.fast_recipe(FAST_RECIPE) is FAST_RECIPE
    smoke = SMOKE.fast_recipe(FAST_RECIPE)
    assert smoke.min_steps_per_epoch == 2 and smoke.batch_for(128) == 64
    assert smoke.batch_for(45_000) == FAST_RECIPE.batch_for(45_000), "only small sets change"
    assert SMOKE.ablation_max_epochs == 1 and FULL.ablation_max_epochs is None
