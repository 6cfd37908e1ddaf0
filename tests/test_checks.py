"""The exercise checks accept right answers, reject wrong ones, and never print the answer."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.checks import (
    CONV_CASES,
    INDISTINGUISHABLE,
    Feedback,
    check_bn_inference,
    check_bn_params,
    check_conv_output_size,
    check_cross_entropy,
    check_flatten_dense_params,
    check_grayscale,
    check_head_params,
    check_keras_reading,
    check_max_pool,
    check_model_params,
    check_moving_average_steps,
    check_one_hot,
    check_output_shape,
    check_param_count,
    check_pooling_stack,
    check_receptive_field,
    check_seed_verdicts,
    check_softmax,
)

BATCH = np.random.default_rng(0).integers(0, 256, size=(7, 32, 30, 3), dtype=np.uint8)


def assert_rejected(result: Feedback, secret: object | None = None) -> None:
    assert not result.ok and result.message.startswith("❌") and "提示 (hint)" in result.message
    if secret is not None:
        assert str(secret) not in result.message, "the hint must not reveal the answer"


TORCH_BATCH = (16, 3, 32, 24)  # NCHW: 16 images, 3 channels, 32 high, 24 wide


def test_feedback_displays_its_message() -> None:
    result = check_keras_reading({"height": 3, "width": 32, "channels": 24}, TORCH_BATCH)
    assert result.ok and bool(result) and repr(result).startswith("✅")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (
            {"height": 32, "width": 24, "channels": 3},
            "真正的樣子",
        ),  # what the images are, not Keras's reading
        ({"height": 3, "width": 24, "channels": 32}, "解讀不同"),
        ({"height": 3, "width": 32}, "dict"),
        ((3, 32, 24), "dict"),
        ({"height": "3", "width": 32, "channels": 24}, "整數"),
    ],
)
def test_the_keras_reading_rejects_wrong_answers(answer, problem: str) -> None:
    result = check_keras_reading(answer, TORCH_BATCH)
    assert_rejected(result)
    assert problem in result.message
    assert "24}" not in result.message and "'channels': 24" not in result.message


def test_bn_inference_prediction() -> None:
    x = np.array([[3.0, -1.0], [5.0, 1.0]])
    assert check_bn_inference(x, x).ok, "a new layer at inference leaves x (almost) unchanged"
    assert check_bn_inference(x.tolist(), x).ok
    training = (x - x.mean(axis=0)) / x.std(axis=0)
    result = check_bn_inference(training, x)
    assert_rejected(result)
    assert "訓練模式" in result.message
    assert_rejected(check_bn_inference(np.zeros_like(x), x))
    assert_rejected(check_bn_inference(x[0], x))
    assert_rejected(check_bn_inference("x", x))


def test_seed_verdicts_follow_the_range_rule() -> None:
    runs = {"A": [0.712, 0.698, 0.705], "B": [0.701, 0.716, 0.694], "C": [0.671, 0.668, 0.680]}
    pairs = ("A vs B", "A vs C")
    assert check_seed_verdicts({"A vs B": INDISTINGUISHABLE, "A vs C": "A"}, runs, pairs).ok
    higher_mean = check_seed_verdicts({"A vs B": "A", "A vs C": "A"}, runs, pairs)
    assert_rejected(higher_mean)
    assert "平均比較高不代表" in higher_mean.message
    too_careful = check_seed_verdicts({"A vs B": INDISTINGUISHABLE, "A vs C": INDISTINGUISHABLE}, runs, pairs)
    assert_rejected(too_careful)
    assert "分得出來" in too_careful.message
    assert_rejected(check_seed_verdicts({"A vs B": INDISTINGUISHABLE, "A vs C": "C"}, runs, pairs))
    assert_rejected(check_seed_verdicts({"A vs B": INDISTINGUISHABLE}, runs, pairs))
    assert_rejected(check_seed_verdicts(["A"], runs, pairs))


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


def test_max_pool_by_hand() -> None:
    def pool(x):
        n, h, w, c = x.shape
        x = x[:, : h // 2 * 2, : w // 2 * 2]
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    assert check_max_pool(pool)
    assert_rejected(check_max_pool(lambda x: x[:, ::2, ::2]))  # keeps a corner, not the maximum

    def even_only(x):  # right on even sizes; on odd ones the reshape raises
        n, h, w, c = x.shape
        return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))

    def padded(x):  # right on even sizes; on odd ones it pads instead of dropping
        n, h, w, c = x.shape
        x = np.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=-np.inf)
        return x.reshape(n, -(-h // 2), 2, -(-w // 2), 2, c).max(axis=(2, 4))

    for wrong in (even_only, padded):
        feedback = check_max_pool(wrong)
        assert_rejected(feedback)
        assert "奇數" in feedback.message and "丟掉" in feedback.message, feedback.message
    feedback = check_max_pool(lambda x: x[:, ::2, ::2])
    assert "奇數" not in feedback.message, "a wrong answer on even sizes gets the general hint"


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


def test_receptive_field_exercise() -> None:
    from keras import layers

    stack = [layers.Conv2D(16, 5), layers.MaxPooling2D(2), layers.Conv2D(32, 3), layers.Conv2D(32, 3)]
    assert check_receptive_field(14, stack).ok  # 5 → 6 (jump 2) → 10 → 14
    forgot_jump = check_receptive_field(10, stack)  # 5 + 1 + 2 + 2: the jump after pooling ignored
    assert_rejected(forgot_jump, secret=14)
    assert "跳距" in forgot_jump.message and "池化" in forgot_jump.message
    assert_rejected(check_receptive_field(13, stack), secret=14)
    assert_rejected(check_receptive_field("14", stack))


def test_receptive_fields_grow_with_kernels_and_jumps() -> None:
    from helpers.conv import receptive_fields
    from helpers.models import keras_example_cnn, small_cnn

    keras_example = receptive_fields(keras_example_cnn().layers)
    assert [field for _, field, _ in keras_example] == [3, 5, 6, 10, 14, 16]
    assert keras_example[-1] == ("pool2", 16, 4), "each of the last 6×6 features sees 16×16 pixels"
    assert receptive_fields(small_cnn().layers)[-1][1] == 32, "small_cnn's last conv sees the whole image"
