"""Exercise checks: immediate feedback in Traditional Chinese (with English), never the answer.

Each check returns a :class:`Feedback`; a notebook cell that ends with the check call shows
``✅ …`` or ``❌ … 提示（hint）：…``. Expected values are computed from the exercise's own
inputs, so a check cannot leak a stored answer, and a hint says where to look, not what to write.

Used in notebooks 01, 02, 03, 04, 05, 06.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def check_keras_reading(answer: Any, batch_shape: tuple[int, int, int, int]) -> Feedback:
    """Exercise: how Keras (``channels_last``) reads an NCHW batch of shape ``batch_shape`` handed to
    it unchanged: ``answer`` is ``{"height": …, "width": …, "channels": …}`` as Keras sees them."""
    if not isinstance(answer, dict) or set(answer) != {"height", "width", "channels"}:
        return failed(
            "答案要是一個 dict，鍵是 'height'、'width'、'channels'。 (A dict with those three keys.)",
            '例如 {"height": …, "width": …, "channels": …}，每個值是一個整數。',
        )
    if not all(_is_int(value) for value in answer.values()):
        return failed("每個值都要是整數。 (Integers, please.)", "形狀裡的每一個數字都是整數。")
    _, c, h, w = batch_shape
    given = {key: int(value) for key, value in answer.items()}
    if given == {"height": batch_shape[1], "width": batch_shape[2], "channels": batch_shape[3]}:
        return passed(
            "Keras 只看軸的位置：最後一個軸就是通道。 (Keras goes by position: the last axis is channels.)"
        )
    if given == {"height": h, "width": w, "channels": c}:
        return failed(
            "這是這批圖真正的樣子，但 Keras 不知道。 (That is what the images really are.)",
            "形狀本身沒有寫哪個軸是什麼；Keras（channels_last）依照位置解讀，把哪一個位置當成通道？",
        )
    return failed(
        "和 Keras 的解讀不同。 (Not how Keras reads it.)",
        "Keras 把形狀讀成 (N, H, W, C)：把這批的形狀一個位置一個位置對上去。",
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
        "灰階是 R、G、B 三個通道的加權平均：每個像素的三個數字各乘上一個權重再相加（權重加起來是 1）。",
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
            "第 i 列的 1 要放在第 labels[i] 欄；np.eye(類別數) 的第 k 列就是類別 k 的 one-hot 向量。",
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
    mistake = _param_mistakes(layer, input_shape, expected).get(int(answer))
    return failed("數字不對。 (Wrong count.)", f"{mistake} {hint}" if mistake else hint)


def _param_mistakes(layer: keras.Layer, input_shape: tuple[int, ...], expected: int) -> dict[int, str]:
    """The counts the usual mistakes give, each with a hint that names the mistake (never the
    answer): the bias forgotten, another number of input channels (3 or 1, as for an image),
    the count multiplied by the positions (no weight sharing)."""
    bias = "別忘了每個輸出通道還有一個偏差（bias）。 (Each output channel also has a bias.)"
    found: dict[int, str] = {}
    units = getattr(layer, "filters", None) or getattr(layer, "units", None)
    if getattr(layer, "use_bias", False) and units:
        found[expected - units] = bias
    kernel = getattr(layer, "kernel_size", None)
    if kernel and units and len(input_shape) == 3:
        k = int(np.prod(kernel))
        c_in = input_shape[-1]
        channels = (
            "C_in 是這一層輸入的通道數（輸入形狀的最後一軸），不一定是影像的 3 或 1。"
            " (C_in is the input's channels, its last axis: not always an image's 3 or 1.)"
        )
        for c in {1, 3} - {c_in}:
            found.setdefault((k * c + 1) * units, channels)
            found.setdefault(k * c * units, channels)
        sharing = (
            "同一組權重在每個位置重複使用（權重共享），參數量和高、寬無關：不要乘上 H·W。"
            " (The same weights are used at every position: do not multiply by H·W.)"
        )
        positions = input_shape[0] * input_shape[1]
        found.setdefault(expected * positions, sharing)
        found.setdefault((expected - units) * positions, sharing)
    found.pop(expected, None)
    return found


def check_bn_inference(prediction: Any, x: np.ndarray) -> Feedback:
    """Exercise: predict what a newly made ``BatchNormalization()`` returns for ``x`` with
    ``training=False``, before running it (checked against Keras, tolerance 0.01)."""
    from keras import layers  # noqa: PLC0415

    expected = np.asarray(layers.BatchNormalization()(x, training=False))
    try:
        array = np.asarray(prediction, dtype=np.float64)
    except (TypeError, ValueError):
        return failed("答案要是數字的陣列。 (An array of numbers.)", "和 x 一樣形狀的陣列或巢狀 list。")
    if array.shape != expected.shape:
        return failed(
            f"形狀是 {array.shape}，應該和 x 一樣是 {x.shape}。 (Same shape as x.)",
            "BN 對每個數字做同樣的仿射變換，輸出和輸入一樣形狀。",
        )
    if np.allclose(array, expected, atol=1e-2):
        return passed(
            "剛建立的層：移動平均 0、移動變異數 1、γ = 1、β = 0，推論模式幾乎原封不動。"
            " (A new layer at inference leaves x almost unchanged.)"
        )
    batch_normalized = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-3)
    if np.allclose(array, batch_normalized, atol=1e-2):
        return failed(
            "這是訓練模式的結果（用這一批的平均與變異數）。 (That is training mode.)",
            "training=False 用的是移動平均與移動變異數；剛建立的層，它們的初始值是多少？",
        )
    return failed(
        "和 Keras 算出來的不同。 (Not what Keras returns.)",
        "推論時 y = γ · (x − 移動平均) / √(移動變異數 + ε) + β：想一想剛建立時這四個數各是多少。",
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


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _call(fn: Any, *args: Any) -> tuple[Any, str | None]:
    """``fn(*args)``, or the error it raised as text (a student's function may fail)."""
    if not callable(fn):
        return None, "答案要是一個函式 (a function)。"
    try:
        return fn(*args), None
    except Exception as err:  # noqa: BLE001 - any error in the student's code is feedback
        return None, f"{type(err).__name__}: {err}"[:200]


#: Cases for :func:`check_conv_output_size`: (size, kernel, stride, padding).
CONV_CASES = tuple(
    (size, kernel, stride, padding)
    for size in (5, 7, 8, 28, 31, 32)
    for kernel in (1, 3, 5)
    for stride in (1, 2, 3)
    for padding in ("valid", "same")
    if kernel <= size
)


def check_conv_output_size(fn: Any) -> Feedback:
    """Exercise: ``fn(size, kernel, stride, padding)`` gives the output height of a Conv2D, for
    every case in :data:`CONV_CASES`, checked against Keras itself."""
    import keras  # noqa: PLC0415

    for size, kernel, stride, padding in CONV_CASES:
        layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)
        expected = int(layer.compute_output_shape((1, size, size, 1))[1])
        answer, error = _call(fn, size, kernel, stride, padding)
        case = f"conv_output_size({size}, {kernel}, {stride}, {padding!r})"
        if error:
            return failed(f"{case} 出錯了 (raised)：{error}", "函式要接受四個參數並回傳一個整數。")
        if not _is_int(answer):
            return failed(
                f"{case} 回傳了 {answer!r}，不是整數。 (Not an integer.)",
                "用 // 做整數除法，或用 math.ceil。",
            )
        if int(answer) != expected:
            hint = (
                "padding='same' 時，輸出只和 H 與 S 有關（會補 0 讓卷積核放得下）。"
                if padding == "same"
                else "padding='valid' 時不補 0：卷積核要整個放在影像裡面，每次移動 S 格。"
            )
            return failed(f"{case} 算出 {answer}，和 Keras 不同。 (Differs from Keras.)", hint)
    return passed(
        f"{len(CONV_CASES)} 種情況都和 Keras 一樣。 (Matches Keras in all {len(CONV_CASES)} cases.)"
    )


def check_moving_average_steps(answer: Any, momentum: float, share: float = 0.01) -> Feedback:
    """Exercise: the fewest update steps after which the initial value's weight in a moving
    average with ``momentum`` is below ``share`` (it is ``momentum ** steps``)."""
    if not _is_int(answer) or int(answer) < 1:
        return failed(
            "答案要是一個正整數（步數）。 (A positive integer: a number of steps.)",
            "一步更新後初始值還剩 momentum 倍。",
        )
    steps = int(answer)
    if momentum**steps < share <= momentum ** (steps - 1):
        return passed(f"{steps} 步之後，初始值的比重才低於 {share:.0%}。 (Right number of steps.)")
    if momentum**steps >= share:
        return failed(
            "步數太少：初始值的比重還不夠小。 (Too few steps.)",
            "每一步初始值的比重乘上 momentum；要乘幾次才小於門檻？",
        )
    return failed(
        "步數太多：更早就已經低於門檻了。 (Too many steps: it drops below earlier.)",
        "找「第一個」低於門檻的步數。",
    )


def check_bn_params(total: Any, trainable: Any, channels: int) -> Feedback:
    """Exercise: the parameters of a BatchNormalization on ``channels`` channels, all and trainable."""
    import keras  # noqa: PLC0415

    layer = keras.layers.BatchNormalization()
    layer.build((None, 8, 8, channels))
    expected_total = layer.count_params()
    expected_trainable = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    if not (_is_int(total) and _is_int(trainable)):
        return failed("兩個答案都要是整數。 (Both answers must be integers.)", "參數量是整數。")
    if int(total) == expected_total and int(trainable) == expected_trainable:
        return passed("BN 的參數量與可訓練的部分都對。 (Both counts are right.)")
    if int(total) != expected_total:
        return failed(
            "全部參數量不對。 (Wrong total.)",
            "BN 對每個通道各存 γ、β、移動平均、移動變異數；全部都算在 count_params 裡。",
        )
    return failed(
        "可訓練的參數量不對。 (Wrong trainable count.)",
        "移動平均與移動變異數不是梯度下降學來的，是訓練時順便更新的統計量。",
    )


def check_pooling_stack(
    stack: Any, input_shape: tuple[int, int, int], target: tuple[int, int, int]
) -> Feedback:
    """Exercise: a list of Keras layers, with at least one pooling layer, that turns
    ``input_shape`` into ``target``."""
    try:
        kinds = [type(layer).__name__ for layer in stack]
        shape = _keras_output_shape(list(stack), input_shape)
    except Exception as err:  # noqa: BLE001 - the student's layers may not fit together
        return failed(
            f"這些層組不起來 (cannot build)：{type(err).__name__}", "要是一個 list，裡面放 Keras 層。"
        )
    if not any(kind in ("MaxPooling2D", "AveragePooling2D") for kind in kinds):
        return failed("裡面沒有池化層。 (No pooling layer.)", "這一題要用池化縮小高與寬。")
    if shape == tuple(target):
        return passed(f"{input_shape} → {shape}，符合目標。 (Meets the target shape.)")
    if shape[-1] != target[-1]:
        return failed(
            f"輸出是 {shape}：通道數不對。 (Wrong channels.)", "通道數由最後一個卷積層的 filters 決定。"
        )
    return failed(
        f"輸出是 {shape}：高或寬不對。 (Wrong height or width.)",
        "每一次 2×2 池化把高與寬減半；padding='same' 的卷積不改變高與寬。",
    )


def _check_against_layer(
    fn: Any, layer: Any, shapes: tuple[tuple[int, ...], ...], what: str, odd_hint: str | None = None
) -> Feedback:
    """``fn`` against a Keras layer on each of ``shapes``; ``odd_hint`` is the hint when only an odd
    height or width goes wrong (the even shapes before it passed)."""
    rng = np.random.default_rng(0)
    for shape in shapes:
        x = rng.normal(size=shape).astype("float32")
        expected = np.asarray(layer(x))
        odd = odd_hint if odd_hint and any(size % 2 for size in shape[1:3]) else None
        answer, error = _call(fn, x)
        if error:
            return failed(
                f"輸入形狀 {shape} 時出錯了 (raised)：{error}", odd or "用 NumPy 的切片與 .max／.mean。"
            )
        try:
            array = np.asarray(answer, dtype=np.float64)
        except (TypeError, ValueError):
            return failed("回傳值不是數字陣列。 (Not an array of numbers.)", "回傳一個 NumPy 陣列。")
        if array.shape != expected.shape:
            return failed(
                f"輸入 {shape} 時輸出形狀是 {array.shape}，應該是 {expected.shape}。 (Wrong shape.)",
                odd or f"{what}：想一想哪些軸會變、哪些軸不變。",
            )
        if not np.allclose(array, expected, atol=1e-5):
            return failed(
                f"輸入 {shape} 時數值和 Keras 不同。 (Values differ from Keras.)",
                odd or f"{what}：檢查是對哪些軸計算。",
            )
    return passed(f"和 Keras 的 {type(layer).__name__} 結果相同。 (Matches Keras.)")


#: The max-pool exercise's hint when even sizes pass and an odd height or width fails.
ODD_POOL_HINT = (
    "偶數的高與寬都對了，奇數的（例如 5×7）不對：Keras 的 2×2 池化在奇數大小時，"
    "把最後多出來的一列或一行丟掉（輸出是 floor(H/2) × floor(W/2)），你的程式也要先這樣做。"
    " (Even sizes pass; with an odd size Keras drops the last row or column.)"
)


def check_receptive_field(answer: Any, stack: Sequence[Any]) -> Feedback:
    """Exercise: the receptive field (in input pixels, one side) of one output pixel of the last
    layer of ``stack`` (Keras layers), as :func:`helpers.conv.receptive_fields` computes it."""
    from helpers.conv import receptive_fields  # noqa: PLC0415

    rows = receptive_fields(stack)
    right = rows[-1][1]
    if not _is_int(answer):
        return failed(
            "答案要是一個整數（一邊幾個像素）。 (An integer: pixels on one side.)", "例如 7 代表 7×7。"
        )
    if int(answer) == right:
        return passed(f"最後一層的每個輸出看見輸入的 {right}×{right}。 (Right.)")
    without_jump = 1 + sum(
        (getattr(layer, "kernel_size", None) or layer.pool_size)[0] - 1
        for layer in stack
        if getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    )
    if int(answer) == without_jump:
        return failed(
            "池化之後的層少算了。 (Layers after the pooling are undercounted.)",
            "池化（步幅 2）之後，下一層相鄰的兩個輸出在原圖上隔 2 個像素：它多看的 (k − 1) 要乘上這個跳距。",
        )
    return failed(
        "數字不對。 (Wrong size.)",
        "從 1 個像素開始，逐層加上 (k − 1) × 目前的跳距；遇到步幅 s 的層，跳距乘以 s。",
    )


def check_max_pool(fn: Any) -> Feedback:
    """Exercise: ``fn(x)`` is 2×2 max pooling with stride 2 of an NHWC array (odd sizes drop the
    last row or column, like Keras), checked against ``keras.layers.MaxPooling2D(2)``."""
    import keras  # noqa: PLC0415

    shapes = ((2, 4, 4, 3), (1, 6, 8, 2), (3, 5, 7, 4))
    return _check_against_layer(
        fn, keras.layers.MaxPooling2D(2), shapes, "每個 2×2 的視窗取最大值", odd_hint=ODD_POOL_HINT
    )


#: What a student writes when two runs cannot be told apart (:func:`check_seed_verdicts`).
INDISTINGUISHABLE = "分不出來"


def check_seed_verdicts(verdicts: Any, runs: dict[str, Sequence[float]], pairs: Sequence[str]) -> Feedback:
    """Exercise: for each of ``pairs`` (``"A vs B"``) of ``runs`` (final validation accuracies over
    seeds), the better one's name, or :data:`INDISTINGUISHABLE` when their ranges (min–max)
    overlap: the course's rule (:func:`helpers.training.better_by_range`)."""
    from helpers.training import better_by_range  # noqa: PLC0415

    if not isinstance(verdicts, dict):
        return failed(
            '答案要是一個 dict，例如 {"A vs B": …}。 (A dict, one entry per pair.)',
            f"每個值是比較好的那一個的名字，或 {INDISTINGUISHABLE!r}。",
        )
    for pair in pairs:
        if pair not in verdicts:
            return failed(f"還沒回答 {pair!r}。 (Pair missing.)", "每一對都要回答，鍵照題目的寫法。")
        first, second = (name.strip() for name in pair.split("vs"))
        right = {1: first, -1: second, 0: INDISTINGUISHABLE}[better_by_range(runs[first], runs[second])]
        verdict = verdicts[pair]
        if verdict == right:
            continue
        if right == INDISTINGUISHABLE:
            return failed(
                f"{pair}：你選了 {verdict!r}。 (Not this one.)",
                "平均比較高不代表分得出來：先寫下兩組的最低～最高，看看範圍有沒有重疊。",
            )
        if verdict == INDISTINGUISHABLE:
            return failed(
                f"{pair}：其實分得出來。 (They can be told apart.)",
                "兩組的最低～最高範圍重疊嗎？不重疊時，就說得出誰比較好。",
            )
        return failed(f"{pair}：選錯了。 (Wrong choice.)", "範圍不重疊時，整個範圍比較高的那一組比較好。")
    return passed("範圍重疊就說分不出來，不重疊才說誰比較好。 (Overlap: indistinguishable.)")


def check_flatten_dense_params(answer: Any, input_shape: tuple[int, int, int]) -> Feedback:
    """Exercise: the parameters of the Keras example's Dense(512) when its input images have
    ``input_shape`` (the Flatten head grows with the image; the GAP head would not)."""
    from helpers.models import keras_example_cnn  # noqa: PLC0415

    expected = keras_example_cnn(input_shape=input_shape).get_layer("dense512").count_params()
    if not _is_int(answer):
        return failed("答案要是一個整數。 (An integer, please.)", "參數量是一個整數。")
    if int(answer) == expected:
        return passed("Dense(512) 的參數量正確：Flatten 頭隨影像變大而變大。 (Right.)")
    return failed(
        "數字不對。 (Wrong count.)",
        "逐層算出最後一個池化層的輸出 (H, W, 64)："
        "same 不改變大小、valid 的 3×3 卷積減 2、池化減半（無條件捨去）。",
    )


def check_cross_entropy(fn: Any) -> Feedback:
    """Exercise: ``fn(logits, labels)`` is the mean cross-entropy from logits, numerically stable,
    checked against ``SparseCategoricalCrossentropy(from_logits=True)``, also on extreme logits."""
    import keras  # noqa: PLC0415

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    cases = (
        (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
        (np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]]), np.array([1, 2])),
    )
    for logits, labels in cases:
        expected = float(loss(labels, logits))
        answer, error = _call(fn, logits, labels)
        if error:
            return failed(
                f"出錯了 (raised)：{error}", "函式接受 logits (N, K) 與整數標籤 (N,)，回傳一個數字。"
            )
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return failed("回傳值要是一個數字（批次的平均損失）。 (A single number.)", "最後對批次取平均。")
        if not np.isfinite(value):
            return failed(
                "遇到很大的 logits 時結果是 inf 或 nan。 (Not stable for large logits.)",
                "log(softmax(z)) = z − log Σ exp(z)；先減去每列的最大值再算 exp。",
            )
        if abs(value - expected) > 1e-3 * max(1.0, abs(expected)):
            return failed(
                "數值和 Keras 不同。 (Differs from Keras.)", "交叉熵是正確類別的 −log(機率)，再對批次平均。"
            )
    return passed("和 Keras 一樣，連很大的 logits 也穩定。 (Matches Keras, stable for large logits.)")


def check_model_params(answer: Any, layers: list[Any], input_shape: tuple[int, ...]) -> Feedback:
    """Exercise: the total parameters of ``layers`` on inputs of ``input_shape`` (counted by Keras)."""
    import keras  # noqa: PLC0415

    expected = keras.Sequential([keras.Input(shape=input_shape), *layers]).count_params()
    if not _is_int(answer):
        return failed("答案要是一個整數。 (An integer, please.)", "參數量是一個整數。")
    if int(answer) == expected:
        return passed("參數量正確。 (Right parameter count.)")
    return failed(
        "數字不對。 (Wrong count.)",
        "逐層算：池化層沒有參數；Dense 的參數是 (輸入數 + 1)·輸出數，輸入數是前一層的輸出長度。",
    )
