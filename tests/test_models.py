"""The model builders: layer lists, parameter counts, the schedule that replaces `decay`."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.data import make_dataset
from helpers.models import (
    KERAS_EXAMPLE_PARAMS,
    augment_with_layers,
    keras_example_augmentation,
    keras_example_cnn,
    keras_example_optimizer,
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
