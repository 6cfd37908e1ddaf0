"""The exercise checks accept right answers, reject wrong ones, and never print the answer."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.checks import (
    Feedback,
    check_block_order,
    check_grayscale,
    check_head_params,
    check_nchw_shape,
    check_one_hot,
    check_output_shape,
    check_param_count,
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
