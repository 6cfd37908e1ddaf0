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
    UNITS,
    augment_with_layers,
    cifar_resnet,
    conv_block,
    fast_cnn,
    improved_cnn,
    keras_example_augmentation,
    keras_example_cnn,
    keras_example_optimizer,
    parameter_table,
    resnet9,
    small_cnn,
    unit_sequence,
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
    assert config["rho"] == 0.9 and config["epsilon"] == pytest.approx(1e-14) and config["momentum"] == 0.0


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


def test_fair_heads_differ_only_in_flatten_or_gap() -> None:
    from helpers.models import layer_differences

    flatten, gap512 = keras_example_cnn(head="flatten"), keras_example_cnn(head="gap-dense512")
    assert layer_differences(flatten, gap512) == [("Flatten", "GlobalAveragePooling2D")]
    assert flatten.count_params() - gap512.count_params() == (6 * 6 * 64 - 64) * 512
    deep_flat, deep_gap = (small_cnn("conv-bn-relu", (32, 64, 128), head=h) for h in ("flatten", "gap"))
    assert layer_differences(deep_flat, deep_gap) == [("Flatten", "GlobalAveragePooling2D")]
    assert deep_flat.count_params() - deep_gap.count_params() == (8 * 8 * 128 - 128) * 10
    with pytest.raises(ValueError, match="unknown head"):
        small_cnn(head="dense")


def test_improved_model_is_smaller_and_uses_bn_and_gap() -> None:
    model = improved_cnn()
    assert model.count_params() < KERAS_EXAMPLE_PARAMS / 4
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "BatchNormalization" in kinds and "GlobalAveragePooling2D" in kinds and "Flatten" not in kinds
    momenta = {layer.momentum for layer in model.layers if type(layer).__name__ == "BatchNormalization"}
    assert momenta == {0.9}, "lesson 03's conclusion, not Keras's default 0.99"


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


def keras2_rmsprop(
    gradients: np.ndarray, lr: float = 1e-4, decay: float = 1e-6, rho: float = 0.9
) -> np.ndarray:
    """Keras 2's RMSprop (keras/optimizers.py, 2017), in NumPy: the weights after each step."""
    weight, v, path = np.zeros(gradients.shape[1]), np.zeros(gradients.shape[1]), []
    for step, g in enumerate(gradients):
        rate = lr / (1 + decay * step)
        v = rho * v + (1 - rho) * g**2
        weight = weight - rate * g / (np.sqrt(v) + 1e-7)
        path.append(weight.copy())
    return np.array(path)


def keras3_path(optimizer, gradients: np.ndarray) -> np.ndarray:
    weight = keras.Variable(np.zeros(gradients.shape[1], "float32"))
    path = []
    for g in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), weight)])
        path.append(np.asarray(weight, dtype=np.float64))
    return np.array(path)


def test_the_ported_rmsprop_follows_keras_2_over_300_steps() -> None:
    from helpers.models import keras_example_optimizer

    rng = np.random.default_rng(0)
    scales = np.array([1e-5, 1e-4, 1e-3, 1e-1])  # gradients from tiny to large, one weight each
    gradients = rng.normal(size=(300, 4)) * scales
    reference = keras2_rmsprop(gradients)
    port = keras3_path(keras_example_optimizer(), gradients)
    schedule = keras.optimizers.schedules.InverseTimeDecay(1e-4, decay_steps=1, decay_rate=1e-6)
    default = keras3_path(keras.optimizers.RMSprop(schedule), gradients)  # Keras 3's epsilon 1e-7
    port_error = np.max(np.abs(port - reference) / np.abs(reference).max(axis=0))
    default_error = np.max(np.abs(default - reference) / np.abs(reference).max(axis=0))
    assert port_error < 0.05, port_error  # worst for gradients ~1e-5, where ε is 1% of √v
    assert default_error > 10 * port_error, "Keras 3's own epsilon inside the root is not Keras 2's step"


def test_hidden_fully_connected_layers_add_only_their_weights() -> None:
    base = small_cnn("conv-bn-relu")
    two = small_cnn("conv-bn-relu", hidden_dense=(256, 256))
    assert two.count_params() - base.count_params() == (64 + 1) * 256 + (256 + 1) * 256 + (256 - 64) * 10
    assert [type(layer).__name__ for layer in two.layers][-5:] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]


def test_residual_units_follow_the_papers_figure() -> None:
    """He et al. 2016, Fig. 4(a) and (e): ReLU after the addition in the original unit, nothing
    after it in the full pre-activation unit (a clean identity path)."""
    assert unit_sequence("original") == [
        "Conv2D", "BatchNormalization", "ReLU", "Conv2D", "BatchNormalization", "Add", "ReLU"
    ]  # fmt: skip
    assert unit_sequence("preact") == [
        "BatchNormalization", "ReLU", "Conv2D", "BatchNormalization", "ReLU", "Conv2D", "Add"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown unit"):
        unit_sequence("post")


@pytest.mark.parametrize(("unit", "params"), [("original", 274_042), ("preact", 273_658)])
def test_resnet20_has_the_papers_size_and_identity_shortcuts(unit: str, params: int) -> None:
    model = cifar_resnet(20, unit)
    assert model.count_params() == params  # the paper: 0.27 M
    assert model.output_shape == (None, 10)
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 9, "3 stages × 3 units"
    # an identity unit adds its own input, untouched: the shortcut holds no layer
    unit_input = model.get_layer("stage1_unit2_conv1" if unit == "original" else "stage1_unit2_bn1").input
    add_inputs = model.get_layer("stage1_unit2_add").input
    assert any(tensor is unit_input for tensor in add_inputs)
    assert ("final_bn" in [layer.name for layer in model.layers]) == (unit == "preact")
    assert model.get_layer("stage3_unit1_add").output.shape[1:] == (8, 8, 64)
    with pytest.raises(ValueError, match="6n"):
        cifar_resnet(21, unit)
    assert set(UNITS) == {"original", "preact"}
