"""The exercise checks accept right answers, reject wrong ones, and never print the answer."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.checks import (
    CONV_CASES,
    Feedback,
    check_block_order,
    check_bn_params,
    check_conv_output_size,
    check_cross_entropy,
    check_flatten_dense_params,
    check_gap,
    check_grayscale,
    check_head_params,
    check_max_pool,
    check_model_params,
    check_moving_average_steps,
    check_nchw_shape,
    check_one_hot,
    check_output_shape,
    check_param_count,
    check_pooling_stack,
    check_softmax,
)

BATCH = np.random.default_rng(0).integers(0, 256, size=(7, 32, 30, 3), dtype=np.uint8)


def assert_rejected(result: Feedback, secret: object | None = None) -> None:
    assert not result.ok and result.message.startswith("❌") and "提示 (hint)" in result.message
    if secret is not None:
        assert str(secret) not in result.message, "the hint must not reveal the answer"


def test_feedback_displays_its_message() -> None:
    result = check_nchw_shape((7, 3, 32, 30), BATCH)
    assert result.ok and bool(result) and repr(result).startswith("✅")


@pytest.mark.parametrize("answer", [(7, 3, 32, 30), [7, 3, 32, 30], np.array([7, 3, 32, 30])])
def test_nchw_accepts_right_answer(answer) -> None:
    assert check_nchw_shape(answer, BATCH).ok


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((7, 32, 30, 3), "NHWC"),
        ((7, 32, 3, 30), "順序"),
        ((7, 3, 32, 32), "對不上"),
        ((7, 3, 32), "4 個整數"),
        ("7, 3, 32, 30", "4 個整數"),
        (None, "4 個整數"),
    ],
)
def test_nchw_rejects_wrong_answers(answer, problem: str) -> None:
    result = check_nchw_shape(answer, BATCH)
    assert_rejected(result, secret=(7, 3, 32, 30))
    assert problem in result.message


def test_grayscale_accepts_common_conversions() -> None:
    import tensorflow as tf

    assert check_grayscale(tf.image.rgb_to_grayscale(BATCH), BATCH).ok
    assert check_grayscale(BATCH.mean(axis=-1, keepdims=True), BATCH).ok
    assert check_grayscale(tf.image.rgb_to_grayscale(BATCH / 255.0), BATCH).ok, "normalised first"


def test_grayscale_rejects_wrong_answers() -> None:
    no_channel = BATCH.mean(axis=-1)
    assert "少了通道軸" in check_grayscale(no_channel, BATCH).message
    assert_rejected(check_grayscale(no_channel, BATCH))
    assert_rejected(check_grayscale(BATCH, BATCH))
    assert_rejected(check_grayscale(BATCH[..., :1], BATCH))  # only the red channel
    assert_rejected(check_grayscale(np.zeros((7, 32, 30, 1)), BATCH))


def test_one_hot() -> None:
    labels = np.array([[3], [0], [9]])
    right = np.eye(10)[labels.ravel()]
    assert check_one_hot(right, labels).ok
    assert_rejected(check_one_hot(np.eye(10)[[0, 3, 9]], labels))
    assert_rejected(check_one_hot(right[:, :9], labels))
    assert_rejected(check_one_hot(right * 2, labels))
    assert_rejected(check_one_hot(labels, labels))


def test_output_shape_check() -> None:
    from keras import layers

    def stack():
        return [layers.Conv2D(8, 3), layers.MaxPooling2D(2)]

    assert check_output_shape((15, 15, 8), stack(), (32, 32, 3)).ok
    assert check_output_shape((None, 15, 15, 8), stack(), (32, 32, 3)).ok
    assert_rejected(check_output_shape((16, 16, 8), stack(), (32, 32, 3)), secret=(15, 15, 8))
    assert "通道數" in check_output_shape((15, 15, 3), stack(), (32, 32, 3)).message
    assert_rejected(check_output_shape(None, stack(), (32, 32, 3)))


def test_param_count_check() -> None:
    from keras import layers

    assert check_param_count(896, layers.Conv2D(32, 3), (32, 32, 3)).ok
    missing_bias = check_param_count(864, layers.Conv2D(32, 3), (32, 32, 3))
    assert_rejected(missing_bias, secret=896)
    assert "偏差" in missing_bias.message
    assert_rejected(check_param_count("896", layers.Conv2D(32, 3), (32, 32, 3)))
    assert check_param_count(864, layers.Conv2D(32, 3, use_bias=False), (32, 32, 3)).ok
    # lesson 02's exercise: Conv2D(64, 3) on (16, 16, 32) has (9·32 + 1)·64 = 18,496; each hint
    # names the mistake the answer shows, never the answer
    layer, shape = layers.Conv2D(64, 3), (16, 16, 32)
    assert check_param_count(18_496, layer, shape).ok
    from_rgb = check_param_count(1_792, layer, shape)  # C_in = 3, as for an image
    assert_rejected(from_rgb, secret=18_496)
    assert "C_in" in from_rgb.message and "偏差（bias）。 (" not in from_rgb.message
    per_position = check_param_count(4_734_976, layer, shape)  # × H·W: no weight sharing
    assert_rejected(per_position, secret=18_496)
    assert "權重共享" in per_position.message
    other = check_param_count(100, layer, shape)  # too small, but not a missing bias
    assert "別忘了" not in other.message and "權重共享" not in other.message
    assert "別忘了" in check_param_count(18_432, layer, shape).message  # 9·32·64: the bias forgotten


def test_block_order_check() -> None:
    from keras import layers

    right = [layers.BatchNormalization(), layers.ReLU(), layers.Conv2D(8, 3)]
    assert check_block_order(right, "bn-relu-conv").ok
    assert check_block_order([layers.BatchNormalization(), layers.Activation("relu"), layers.Conv2D(8, 3)],
                             "bn-relu-conv").ok  # fmt: skip
    wrong = check_block_order(
        [layers.Conv2D(8, 3), layers.BatchNormalization(), layers.ReLU()], "bn-relu-conv"
    )
    assert_rejected(wrong)
    assert "第 1 層" in wrong.message
    assert_rejected(check_block_order(right[:2], "bn-relu-conv"))
    assert_rejected(check_block_order(None, "bn-relu-conv"))


def test_head_params_check() -> None:
    assert check_head_params(4 * 4 * 128 * 10 + 10, 128 * 10 + 10, (4, 4, 128)).ok
    swapped = check_head_params(128 * 10 + 10, 4 * 4 * 128 * 10 + 10, (4, 4, 128))
    assert_rejected(swapped, secret=20_490)
    assert "Flatten" in swapped.message
    gap_wrong = check_head_params(20_490, 1280, (4, 4, 128))
    assert_rejected(gap_wrong, secret=1290)
    assert "GAP" in gap_wrong.message and "Flatten、" not in gap_wrong.message
    assert_rejected(check_head_params("20490", 1290, (4, 4, 128)))


def test_softmax_check() -> None:
    logits = [2.0, 1.0, 0.0]
    exp = np.exp(logits)
    assert check_softmax(exp / exp.sum(), logits).ok
    assert_rejected(check_softmax(np.array(logits) / 3, logits))  # z / sum(z)
    assert_rejected(check_softmax([0.5, 0.3, 0.1], logits))  # does not sum to 1
    assert_rejected(check_softmax([1.0, 0.0], logits))
    assert_rejected(check_softmax("0.66", logits))


def test_hints_never_contradict_the_exercises_that_forbid_shortcuts() -> None:
    gray = check_grayscale(np.zeros((7, 32, 30, 1)), BATCH)
    assert "tf.image" not in gray.message
    one_hot = check_one_hot(np.eye(10)[[1, 0]], np.array([0, 1]))
    assert "to_categorical" not in one_hot.message


def right_size(size, kernel, stride, padding):
    return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1


def test_conv_output_size_against_keras() -> None:
    assert len(CONV_CASES) > 50 and check_conv_output_size(right_size)
    assert_rejected(check_conv_output_size(lambda s, k, st, p: (s - k) // st + 1))  # forgets "same"
    assert_rejected(check_conv_output_size(lambda s, k, st, p: s // st))  # forgets "valid"
    assert "ZeroDivisionError" in check_conv_output_size(lambda *a: 1 / 0).message
    assert_rejected(check_conv_output_size(lambda *a: 1.5))
    assert_rejected(check_conv_output_size("not a function"))


def test_moving_average_steps() -> None:
    assert check_moving_average_steps(459, 0.99) and check_moving_average_steps(44, 0.9)
    assert_rejected(check_moving_average_steps(458, 0.99), secret=459)
    assert_rejected(check_moving_average_steps(460, 0.99), secret=459)
    assert_rejected(check_moving_average_steps(0.5, 0.99))


def test_bn_params() -> None:
    assert check_bn_params(256, 128, channels=64)
    assert_rejected(check_bn_params(128, 128, channels=64), secret=256)
    assert_rejected(check_bn_params(256, 256, channels=64), secret=128)
    assert_rejected(check_bn_params("256", 128, channels=64))


def test_pooling_stack() -> None:
    from keras import layers

    good = [layers.Conv2D(32, 3, padding="same"), layers.MaxPooling2D(2), layers.MaxPooling2D(2)]
    assert check_pooling_stack(good, (32, 32, 3), (8, 8, 32))
    no_pool = [layers.Conv2D(32, 3, strides=4, padding="same")]
    assert "池化" in check_pooling_stack(no_pool, (32, 32, 3), (8, 8, 32)).message
    assert_rejected(check_pooling_stack([layers.MaxPooling2D(2)], (32, 32, 3), (8, 8, 32)))
    assert_rejected(check_pooling_stack("nope", (32, 32, 3), (8, 8, 32)))


def test_max_pool_and_gap_by_hand() -> None:
    def pool(x):
        n, h, w, c = x.shape
        x = x[:, : h // 2 * 2, : w // 2 * 2]
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    assert check_max_pool(pool)
    assert_rejected(check_max_pool(lambda x: x[:, ::2, ::2]))  # keeps a corner, not the maximum
    assert check_gap(lambda f: f.mean(axis=(1, 2)))
    assert_rejected(check_gap(lambda f: f.mean(axis=(1, 2, 3))))
    assert_rejected(check_gap(lambda f: f.mean(axis=(1, 2), keepdims=True)))


def test_flatten_dense_params_grow_with_the_image() -> None:
    assert check_flatten_dense_params((14 * 14 * 64 + 1) * 512, (64, 64, 3))
    assert_rejected(check_flatten_dense_params((6 * 6 * 64 + 1) * 512, (64, 64, 3)), secret=6_423_040)


def test_cross_entropy_by_hand_must_be_stable() -> None:
    def stable(logits, labels):
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(labels)), labels].mean()

    def naive(logits, labels):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(labels)), labels]).mean()

    assert check_cross_entropy(stable)
    with np.errstate(all="ignore"):
        assert "inf 或 nan" in check_cross_entropy(naive).message
    assert_rejected(check_cross_entropy(lambda z, y: 0.0))


def test_model_params() -> None:
    from keras import layers

    head = [layers.GlobalAveragePooling2D(), layers.Dense(256), layers.Dense(10)]
    assert check_model_params((128 + 1) * 256 + (256 + 1) * 10, head, (4, 4, 128))
    assert_rejected(check_model_params((128 + 1) * 256, head, (4, 4, 128)), secret=35_594)
