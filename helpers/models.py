"""Model builders: every model a notebook trains comes from here (none is copy-pasted).

``small_cnn`` is the course's small CNN, built from :func:`conv_block` in one of four orders of
convolution, batch normalisation and ReLU (notebook 03 compares them).

``keras_example_cnn`` is the classic Keras 2 ``cifar10_cnn`` example, ported layer for layer to
Keras 3, with its optimizer (:func:`keras_example_optimizer`) and its data augmentation
(:func:`keras_example_augmentation`).

``cifar_resnet`` is He et al.'s CIFAR ResNet with the original or the full pre-activation
residual unit (:func:`residual_unit`; notebook 03 compares them from benchmark records).

Used in notebooks 02, 03, 04, 05, 06, 07.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from helpers.data import CIFAR10_MEAN, CIFAR10_STD, IMAGE_SHAPE, NUM_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf

#: Parameters of the Keras example model (the lesson's number, checked by the tests).
KERAS_EXAMPLE_PARAMS = 1_250_858

#: Orders of a conv block. ``conv-bn-relu``: the original BN paper (Ioffe & Szegedy 2015);
#: ``conv-relu-bn``: BN after the activation, as many later works do; ``bn-relu-conv``: the
#: pre-activation ResNet (He et al. 2016, "Identity Mappings in Deep Residual Networks");
#: ``conv-relu``: no BN, the control.
ORDERS = ("conv-bn-relu", "conv-relu-bn", "bn-relu-conv", "conv-relu")


def conv_block(
    filters: int, order: str = "conv-bn-relu", name: str = "block", bn_momentum: float = 0.99
) -> list[keras.Layer]:
    """The layers of one 3×3 convolution block, in the given ``order`` (see :data:`ORDERS`).

    The convolution has no bias when a BN follows it directly (BN's own shift replaces it).
    ``bn_momentum`` is Keras's default; short training runs use 0.9 so that BN's moving
    statistics catch up within a few epochs.
    """
    from keras import layers  # noqa: PLC0415

    if order not in ORDERS:
        raise ValueError(f"未知的順序 / unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    parts = order.split("-")
    use_bias = "conv-bn" not in order
    make = {
        "conv": lambda: layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, name=f"{name}_conv"),
        "bn": lambda: layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn"),
        "relu": lambda: layers.ReLU(name=f"{name}_relu"),
    }
    return [make[part]() for part in parts]


def small_cnn(
    order: str = "conv-bn-relu",
    widths: tuple[int, ...] = (16, 32, 64),
    convs_per_stage: int = 2,
    input_shape: tuple[int, int, int] = IMAGE_SHAPE,
    num_classes: int = NUM_CLASSES,
    bn_momentum: float = 0.99,
    head: str = "gap",
    hidden_dense: tuple[int, ...] = (),
) -> keras.Model:
    """A small CNN: stages of ``convs_per_stage`` conv blocks and a 2×2 max pooling, then global
    average pooling and a Dense layer that outputs logits (use ``from_logits=True``).
    ``bn_momentum`` goes to every BN layer (Keras's default 0.99; notebook 03 uses 0.9).
    ``head="flatten"`` puts a Flatten where the global average pooling is, and changes nothing
    else (notebook 05). ``hidden_dense`` adds hidden fully connected layers (Dense + ReLU, one per
    entry, that many units) between the pooling and the output layer (notebook 06).

    With ``order="bn-relu-conv"`` it follows the pre-activation ResNet: the first convolution
    sees the image directly (no BN-ReLU before it), and one BN-ReLU runs before the pooling head.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    stack: list[keras.Layer] = [keras.Input(shape=input_shape)]
    for s, width in enumerate(widths, start=1):
        for c in range(1, convs_per_stage + 1):
            block = f"s{s}c{c}"
            if order == "bn-relu-conv" and s == 1 and c == 1:
                stack.append(layers.Conv2D(width, 3, padding="same", name=f"{block}_conv"))
            else:
                stack.extend(conv_block(width, order, name=block, bn_momentum=bn_momentum))
        if s < len(widths):
            stack.append(layers.MaxPooling2D(2, name=f"s{s}_pool"))
    if order == "bn-relu-conv":
        stack.extend(
            [layers.BatchNormalization(momentum=bn_momentum, name="head_bn"), layers.ReLU(name="head_relu")]
        )
    if head not in ("gap", "flatten"):
        raise ValueError(f"未知的分類頭 / unknown head {head!r}; choose gap or flatten")
    stack.append(
        layers.GlobalAveragePooling2D(name="gap") if head == "gap" else layers.Flatten(name="flatten")
    )
    for i, units in enumerate(hidden_dense, start=1):
        stack += [layers.Dense(units, name=f"fc{i}"), layers.ReLU(name=f"fc{i}_relu")]
    stack.append(layers.Dense(num_classes, name="logits", dtype="float32"))  # float32 under mixed precision
    suffix = ("" if head == "gap" else "_flatten") + "".join(f"_fc{units}" for units in hidden_dense)
    return keras.Sequential(stack, name=f"small_cnn_{order.replace('-', '_')}{suffix}")


#: One letter per layer kind, for :func:`layer_letters`.
LAYER_LETTERS = {
    "Conv2D": "C",
    "BatchNormalization": "B",
    "ReLU": "R",
    "MaxPooling2D": "P",
    "GlobalAveragePooling2D": "G",
    "Flatten": "F",
    "Dense": "D",
    "Add": "+",
}


def layer_letters(model: keras.Model) -> str:
    """A model's layers in order, one letter each (:data:`LAYER_LETTERS`; ``?`` for any other
    kind): ``small_cnn("conv-bn-relu")`` is ``C B R C B R P C B R …``."""
    return " ".join(LAYER_LETTERS.get(type(layer).__name__, "?") for layer in model.layers)


#: Heads of :func:`keras_example_cnn`: the original, GAP in place of the Flatten only, and GAP in
#: place of the whole Flatten → Dense(512) → ReLU → Dropout part.
HEADS = ("flatten", "gap-dense512", "gap")


def keras_example_cnn(
    input_shape: tuple[int, int, int] = IMAGE_SHAPE, num_classes: int = NUM_CLASSES, head: str = "flatten"
) -> keras.Model:
    """The Keras 2 ``cifar10_cnn`` example in Keras 3: 4 conv layers, 2 poolings, then a head.

    ``head="flatten"`` is the original, layer for layer (which used ``input_shape=`` on the first
    layer; Keras 3 uses ``keras.Input``): Flatten → Dense(512) → ReLU → Dropout(0.5) → Dense →
    softmax; 1,250,858 parameters, 1,180,160 of them in the Dense(512). ``head="gap-dense512"``
    puts a GlobalAveragePooling2D where the Flatten is and keeps the rest (the fair comparison of
    notebook 05: one thing changed); ``head="gap"`` replaces the whole Flatten → Dense(512) →
    ReLU → Dropout part with GlobalAveragePooling2D (the smallest head).
    """
    import keras  # noqa: PLC0415 - TensorFlow is slow to import
    from keras import layers  # noqa: PLC0415

    if head not in HEADS:
        raise ValueError(f"未知的分類頭 / unknown head {head!r}; choose one of {', '.join(HEADS)}")
    body = [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, (3, 3), padding="same", name="conv1"),
        layers.Activation("relu"),
        layers.Conv2D(32, (3, 3), name="conv2"),
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool1"),
        layers.Dropout(0.25),
        layers.Conv2D(64, (3, 3), padding="same", name="conv3"),
        layers.Activation("relu"),
        layers.Conv2D(64, (3, 3), name="conv4"),
        layers.Activation("relu"),
        layers.MaxPooling2D(pool_size=(2, 2), name="pool2"),
        layers.Dropout(0.25),
    ]
    if head == "gap":
        top = [layers.GlobalAveragePooling2D(name="gap")]
    else:
        top = [
            layers.Flatten(name="flatten")
            if head == "flatten"
            else layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(512, name="dense512"),
            layers.Activation("relu"),
            layers.Dropout(0.5),
        ]
    top += [
        layers.Dense(num_classes, name="logits"),
        layers.Activation("softmax", dtype="float32"),  # float32 even under mixed precision
    ]
    suffix = "" if head == "flatten" else "_" + head.replace("-", "_")
    return keras.Sequential(body + top, name=f"keras_cifar10_cnn{suffix}")


def layer_differences(model_a: keras.Model, model_b: keras.Model) -> list[tuple[str, str]]:
    """The (type in ``model_a``, type in ``model_b``) of every position where two models with the
    same number of layers have layers of different types: what a fair comparison changed."""
    pairs = zip(model_a.layers, model_b.layers, strict=True)
    return [(type(a).__name__, type(b).__name__) for a, b in pairs if type(a) is not type(b)]


def parameter_table(model: keras.Model):
    """A pandas DataFrame of the layers that have parameters: count and share of the total."""
    total = model.count_params()
    rows = [
        {
            "層 (layer)": layer.name,
            "種類 (type)": type(layer).__name__,
            "參數 (params)": layer.count_params(),
            "佔比 (share)": f"{layer.count_params() / total:.1%}",
        }
        for layer in model.layers
        if layer.count_params()
    ]
    rows.append(
        {"層 (layer)": "合計 (total)", "種類 (type)": "", "參數 (params)": total, "佔比 (share)": "100.0%"}
    )
    return pd.DataFrame(rows).set_index("層 (layer)")


def improved_cnn() -> keras.Model:
    """Notebook 06's improved model: Conv→BN→ReLU blocks (32, 64, 128 filters), max pooling, GAP,
    BN momentum 0.9 (lesson 03's conclusion: Keras's default 0.99 lags in short runs).

    About 290,000 parameters, less than a quarter of the Keras example's 1,250,858. The same model
    as lesson 05's deeper BN body with the GAP head (``benchmarks.train`` recipe ``deep-gap``).
    """
    model = small_cnn("conv-bn-relu", widths=(32, 64, 128), bn_momentum=0.9)
    model.name = "improved_cnn"
    return model


FAST_CNN_WIDTHS = (32, 64, 128)
#: airbench94's widths (Keller Jordan, 2024): :func:`fast_cnn` at these is the GPU reference with
#: airbench's tricks (:data:`helpers.training.GPU_FAST_RECIPE`).
AIRBENCH_WIDTHS = (64, 256, 256)


def fast_cnn(
    widths: tuple[int, ...] = FAST_CNN_WIDTHS,
    stem_filters: int = 24,
    input_shape: tuple[int, int, int] = IMAGE_SHAPE,
    num_classes: int = NUM_CLASSES,
) -> keras.Model:
    """The fast CPU recipe's model (homework 07's reference, notebook 06's "going further").

    Shaped after airbench (Keller Jordan, 2024), scaled down for a laptop CPU:

    - inputs in [0, 1]; a ``Normalization`` layer inside the model standardises them with the
      CIFAR-10 channel means and standard deviations, so the saved model needs no preprocessing;
    - a 2×2 ``stem`` convolution with ReLU (24 filters) instead of a first 3×3 block;
    - one stage per width: 3×3 conv → 2×2 max pooling → BN → ReLU → 3×3 conv → BN → ReLU.
      Pooling right after the first convolution (not after the block) is the speed trick: max
      pooling commutes with ReLU and with BN's per-channel increasing affine map (when its scale
      is positive and its statistics fixed, as at inference; in training the batch statistics
      are taken over the pooled pixels), so BN and ReLU then run on 4× fewer pixels;
    - global average pooling and a Dense layer that outputs logits (float32).

    With the default widths (32, 64, 128): 296,002 parameters and about 20 M multiply-adds per
    image, 1,100 images/s of training on a 2-core CPU at batch 256.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    stack: list[keras.Layer] = [
        keras.Input(shape=input_shape),
        layers.Normalization(
            mean=list(CIFAR10_MEAN), variance=[s**2 for s in CIFAR10_STD], name="standardize"
        ),
        layers.Conv2D(stem_filters, 2, padding="valid", activation="relu", name="stem"),
    ]
    for s, width in enumerate(widths, start=1):
        stack += [
            layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"s{s}_conv1"),
            layers.MaxPooling2D(2, name=f"s{s}_pool"),
            layers.BatchNormalization(momentum=0.9, name=f"s{s}_bn1"),
            layers.ReLU(name=f"s{s}_relu1"),
            layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"s{s}_conv2"),
            layers.BatchNormalization(momentum=0.9, name=f"s{s}_bn2"),
            layers.ReLU(name=f"s{s}_relu2"),
        ]
    stack += [
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(num_classes, name="logits", dtype="float32"),
    ]
    return keras.Sequential(stack, name="fast_cnn")


RESNET9_WIDTHS = (64, 128, 256, 512)


def resnet9(
    widths: tuple[int, int, int, int] = RESNET9_WIDTHS,
    input_shape: tuple[int, int, int] = IMAGE_SHAPE,
    num_classes: int = NUM_CLASSES,
) -> keras.Model:
    """ResNet-9 (David Page's DAWNBench model, 2018) in Keras 3: the GPU reference solution.

    ``prep`` conv → ``layer1`` conv + 2×2 max pool + residual of two convs → ``layer2`` conv +
    pool → ``layer3`` conv + pool + residual → global max pooling → Dense → logits × 0.125.
    Every conv is a :func:`conv_block` (3×3, no bias, BN, ReLU). Inputs in [0, 1], standardised inside the
    model as in :func:`fast_cnn`. 6.57 M parameters with the default widths: far over the
    homework's budget, a "going further" model for a GPU (mixed precision and XLA via
    :func:`helpers.training.build` / :func:`helpers.training.compile_model`).
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    def conv_bn(x, filters: int, name: str):
        for layer in conv_block(filters, "conv-bn-relu", name=name, bn_momentum=0.9):
            x = layer(x)
        return x

    def residual(x, filters: int, name: str):
        y = conv_bn(conv_bn(x, filters, f"{name}_res1"), filters, f"{name}_res2")
        return layers.Add(name=f"{name}_add")([x, y])

    prep, w1, w2, w3 = widths
    inputs = keras.Input(shape=input_shape)
    x = layers.Normalization(
        mean=list(CIFAR10_MEAN), variance=[s**2 for s in CIFAR10_STD], name="standardize"
    )(inputs)
    x = conv_bn(x, prep, "prep")
    x = layers.MaxPooling2D(2, name="layer1_pool")(conv_bn(x, w1, "layer1"))
    x = residual(x, w1, "layer1")
    x = layers.MaxPooling2D(2, name="layer2_pool")(conv_bn(x, w2, "layer2"))
    x = layers.MaxPooling2D(2, name="layer3_pool")(conv_bn(x, w3, "layer3"))
    x = residual(x, w3, "layer3")
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    x = layers.Dense(num_classes, use_bias=False, name="dense")(x)
    outputs = layers.Rescaling(0.125, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="resnet9")


#: The two residual units of He et al. 2016, "Identity Mappings in Deep Residual Networks".
UNITS = ("original", "preact")


def residual_unit(x, filters: int, unit: str, stride: int = 1, name: str = "unit"):
    """One residual unit of :func:`cifar_resnet` (Functional API), as He et al. 2016 (Fig. 1 and 4)
    draw them:

    - ``original`` (ResNet v1): conv → BN → ReLU → conv → BN, added to the shortcut, **ReLU after
      the addition**;
    - ``preact`` (full pre-activation, ResNet v2): BN → ReLU → conv → BN → ReLU → conv, added to
      the shortcut, **nothing after**: the shortcut path from unit to unit is a clean identity.

    The shortcut is the identity, except in a unit that halves the size or changes the width
    (``stride`` 2): there a 1×1 convolution with stride 2 projects it (the paper's option B; its
    CIFAR nets pad with zeros, option A). In the pre-activation unit the projection reads the
    pre-activated input, as in the paper's code. Convolutions that BN follows have no bias.
    """
    from keras import layers  # noqa: PLC0415

    def conv(filters_: int, size: int, stride_: int, suffix: str):
        return layers.Conv2D(
            filters_, size, strides=stride_, padding="same", use_bias=False, name=f"{name}_{suffix}"
        )

    def bn(suffix: str):
        return layers.BatchNormalization(momentum=0.9, name=f"{name}_{suffix}")

    if unit not in UNITS:
        raise ValueError(f"未知的殘差單元 / unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    project = stride != 1 or x.shape[-1] != filters
    if unit == "original":
        y = layers.ReLU(name=f"{name}_relu1")(bn("bn1")(conv(filters, 3, stride, "conv1")(x)))
        y = bn("bn2")(conv(filters, 3, 1, "conv2")(y))
        shortcut = bn("proj_bn")(conv(filters, 1, stride, "proj")(x)) if project else x
        return layers.ReLU(name=f"{name}_relu_out")(layers.Add(name=f"{name}_add")([shortcut, y]))
    pre = layers.ReLU(name=f"{name}_relu1")(bn("bn1")(x))
    y = conv(filters, 3, stride, "conv1")(pre)
    y = conv(filters, 3, 1, "conv2")(layers.ReLU(name=f"{name}_relu2")(bn("bn2")(y)))
    shortcut = conv(filters, 1, stride, "proj")(pre) if project else x
    return layers.Add(name=f"{name}_add")([shortcut, y])


def unit_sequence(unit: str, filters: int = 16) -> list[str]:
    """The layers of one :func:`residual_unit` (identity shortcut), in the order the data flows
    through them, read off a built Keras model: e.g. ``["Conv2D", "BatchNormalization", "ReLU",
    "Conv2D", "BatchNormalization", "Add", "ReLU"]`` for ``original``."""
    import keras  # noqa: PLC0415

    inputs = keras.Input(shape=(8, 8, filters))
    model = keras.Model(inputs, residual_unit(inputs, filters, unit, name=unit))
    return [type(layer).__name__ for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


#: CIFAR-10 test error (%) of He et al. 2016 ("Identity Mappings in Deep Residual Networks",
#: Table 3 and Table 4: median of 5 runs), original unit vs full pre-activation unit, by depth.
HE_2016_ERRORS = {"ResNet-110": (6.61, 6.37), "ResNet-164": (5.93, 5.46), "ResNet-1001": (7.61, 4.92)}


def cifar_resnet(
    depth: int = 20,
    unit: str = "original",
    widths: tuple[int, int, int] = (16, 32, 64),
    input_shape: tuple[int, int, int] = IMAGE_SHAPE,
    num_classes: int = NUM_CLASSES,
) -> keras.Model:
    """He et al.'s CIFAR ResNet (6n + 2 layers: ResNet-20 has n = 3) with ``original`` or
    ``preact`` residual units (:func:`residual_unit`).

    A 3×3 conv with 16 filters (BN + ReLU after it in the original net), three stages of n units
    at 32×32, 16×16 and 8×8 with 16, 32 and 64 filters (the first unit of stages 2 and 3 halves
    the size), then global average pooling and a Dense layer that outputs logits. The
    pre-activation net adds one BN → ReLU before the pooling (its last unit ends in an addition).
    Inputs in [0, 1], standardised inside the model as in :func:`fast_cnn`. ResNet-20: about
    0.27 M parameters.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    if (depth - 2) % 6 or depth < 8:
        raise ValueError(f"深度要是 6n + 2 / depth must be 6n + 2 (8, 14, 20, 32, 56, 110…), got {depth}")
    if unit not in UNITS:
        raise ValueError(f"未知的殘差單元 / unknown unit {unit!r}; choose one of {', '.join(UNITS)}")
    n = (depth - 2) // 6
    inputs = keras.Input(shape=input_shape)
    x = layers.Normalization(
        mean=list(CIFAR10_MEAN), variance=[s**2 for s in CIFAR10_STD], name="standardize"
    )(inputs)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(x)
    if unit == "original":
        x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(momentum=0.9, name="stem_bn")(x))
    for stage, filters in enumerate(widths, start=1):
        for k in range(1, n + 1):
            stride = 2 if stage > 1 and k == 1 else 1
            x = residual_unit(x, filters, unit, stride, name=f"stage{stage}_unit{k}")
    if unit == "preact":
        x = layers.ReLU(name="final_relu")(layers.BatchNormalization(momentum=0.9, name="final_bn")(x))
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"resnet{depth}_{unit}")


def keras_example_optimizer(
    learning_rate: float = 1e-4, decay: float = 1e-6, epsilon: float = 1e-7
) -> keras.optimizers.Optimizer:
    """``keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)`` of Keras 2, in Keras 3.

    Keras 2's ``decay`` lowered the rate after every batch as ``lr / (1 + decay * iterations)``;
    Keras 3 removed ``decay`` and expresses the same thing as a schedule, ``InverseTimeDecay``
    with ``decay_steps=1``. Both use rho 0.9 and start the average of squared gradients ``v`` at 0.

    The step differs: Keras 2 moved a weight by ``lr · g / (√v + ε)``, Keras 3 by
    ``lr · g / √(v + ε)``. With the same ε = 1e-7 inside the root, a weight whose gradients are
    small (√v ≈ 1e-4) moves about 3× less than in Keras 2. So the port passes ``ε²`` to Keras 3:
    ``√(v + ε²)`` lies between ``√v`` and ``√v + ε``, so it differs from Keras 2's ``√v + ε`` by
    less than ``ε`` (``tests/test_models.py`` compares 300 steps with the Keras 2 formula in NumPy).
    """
    import keras  # noqa: PLC0415

    schedule = keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=learning_rate, decay_steps=1, decay_rate=decay
    )
    return keras.optimizers.RMSprop(learning_rate=schedule, rho=0.9, epsilon=epsilon**2)


def keras_example_augmentation(seed: int = 0) -> keras.Sequential:
    """The example's ``ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
    horizontal_flip=True)`` as Keras 3 preprocessing layers.

    ``ImageDataGenerator`` filled the uncovered border with the nearest pixel and interpolated
    bilinearly; ``RandomTranslation`` does the same with ``fill_mode="nearest"``. Apply it in the
    tf.data pipeline (``make_dataset(augment=...)``), where it runs on the CPU beside training.
    """
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    return keras.Sequential(
        [
            layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", interpolation="bilinear", seed=seed),
            layers.RandomFlip("horizontal", seed=seed + 1),
        ],
        name="keras_example_augmentation",
    )


def augment_with_layers(augmentation: keras.Sequential):
    """Adapt a Keras augmentation model to ``make_dataset(augment=...)``'s ``(images, seed)`` form."""

    def apply(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        del seed  # the layers carry their own seeds
        return augmentation(images, training=True)

    return apply
