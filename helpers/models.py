"""Model builders: every model a notebook trains comes from here (none is copy-pasted).

``keras_example_cnn`` is the classic Keras 2 ``cifar10_cnn`` example, ported layer for layer to
Keras 3, with its optimizer (:func:`keras_example_optimizer`) and its data augmentation
(:func:`keras_example_augmentation`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpers.data import IMAGE_SHAPE, NUM_CLASSES

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf

#: Parameters of the Keras example model (the lesson's number, checked by the tests).
KERAS_EXAMPLE_PARAMS = 1_250_858


def keras_example_cnn(
    input_shape: tuple[int, int, int] = IMAGE_SHAPE, num_classes: int = NUM_CLASSES
) -> keras.Model:
    """The Keras 2 ``cifar10_cnn`` example in Keras 3: 4 conv layers, 2 poolings, Dense(512).

    Same layers, sizes and order as the original (which used ``input_shape=`` on the first
    layer; Keras 3 uses ``keras.Input``). The last layer is a softmax, as in the original.
    1,250,858 parameters, 1,180,160 of them in the Dense(512) after Flatten.
    """
    import keras  # noqa: PLC0415 - TensorFlow is slow to import
    from keras import layers  # noqa: PLC0415

    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), padding="same", name="conv1"),
            layers.Activation("relu"),
            layers.Conv2D(32, (3, 3), name="conv2"),
            layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(64, (3, 3), padding="same", name="conv3"),
            layers.Activation("relu"),
            layers.Conv2D(64, (3, 3), name="conv4"),
            layers.Activation("relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(512, name="dense512"),
            layers.Activation("relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, name="logits"),
            layers.Activation("softmax"),
        ],
        name="keras_cifar10_cnn",
    )


def keras_example_optimizer(learning_rate: float = 1e-4, decay: float = 1e-6) -> keras.optimizers.Optimizer:
    """``keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)`` of Keras 2, in Keras 3.

    Keras 2's ``decay`` lowered the rate after every batch as ``lr / (1 + decay * iterations)``;
    Keras 3 removed ``decay`` and expresses the same thing as a schedule, ``InverseTimeDecay``
    with ``decay_steps=1``. Keras 2's RMSprop defaults (rho 0.9, epsilon 1e-7) are Keras 3's.
    """
    import keras  # noqa: PLC0415

    schedule = keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=learning_rate, decay_steps=1, decay_rate=decay
    )
    return keras.optimizers.RMSprop(learning_rate=schedule)


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
