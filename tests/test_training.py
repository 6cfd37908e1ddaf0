"""Training: compile and fit with the course defaults, comparisons, backups, recipes, accuracy."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.models import fast_cnn, keras_example_cnn, resnet9, small_cnn
from helpers.modes import FULL, SMOKE
from helpers.training import (
    FAST_RECIPE,
    GPU_RECIPE,
    SimulatedDisconnectError,
    accuracy,
    claim_report,
    compare,
    compile_model,
    curves,
    default_backup_dir,
    outputs_probabilities,
    results_table,
    simulated_disconnect,
    train,
)


def test_training_one_step_smoke(fake_data) -> None:
    data = fake_data(64, 32)
    result = train(small_cnn(widths=(8,), convs_per_stage=1), data, epochs=1, batch_size=64)
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(result.history["val_accuracy"]) == 1 and result.seconds > 0
    results = compare({"a": lambda: small_cnn(widths=(8,), convs_per_stage=1)}, data, epochs=1, seeds=(0, 1))
    assert [r.seed for r in results["a"]] == [0, 1]
    table = results_table(results)
    assert table.loc["a", "次數 (runs)"] == 2 and table.loc["a", "參數 (params)"] == results["a"][0].params
    assert curves(results, "val_accuracy")["a"] == [r.history["val_accuracy"] for r in results["a"]]


def test_backup_and_restore_resumes_after_an_interruption(tmp_path, fake_data) -> None:
    data = fake_data(32, 16)

    def builder():
        return small_cnn(widths=(4,), convs_per_stage=1)

    backup = tmp_path / "backup"
    disconnect = simulated_disconnect(after_epochs=2)  # the runtime dies as the third epoch starts
    with pytest.raises(SimulatedDisconnectError, match="第 2 個 epoch"):
        train(builder(), data, epochs=3, batch_size=16, backup_dir=backup, callbacks=[disconnect])
    assert any(backup.iterdir()), "the state of epoch 2 was saved"
    other = train(builder(), data, epochs=4, batch_size=16, backup_dir=backup)
    assert len(other.history["loss"]) == 4, "a run with other settings does not resume that backup"
    resumed = train(builder(), data, epochs=3, batch_size=16, backup_dir=backup)
    assert len(resumed.history["loss"]) == 1, "epochs 1-2 were restored, only epoch 3 ran"
    assert not backup.exists(), "the backup is removed once training completes"


def test_loss_matches_the_output_layer() -> None:
    assert outputs_probabilities(keras_example_cnn()) and not outputs_probabilities(small_cnn())
    assert compile_model(keras_example_cnn()).loss.from_logits is False
    assert compile_model(small_cnn()).loss.from_logits is True


def test_claim_report() -> None:
    curve = [0.5] * 24 + [0.76] + [0.7] * 24 + [0.775]
    held, missed = claim_report(curve, {25: 0.75, 50: 0.79})
    assert "76.0%" in held and "說法成立" in held
    assert "77.5%" in missed and "差一點" in missed and "-1.5" in missed
    assert "不成立" in claim_report([0.6] * 25, {25: 0.75})[0]
    assert "還沒有紀錄" in claim_report([0.6] * 3, {25: 0.75})[0]


def test_default_backup_dir_depends_on_the_mode_it_is_given(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_MODE", "full")  # never read: the mode is an argument
    smoke, full = default_backup_dir("06", SMOKE), default_backup_dir("06", FULL)
    assert smoke != full and smoke.name == full.name == "06" and "smoke" in smoke.parts
    assert smoke.is_relative_to(tmp_path / ".cache" / "cifar10-course")


def test_fast_recipe_schedule_and_batch() -> None:
    assert FAST_RECIPE.batch_for(50_000) == 256 and FAST_RECIPE.batch_for(1_000) == 50
    optimizer = FAST_RECIPE.optimizer(50_000)
    steps = 196 * FAST_RECIPE.epochs  # ceil(50000 / 256) steps per epoch
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    warmup = int(0.25 * steps)
    assert float(schedule(0)) == pytest.approx(0.0)
    assert float(schedule(warmup)) == pytest.approx(0.2, rel=1e-3)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-6)
    assert optimizer.nesterov and optimizer.momentum == 0.9
    assert GPU_RECIPE.batch_size == 512 and GPU_RECIPE.epochs == 18


def test_fast_recipe_trains_one_step_with_label_smoothing(fake_data) -> None:
    data = fake_data(40, 20)
    (x, y), _ = data
    model = fast_cnn(widths=(8, 8, 8), stem_filters=4)
    result = FAST_RECIPE.train(model, data, epochs=1)
    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    assert model.loss.get_config()["label_smoothing"] == 0.2
    assert len(result.history["val_accuracy"]) == 1
    assert 0.0 <= accuracy(model, x[:20], y[:20], flip_tta=True) <= 1.0


def test_flip_tta_averages_the_two_views() -> None:
    # a "model" that looks only at the left half: the flipped view sees the right half
    inputs = keras.Input((32, 32, 3))
    left = keras.layers.Cropping2D(((0, 0), (0, 16)))(inputs)
    scores = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(left))
    model = keras.Model(inputs, scores)
    model.layers[-1].set_weights(
        [np.array([[1, -1], [1, -1], [1, -1]], "float32"), np.array([0, 0.1], "float32")]
    )  # dark: class 1
    x = np.zeros((2, 32, 32, 3), np.uint8)
    x[0, :, :16] = 255  # bright left half: class 0 seen directly, nothing in the mirror
    x[1, :, 16:] = 255  # bright right half: only the mirror view sees it
    assert accuracy(model, x, np.array([0, 0])) == 0.5  # the right-half image is missed
    assert accuracy(model, x, np.array([0, 0]), flip_tta=True) == 1.0


def test_gpu_recipe_trains_a_small_resnet9_one_step(fake_data) -> None:
    model = resnet9(widths=(4, 8, 8, 8))
    result = GPU_RECIPE.train(model, fake_data(24, 12, seed=1), epochs=1)
    assert result.params == model.count_params() and len(result.history["loss"]) == 1
    assert np.isfinite(result.history["loss"][0])
