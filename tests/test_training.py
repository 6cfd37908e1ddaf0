"""Training: compile and fit with the course defaults, comparisons, backups, recipes, accuracy."""

from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest

from helpers.data import CourseData
from helpers.models import fast_cnn, keras_example_cnn, resnet9, small_cnn
from helpers.modes import FULL, SMOKE
from helpers.records import describe_records, read_records, record_curves
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
    evaluate_test,
    evaluate_test_all,
    outputs_probabilities,
    reference_within_runs,
    results_table,
    simulated_disconnect,
    train,
)


def test_training_one_step_smoke(fake_data) -> None:
    data = fake_data(64, 32)
    result = train(small_cnn(widths=(8,), convs_per_stage=1), data, epochs=1, batch_size=64)
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(result.history["val_accuracy"]) == 1 and result.seconds > 0
    assert curves({"a": [result]}, "val_accuracy")["a"] == [result.history["val_accuracy"]]


def test_only_runs_of_a_few_steps_skip_tracing(fake_data, monkeypatch) -> None:
    from helpers import training

    assert training.EAGER_MAX_STEPS == 16
    monkeypatch.setattr(training, "EAGER_MAX_STEPS", 2)  # the same rule at a smaller threshold
    model = small_cnn(widths=(8,), convs_per_stage=1)
    train(model, fake_data(64, 32), epochs=2, batch_size=64)
    assert model.run_eagerly, "2 steps: eagerly"
    longer = small_cnn(widths=(8,), convs_per_stage=1)
    train(longer, fake_data(64, 32), epochs=3, batch_size=64)
    assert not longer.run_eagerly, "one step more: traced, as every full-mode run is"


def test_compare_validates_on_val_and_reads_the_test_set_once_at_the_end(fake_data, capsys) -> None:
    (x, y), (x_val, y_val) = fake_data(64, 32)
    unusable = (np.full((7, 5, 5, 1), 255, np.uint8), np.zeros(7))  # wrong shape: reading it would fail
    data = CourseData(train=(x, y), val=(x_val, y_val), test=unusable)
    results = compare({"a": lambda: small_cnn(widths=(8,), convs_per_stage=1)}, data, epochs=1, seeds=(0, 1))
    assert "驗證準確率 (validation accuracy)" in capsys.readouterr().out
    assert [r.seed for r in results["a"]] == [0, 1] and all(r.model is not None for r in results["a"])
    table = results_table(results)
    assert table.loc["a", "種子數 (seeds)"] == 2 and table.loc["a", "參數 (params)"] == results["a"][0].params
    assert "測試準確率 (test acc, mean)" not in table, "no test column before the final evaluation"
    test = (x[:20], y[:20])
    final = CourseData(train=data.train, val=data.val, test=test)
    evaluate_test_all(results, final)
    assert "evaluated once" in capsys.readouterr().out
    expected = [accuracy(r.model, *test) for r in results["a"]]
    assert [r.test_accuracy for r in results["a"]] == expected
    assert results_table(results).loc["a", "測試準確率 (test acc, mean)"] == round(
        float(np.mean(expected)), 4
    )


def test_evaluate_test_prints_the_accuracy_or_that_labels_are_withheld(fake_data, capsys) -> None:
    (x, y), _ = fake_data(20, 10)
    model = small_cnn(widths=(4,), convs_per_stage=1)
    value = evaluate_test(model, CourseData((x, y), (x, y), (x, y)))
    assert value == accuracy(model, x, y) and f"{value:.2%}" in capsys.readouterr().out
    assert evaluate_test(model, CourseData((x, y), (x, y), (x, None))) is None
    assert "withheld" in capsys.readouterr().out


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


def test_claim_report_one_run() -> None:
    curve = [0.5] * 24 + [0.76] + [0.7] * 24 + [0.775]
    held, missed = claim_report([curve], {25: 0.75, 50: 0.79})
    assert "76.0%" in held and "重現了" in held and "one run" in held
    assert "77.5%" in missed and "沒有重現" in missed and "-1.5" in missed
    assert "還沒有紀錄" in claim_report([[0.6] * 3], {25: 0.75})[0]


def test_claim_report_several_seeds_uses_their_range() -> None:
    runs = [[0.70] * 25, [0.74] * 25, [0.78] * 25]
    (inside,) = claim_report(runs, {25: 0.75})
    assert "74.0%" in inside and "70.0%–78.0%" in inside and "3 個種子" in inside
    assert "範圍內" in inside and "重現了" not in inside and "沒有重現" not in inside
    (reached,) = claim_report(runs, {25: 0.70})
    assert "重現了" in reached
    (missed,) = claim_report(runs, {25: 0.80})
    assert "沒有重現" in missed and "-6.0" in missed
    # a claim past the shorter runs is read on the runs that reached that epoch only
    (longer,) = claim_report([[0.6] * 25, [0.7] * 50], {50: 0.79})
    assert "70.0%" in longer and "one run" in longer


def test_benchmark_records_are_read_described_and_compared(tmp_path) -> None:
    def record(seed: int, accuracies: list[float]) -> dict:
        epochs = [{"test_accuracy": a, "wall_s": 60.0 * (k + 1)} for k, a in enumerate(accuracies)]
        hardware = {"cpu": "Test CPU", "cpu_count": 2}
        return {"seed": seed, "epochs": epochs, "hardware": hardware, "versions": {"tensorflow": "2.x"}}

    for seed, accuracies in [(0, [0.5, 0.70]), (1, [0.5, 0.74]), (2, [0.6])]:
        (tmp_path / f"port_seed{seed}.json").write_text(json.dumps(record(seed, accuracies)))
    runs = read_records(tmp_path, "port_seed*.json")
    assert [r["seed"] for r in runs] == [0, 1, 2]
    assert record_curves(runs) == [[0.5, 0.70], [0.5, 0.74], [0.6]]
    line = describe_records("移植版", runs)
    assert "3 次執行" in line and "0, 1, 2" in line and "1/2 個 epoch" in line and "1–2 分鐘" in line
    assert "TensorFlow 2.x" in line and "Test CPU 2 核心" in line
    assert "每次 2 分鐘" in describe_records("一次", runs[:1])
    inside, outside = reference_within_runs([0.55, 0.80], record_curves(runs), [1, 2])
    assert "分不出來" in inside and "50.0%–60.0%" in inside
    assert "範圍外" in outside and "+8.0" in outside
    assert "不夠長" in reference_within_runs([0.5], record_curves(runs), [2])[0]
    with pytest.raises(FileNotFoundError, match="找不到紀錄"):
        read_records(tmp_path, "missing*.json")


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
    # two steps of 20 images (the recipe's 20 steps a epoch would be traced: 8 s more, same checks)
    result = dataclasses.replace(FAST_RECIPE, min_steps_per_epoch=2).train(model, data, epochs=1)
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
    quick = dataclasses.replace(GPU_RECIPE, min_steps_per_epoch=2)  # 2 eager steps, not 24 traced
    result = quick.train(model, fake_data(24, 12, seed=1), epochs=1)
    assert result.params == model.count_params() and len(result.history["loss"]) == 1
    assert np.isfinite(result.history["loss"][0])


def test_seed_verdicts_tell_apart_only_non_overlapping_ranges() -> None:
    from helpers.training import TrainResult, seed_verdicts

    def runs(*finals):
        return [TrainResult("m", 1, {"val_accuracy": [0.1, f]}) for f in finals]

    lines = seed_verdicts(
        {"low": runs(0.50, 0.52, 0.51), "high": runs(0.60, 0.62, 0.61), "near": runs(0.505, 0.53, 0.52)}
    )
    assert lines[0].startswith("high − near") and "+9.2" in lines[0] and "分得出來" in lines[0]
    assert lines[2].startswith("near − low") and "分不出來" in lines[2]
    assert "無法判斷" in seed_verdicts({"a": runs(0.6), "b": runs(0.5)})[0]
    assert "± " in lines[0] and "p = 0.10" in lines[0] and "10%" in lines[0], (
        "uncertainty and the rule's chance"
    )


def test_the_range_rule_is_wrong_about_one_time_in_ten_with_three_seeds() -> None:
    """Simulated equal models (the same mean, seed noise only): 3 runs against 3 have ranges that
    do not overlap in about 10% of the trials, as non_overlap_false_positive_rate says; 5 against 5
    in under 1%. With 3 against 3 the exact permutation test cannot go below p = 0.1."""
    from helpers.training import non_overlap_false_positive_rate, permutation_p_value

    rng = np.random.default_rng(0)
    for n, expected in ((3, 0.1), (5, 2 / 252)):
        a, b = rng.normal(0.7, 0.01, size=(2, 20_000, n))
        rate = np.mean((a.min(axis=1) > b.max(axis=1)) | (b.min(axis=1) > a.max(axis=1)))
        assert non_overlap_false_positive_rate(n, n) == pytest.approx(expected)
        assert abs(rate - expected) < 0.01, (n, rate)
    assert permutation_p_value([0.60, 0.61, 0.62], [0.50, 0.51, 0.52]) == pytest.approx(0.1)
    assert permutation_p_value([0.60, 0.52, 0.61], [0.50, 0.62, 0.51]) > 0.5


def test_the_bowl_demo_follows_each_rule_by_hand() -> None:
    from helpers.training import bowl_loss_after

    # plain SGD multiplies each coordinate by (1 − lr·curvature) per step
    lr, steps = 0.03, 50
    by_hand = 0.5 * ((1 - lr) ** (2 * steps) + 25 * (1 - 25 * lr) ** (2 * steps))
    assert bowl_loss_after(keras.optimizers.SGD(lr), steps) == pytest.approx(by_hand, rel=1e-3)
    # heavy-ball momentum: v ← βv − lr·g, w ← w + v (Keras's rule), written out for two steps
    w, v = np.array([1.0, 1.0]), np.zeros(2)
    for _ in range(2):
        v = 0.9 * v - lr * np.array([1.0, 25.0]) * w
        w = w + v
    expected = 0.5 * (w[0] ** 2 + 25 * w[1] ** 2)
    assert bowl_loss_after(keras.optimizers.SGD(lr, momentum=0.9), 2) == pytest.approx(expected, rel=1e-5)
