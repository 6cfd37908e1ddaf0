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


def test_improved_model_is_smaller_and_uses_bn_and_gap() -> None:
    model = improved_cnn()
    assert model.count_params() < KERAS_EXAMPLE_PARAMS / 4
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "BatchNormalization" in kinds and "GlobalAveragePooling2D" in kinds and "Flatten" not in kinds


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
