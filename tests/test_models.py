"""The model builders: layer lists, parameter counts, the schedule that replaces `decay`."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.conv import conv_params
from helpers.data import make_dataset
from helpers.models import (
    KERAS_EXAMPLE_PARAMS,
    ORDERS,
    augment_with_layers,
    conv_block,
    fast_cnn,
    improved_cnn,
    keras_example_augmentation,
    keras_example_cnn,
    keras_example_optimizer,
    parameter_table,
    resnet9,
    small_cnn,
)
from helpers.training import (
    FAST_RECIPE,
    GPU_RECIPE,
    DevicePolicy,
    SimulatedDisconnectError,
    accuracy,
    build,
    claim_report,
    compare,
    compile_model,
    curves,
    default_backup_dir,
    device_policy,
    outputs_probabilities,
    results_table,
    simulated_disconnect,
    train,
)


def test_keras_example_layers_and_parameters() -> None:
    model = keras_example_cnn()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Dropout",
        "Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Dropout",
        "Flatten", "Dense", "Activation", "Dropout", "Dense", "Activation",
    ]  # fmt: skip
    assert model.count_params() == KERAS_EXAMPLE_PARAMS == 1_250_858
    assert model.get_layer("conv1").count_params() == (3 * 3 * 3 + 1) * 32 == 896
    assert model.get_layer("dense512").count_params() == 1_180_160
    assert model.output_shape == (None, 10)
    probabilities = model(np.zeros((2, 32, 32, 3), np.float32))
    np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("step", [0, 1, 1000, 1_562 * 50, 1_000_000])
def test_schedule_reproduces_keras2_decay(step: int) -> None:
    """Keras 2: lr_t = lr / (1 + decay * iterations), updated every batch."""
    optimizer = keras_example_optimizer()
    schedule = optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    expected = 1e-4 / (1 + 1e-6 * step)
    assert float(schedule(step)) == pytest.approx(expected, rel=1e-6)


def test_optimizer_matches_keras2_rmsprop_defaults() -> None:
    config = keras_example_optimizer().get_config()
    assert config["rho"] == 0.9 and config["epsilon"] == 1e-7 and config["momentum"] == 0.0


def test_augmentation_shifts_and_flips_only_in_training() -> None:
    augmentation = keras_example_augmentation(seed=1)
    images = np.random.default_rng(0).random((4, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(augmentation(images, training=False), images)
    changed = np.asarray(augmentation(images, training=True))
    assert changed.shape == images.shape and not np.allclose(changed, images)


def test_layer_augmentation_in_the_pipeline() -> None:
    x = np.random.default_rng(0).integers(0, 256, size=(8, 32, 32, 3), dtype=np.uint8)
    ds = make_dataset(x, np.arange(8), 4, augment=augment_with_layers(keras_example_augmentation()))
    images, _ = next(iter(ds))
    assert images.shape == (4, 32, 32, 3) and images.dtype.name == "float32"
    assert float(keras.ops.max(images)) <= 1.0 + 1e-6


@pytest.mark.parametrize("order", ORDERS)
def test_conv_block_orders(order: str) -> None:
    block = conv_block(8, order, name="b")
    kinds = [type(layer).__name__ for layer in block]
    expected = {"conv": "Conv2D", "bn": "BatchNormalization", "relu": "ReLU"}
    assert kinds == [expected[part] for part in order.split("-")]
    conv = next(layer for layer in block if isinstance(layer, keras.layers.Conv2D))
    assert conv.use_bias == (order != "conv-bn-relu"), "no bias right before a BN"
    with pytest.raises(ValueError, match="unknown order"):
        conv_block(8, "relu-conv")


@pytest.mark.parametrize(
    ("order", "params"),
    [("conv-bn-relu", 73_402), ("conv-relu-bn", 73_626), ("bn-relu-conv", 73_626), ("conv-relu", 72_730)],
)
def test_small_cnn_variants(order: str, params: int) -> None:
    model = small_cnn(order)
    assert model.count_params() == params
    assert model.output_shape == (None, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[-2:] == ["GlobalAveragePooling2D", "Dense"]
    assert kinds.count("MaxPooling2D") == 2 and kinds.count("Conv2D") == 6
    assert kinds.count("BatchNormalization") == {"conv-relu": 0, "bn-relu-conv": 6}.get(order, 6)
    if order == "bn-relu-conv":
        assert kinds[:3] == ["Conv2D", "BatchNormalization", "ReLU"], "pre-activation after a plain stem"
    # Without BN the control has exactly the convolutions' and the head's parameters.
    if order == "conv-relu":
        convs = conv_params(3, 3, 16) + conv_params(3, 16, 16) + conv_params(3, 16, 32)
        convs += conv_params(3, 32, 32) + conv_params(3, 32, 64) + conv_params(3, 64, 64)
        assert params == convs + (64 + 1) * 10


def test_training_one_step_smoke() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    y = np.arange(64) % 10
    data = ((x, y), (x[:32], y[:32]))
    result = train(small_cnn(widths=(8,), convs_per_stage=1), data, epochs=1, batch_size=64)
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(result.history["val_accuracy"]) == 1 and result.seconds > 0
    results = compare({"a": lambda: small_cnn(widths=(8,), convs_per_stage=1)}, data, epochs=1, seeds=(0, 1))
    assert [r.seed for r in results["a"]] == [0, 1]
    table = results_table(results)
    assert table.loc["a", "次數 (runs)"] == 2 and table.loc["a", "參數 (params)"] == results["a"][0].params
    assert curves(results, "val_accuracy")["a"] == [r.history["val_accuracy"] for r in results["a"]]


def test_backup_and_restore_resumes_after_an_interruption(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(32, 32, 32, 3), dtype=np.uint8)
    y = np.arange(32) % 10
    data = ((x, y), (x[:16], y[:16]))

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


def test_device_policy_on_cpu() -> None:
    policy = device_policy()
    assert policy == DevicePolicy(mixed_precision=False, jit_compile=False)
    model = build(lambda: small_cnn(widths=(4,), convs_per_stage=1))
    assert model.layers[0].dtype_policy.name == "float32"


def test_gap_head_replaces_the_dense_layers() -> None:
    flatten, gap = keras_example_cnn(head="flatten"), keras_example_cnn(head="gap")
    body = sum(conv_params(3, c_in, c_out) for c_in, c_out in [(3, 32), (32, 32), (32, 64), (64, 64)])
    assert body == 65_568
    assert flatten.count_params() == body + (6 * 6 * 64 + 1) * 512 + (512 + 1) * 10
    assert gap.count_params() == body + (64 + 1) * 10 == 66_218
    assert [type(layer).__name__ for layer in gap.layers][-3:] == [
        "GlobalAveragePooling2D",
        "Dense",
        "Activation",
    ]
    table = parameter_table(flatten)
    assert (
        table.loc["dense512", "參數 (params)"] == 1_180_160
        and table.loc["dense512", "佔比 (share)"] == "94.3%"
    )
    assert table.loc["合計 (total)", "參數 (params)"] == 1_250_858
    with pytest.raises(ValueError, match="unknown head"):
        keras_example_cnn(head="dense")


def test_loss_matches_the_output_layer() -> None:
    assert outputs_probabilities(keras_example_cnn()) and not outputs_probabilities(small_cnn())
    assert compile_model(keras_example_cnn()).loss.from_logits is False
    assert compile_model(small_cnn()).loss.from_logits is True


def test_improved_model_is_smaller_and_uses_bn_and_gap() -> None:
    model = improved_cnn()
    assert model.count_params() < KERAS_EXAMPLE_PARAMS / 4
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "BatchNormalization" in kinds and "GlobalAveragePooling2D" in kinds and "Flatten" not in kinds


def test_claim_report() -> None:
    curve = [0.5] * 24 + [0.76] + [0.7] * 24 + [0.775]
    held, missed = claim_report(curve, {25: 0.75, 50: 0.79})
    assert "76.0%" in held and "說法成立" in held
    assert "77.5%" in missed and "差一點" in missed and "-1.5" in missed
    assert "不成立" in claim_report([0.6] * 25, {25: 0.75})[0]
    assert "還沒有紀錄" in claim_report([0.6] * 3, {25: 0.75})[0]


def test_default_backup_dir_depends_on_the_mode(monkeypatch) -> None:
    monkeypatch.setenv("COURSE_MODE", "smoke")
    smoke = default_backup_dir("06")
    monkeypatch.setenv("COURSE_MODE", "full")
    full = default_backup_dir("06")
    assert smoke != full and smoke.name == full.name == "06" and "smoke" in smoke.parts


def test_fast_cnn_pools_before_bn_and_fits_the_homework_budget() -> None:
    model = fast_cnn()
    assert model.count_params() == 296_002
    names = [layer.name for layer in model.layers]
    assert names[:2] == ["standardize", "stem"] and names[-2:] == ["gap", "logits"]
    for s in (1, 2, 3):
        i = names.index(f"s{s}_conv1")
        assert names[i : i + 7] == [
            f"s{s}_{n}" for n in ("conv1", "pool", "bn1", "relu1", "conv2", "bn2", "relu2")
        ]
    assert model.output_shape == (None, 10) and model.layers[-1].dtype_policy.name == "float32"
    # the Normalization layer standardises [0, 1] inputs with the CIFAR-10 statistics
    mean = np.array([0.4914, 0.4822, 0.4465], "float32")
    out = model.layers[0](np.broadcast_to(mean, (1, 32, 32, 3)))
    assert np.allclose(np.asarray(out), 0, atol=1e-5)


def test_resnet9_shape_and_parameters() -> None:
    model = resnet9()
    assert model.count_params() == 6_577_600
    small = resnet9(widths=(8, 16, 16, 32))
    assert small(np.zeros((2, 32, 32, 3), "float32")).shape == (2, 10)
    kinds = {type(layer).__name__ for layer in small.layers}
    assert {"Add", "GlobalMaxPooling2D", "BatchNormalization", "Rescaling"} <= kinds


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


def test_fast_recipe_trains_one_step_with_label_smoothing() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 32, 32, 3), dtype=np.uint8)
    y = np.arange(40) % 10
    model = fast_cnn(widths=(8, 8, 8), stem_filters=4)
    result = FAST_RECIPE.train(model, ((x, y), (x[:20], y[:20])), epochs=1)
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


def test_gpu_recipe_trains_a_small_resnet9_one_step() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(24, 32, 32, 3), dtype=np.uint8)
    y = np.arange(24) % 10
    model = resnet9(widths=(4, 8, 8, 8))
    result = GPU_RECIPE.train(model, ((x, y), (x[:12], y[:12])), epochs=1)
    assert result.params == model.count_params() and len(result.history["loss"]) == 1
    assert np.isfinite(result.history["loss"][0])
