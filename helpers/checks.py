"""Exercise checks: immediate feedback in Traditional Chinese (with English), never the answer.

Each check returns a :class:`Feedback`; a notebook cell that ends with the check call shows
``✅ …`` or ``❌ … 提示（hint）：…``. Expected values are computed from the exercise's own
inputs, so a check cannot leak a stored answer, and a hint says where to look, not what to write.

Used in notebooks 01, 02, 03, 04, 05, 06.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.classifier import softmax
from helpers.data import NUM_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    import keras


@dataclass(frozen=True)
class Feedback:
    """The result of a check: ``ok`` and the message a student reads."""

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message


def passed(what: str) -> Feedback:
    return Feedback(True, f"✅ 正確！(Correct!) {what}")


def failed(problem: str, hint: str) -> Feedback:
    return Feedback(False, f"❌ 還不對 (Not yet)：{problem}\n   提示 (hint)：{hint}")


def _as_shape(value: Any) -> tuple[int, ...] | None:
    """A shape given as tuple, list, TensorShape or torch.Size, as a tuple of ints."""
    try:
        items = tuple(value)
    except TypeError:
        return None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        return None
    return tuple(int(v) for v in items)


def check_nchw_shape(answer: Any, batch: np.ndarray) -> Feedback:
    """Exercise: the NCHW (PyTorch) shape of an NHWC ``batch``."""
    shape = _as_shape(answer)
    if shape is None or len(shape) != 4:
        return failed(
            "答案要是 4 個整數組成的 tuple。 (The answer must be a tuple of 4 integers.)",
            "NCHW 代表 (批次 N, 通道 C, 高 H, 寬 W)，每一項都是一個整數。",
        )
    n, h, w, c = batch.shape
    if shape == (n, c, h, w):
        return passed("通道 (C) 移到了批次之後。 (Channels now come right after the batch.)")
    if shape == tuple(batch.shape):
        return failed(
            "這還是 NHWC 的順序。 (This is still the NHWC order.)",
            "NCHW 把通道 C 從最後一個位置移到第二個位置。",
        )
    if sorted(shape) == sorted(batch.shape):
        return failed(
            "數字都對，但順序不對。 (Right numbers, wrong order.)",
            "依序寫出 N、C、H、W 各是 batch.shape 的第幾個數字。",
        )
    return failed(
        "數字和 batch 的大小對不上。 (The numbers do not match the batch.)",
        "先印出 batch.shape，看看 N、H、W、C 各是多少。",
    )


_GRAY_WEIGHTS = (
    (0.2989, 0.5870, 0.1140),  # ITU-R BT.601, used by tf.image.rgb_to_grayscale
    (0.2126, 0.7152, 0.0722),  # ITU-R BT.709
    (1 / 3, 1 / 3, 1 / 3),  # plain mean
)


def check_grayscale(gray: Any, batch: np.ndarray) -> Feedback:
    """Exercise: convert an NHWC RGB ``batch`` to grayscale, keeping a channel axis of size 1."""
    gray_array = np.asarray(gray, dtype=np.float64)
    n, h, w, _ = batch.shape
    if gray_array.shape == (n, h, w):
        return failed(
            "少了通道軸。 (The channel axis is missing.)",
            "灰階影像也要保留最後一個長度為 1 的軸，形狀是 (N, H, W, 1)。",
        )
    if gray_array.shape != (n, h, w, 1):
        return failed(
            f"形狀是 {gray_array.shape}，和 (N, H, W, 1) 不同。 (Wrong shape.)",
            "灰階只有 1 個通道；批次數、高、寬都要和原本的 batch 一樣。",
        )
    rgb = np.asarray(batch, dtype=np.float64)
    if rgb.max() > 1.5 and gray_array.max() <= 1.0:
        rgb = rgb / 255.0  # the student normalised first: compare on the same scale
    tolerance = 0.01 * max(float(rgb.max()), 1e-6)
    for weights in _GRAY_WEIGHTS:
        reference = rgb @ np.asarray(weights)
        if np.max(np.abs(reference - gray_array[..., 0])) <= tolerance:
            return passed("形狀與數值都像灰階影像。 (Shape and values of a grayscale image.)")
    return failed(
        "形狀對了，但數值不像灰階。 (Right shape, but the values are not grayscale.)",
        "灰階是 R、G、B 三個通道的加權平均；可以用 tf.image.rgb_to_grayscale。",
    )


def check_one_hot(one_hot: Any, labels: np.ndarray) -> Feedback:
    """Exercise: turn integer ``labels`` (shape ``(N,)`` or ``(N, 1)``) into one-hot vectors."""
    flat = np.asarray(labels).reshape(-1)
    array = np.asarray(one_hot)
    if array.shape != (len(flat), NUM_CLASSES):
        return failed(
            f"形狀是 {array.shape}，應該是 (N, {NUM_CLASSES})。 (Wrong shape.)",
            "每一張圖一列，每一個類別一欄。",
        )
    if not np.isin(array, (0, 1)).all() or not (array.sum(axis=1) == 1).all():
        return failed(
            "每一列要剛好有一個 1，其餘都是 0。 (Each row needs exactly one 1.)",
            "one-hot 向量只在正確類別的位置放 1。",
        )
    if not (array.argmax(axis=1) == flat).all():
        return failed(
            "1 放錯位置了。 (The 1 is in the wrong column.)",
            "第 i 列的 1 要放在第 labels[i] 欄；可以用 keras.utils.to_categorical。",
        )
    return passed("每一列都在正確的類別放了 1。 (Every row marks its class.)")


def _keras_output_shape(layers: list[keras.Layer], input_shape: tuple[int, ...]) -> tuple[int, ...]:
    import keras  # noqa: PLC0415

    model = keras.Sequential([keras.Input(shape=input_shape), *layers])
    return tuple(int(d) for d in model.output_shape[1:])


def check_output_shape(answer: Any, layers: list[keras.Layer], input_shape: tuple[int, ...]) -> Feedback:
    """Exercise: the output shape ``(H, W, C)`` of ``layers`` applied to ``input_shape``.

    The expected shape is computed by Keras from the same layers, so nothing is stored.
    """
    expected = _keras_output_shape(layers, input_shape)
    raw = tuple(answer) if isinstance(answer, (tuple, list)) else None
    if raw is not None and len(raw) == len(expected) + 1 and raw[0] is None:
        raw = raw[1:]  # (None, H, W, C) is fine too
    shape = _as_shape(raw) if raw is not None else None
    if shape is None or len(shape) != len(expected):
        return failed(
            f"答案要是 {len(expected)} 個整數的 tuple（不含批次軸）。 "
            f"(A tuple of {len(expected)} integers, without the batch axis.)",
            "形狀寫成 (高 H, 寬 W, 通道 C)。",
        )
    if shape == expected:
        return passed("輸出形狀正確。 (Right output shape.)")
    if shape[-1] != expected[-1]:
        return failed(
            "通道數不對。 (Wrong number of channels.)",
            "卷積層的輸出通道數等於 filters；池化層不改變通道數。",
        )
    return failed(
        "高或寬不對。 (Wrong height or width.)",
        "逐層套用 floor((H + 2P − K) / S) + 1；padding='same' 時輸出是 ceil(H / S)。",
    )


def check_param_count(answer: Any, layer: keras.Layer, input_shape: tuple[int, ...]) -> Feedback:
    """Exercise: the number of trainable parameters of ``layer`` on inputs of ``input_shape``."""
    import keras  # noqa: PLC0415

    model = keras.Sequential([keras.Input(shape=input_shape), layer])
    expected = model.count_params()
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return failed("答案要是一個整數。 (The answer must be an integer.)", "參數量是一個整數。")
    if int(answer) == expected:
        return passed("參數量正確。 (Right parameter count.)")
    hint = "Conv2D：(K·K·C_in + 1)·C_out，其中 +1 是偏差（bias）；Dense：(輸入數 + 1)·輸出數。"
    if getattr(layer, "use_bias", False) and int(answer) < expected:
        hint = "別忘了每個輸出通道還有一個偏差（bias）。 " + hint
    return failed("數字不對。 (Wrong count.)", hint)


_LAYER_KINDS = {"conv": "Conv2D", "bn": "BatchNormalization", "relu": "ReLU"}


def _kind(layer: Any) -> str:
    name = type(layer).__name__
    if name == "Activation" and getattr(layer, "activation", None) is not None:
        return "ReLU" if layer.activation.__name__ == "relu" else name
    return name


def check_block_order(block: Any, order: str) -> Feedback:
    """Exercise: a list of Keras layers forming one conv block in ``order`` (e.g. ``"bn-relu-conv"``)."""
    expected = [_LAYER_KINDS[part] for part in order.split("-")]
    try:
        kinds = [_kind(layer) for layer in block]
    except TypeError:
        return failed(
            "答案要是一個 list，裡面放 Keras 層。 (A list of Keras layers.)", "例如 [layers.A(), layers.B()]"
        )
    if kinds == expected:
        return passed(f"層的順序是 {order}。 (The block follows {order}.)")
    if len(kinds) != len(expected):
        return failed(
            f"這個區塊有 {len(kinds)} 層，應該有 {len(expected)} 層。 (Wrong number of layers.)",
            "每個名稱（conv、bn、relu）對應一層。",
        )
    position = next(i for i, (a, b) in enumerate(zip(kinds, expected, strict=True)) if a != b)
    return failed(
        f"第 {position + 1} 層是 {kinds[position]}，順序不對。 (Layer {position + 1} is out of order.)",
        f"照著 '{order}' 由左到右排：conv → Conv2D，bn → BatchNormalization，relu → ReLU。",
    )


def check_head_params(
    flatten_answer: Any, gap_answer: Any, body_output: tuple[int, int, int], num_classes: int = NUM_CLASSES
) -> Feedback:
    """Exercise: parameters of a Flatten → Dense head and of a GAP → Dense head on ``body_output``."""
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    def head_params(pooling: keras.Layer) -> int:
        model = keras.Sequential([keras.Input(shape=body_output), pooling, layers.Dense(num_classes)])
        return model.count_params()

    answers = {"Flatten": flatten_answer, "GAP": gap_answer}
    expected = {"Flatten": head_params(layers.Flatten()), "GAP": head_params(layers.GlobalAveragePooling2D())}
    for name, answer in answers.items():
        if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
            return failed(f"{name} 的答案要是一個整數。 ({name}: an integer, please.)", "參數量是一個整數。")
    wrong = [name for name in answers if int(answers[name]) != expected[name]]
    if not wrong:
        return passed("兩個分類頭的參數量都對。 (Both heads are right.)")
    hints = {
        "Flatten": "Flatten 之後有 H·W·C 個特徵，Dense 的參數是 (特徵數 + 1)·類別數。",
        "GAP": "GAP 之後每個通道只剩 1 個數字（C 個特徵），Dense 的參數是 (C + 1)·類別數。",
    }
    return failed(f"{'、'.join(wrong)} 的參數量不對。 (Wrong: {', '.join(wrong)}.)", hints[wrong[0]])


def check_softmax(answer: Any, logits: Any) -> Feedback:
    """Exercise: the softmax probabilities of ``logits`` (one row or a batch), within 1e-3."""
    expected = softmax(np.asarray(logits, dtype=np.float64))
    try:
        array = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return failed("答案要是一串數字。 (The answer must be numbers.)", "用 np.exp 與 .sum() 算。")
    if array.shape != expected.shape:
        return failed(
            f"形狀是 {array.shape}，應該和 logits 一樣是 {expected.shape}。 (Wrong shape.)",
            "每個 logit 對應一個機率。",
        )
    if not np.allclose(array.sum(axis=-1), 1.0, atol=1e-3):
        return failed(
            "機率加起來不是 1。 (The probabilities do not sum to 1.)",
            "每個 exp(z) 要除以所有 exp(z) 的總和。",
        )
    if np.allclose(array, expected, atol=1e-3):
        return passed("機率都對，而且加起來是 1。 (Right probabilities, summing to 1.)")
    return failed(
        "加起來是 1，但數值不對。 (They sum to 1 but the values are off.)",
        "softmax 是 exp(z_i) / Σ exp(z_j)；不是 z_i / Σ z_j。",
    )
