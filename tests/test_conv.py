"""The NumPy convolution and pooling agree with Keras; the size and parameter formulas hold."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.conv import batch_norm, conv2d, conv_params, output_size, pool2d, same_padding

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [7, 8])
def test_numpy_conv_equals_keras(padding: str, stride: int, size: int) -> None:
    x = RNG.normal(size=(2, size, size, 3)).astype(np.float32)
    layer = keras.layers.Conv2D(4, 3, strides=stride, padding=padding)
    expected = np.asarray(layer(x))
    kernels, bias = (np.asarray(w) for w in layer.get_weights())
    ours = conv2d(x, kernels, bias, stride=stride, padding=padding)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_numpy_conv_by_hand() -> None:
    x = np.arange(16, dtype=float).reshape(1, 4, 4, 1)
    kernel = np.zeros((3, 3, 1, 1))
    kernel[1, 1] = 1.0  # identity kernel: the centre pixel
    np.testing.assert_array_equal(conv2d(x, kernel)[0, :, :, 0], [[5, 6], [9, 10]])
    ones = np.ones((3, 3, 1, 1))
    assert conv2d(x, ones)[0, 0, 0, 0] == sum([0, 1, 2, 4, 5, 6, 8, 9, 10])


@pytest.mark.parametrize("mode", ["max", "average"])
def test_numpy_pooling_equals_keras(mode: str) -> None:
    x = RNG.normal(size=(2, 6, 6, 3)).astype(np.float32)
    layer = keras.layers.MaxPooling2D(2) if mode == "max" else keras.layers.AveragePooling2D(2)
    np.testing.assert_allclose(pool2d(x, 2, mode=mode), np.asarray(layer(x)), atol=1e-6)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [(32, 3, 1, "valid", 30), (32, 3, 1, "same", 32), (32, 3, 2, "same", 16), (32, 3, 2, "valid", 15),
     (32, 3, 1, 1, 32), (32, 5, 1, 2, 32), (15, 3, 2, "same", 8), (30, 2, 2, "valid", 15)],
)  # fmt: skip
def test_output_size(size: int, kernel: int, stride: int, padding, expected: int) -> None:
    assert output_size(size, kernel, stride, padding) == expected


def test_same_padding_puts_the_extra_zero_after() -> None:
    assert same_padding(32, 3, 1) == (1, 1)
    assert same_padding(32, 3, 2) == (0, 1)
    assert same_padding(32, 5, 1) == (2, 2)


def test_conv_params_formula() -> None:
    assert conv_params(3, 3, 32) == 896
    assert conv_params(3, 32, 64) == 18_496
    assert conv_params(3, 32, 64, bias=False) == 18_432


def test_batch_norm_matches_keras_in_training_and_inference() -> None:
    x = RNG.normal(loc=3.0, scale=2.0, size=(16, 4, 4, 3)).astype(np.float32)
    layer = keras.layers.BatchNormalization(momentum=0.9)
    training_output = np.asarray(layer(x, training=True))
    gamma, beta, moving_mean, moving_var = (np.asarray(w) for w in layer.get_weights())
    np.testing.assert_allclose(training_output, batch_norm(x, gamma, beta), atol=1e-4)
    # moving averages after one step: 0.9 · initial + 0.1 · batch statistic
    np.testing.assert_allclose(moving_mean, 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-4)
    np.testing.assert_allclose(moving_var, 0.9 + 0.1 * x.var(axis=(0, 1, 2)), rtol=1e-4)
    inference_output = np.asarray(layer(x, training=False))
    np.testing.assert_allclose(
        inference_output, batch_norm(x, gamma, beta, moving_mean, moving_var), atol=1e-4
    )
