"""One place that makes runs reproducible: Python, NumPy and the Keras backend seeded together.

Used in notebooks 01, 02, 03, 04, 05, 06, 07.
"""

from __future__ import annotations

import os

DEFAULT_SEED = 42


def set_seed(seed: int = DEFAULT_SEED, *, deterministic: bool | None = None) -> int:
    """Seed Python's ``random``, NumPy and TensorFlow (through ``keras.utils.set_random_seed``).

    Args:
        seed: the seed.
        deterministic: also make TensorFlow ops deterministic
            (``tf.config.experimental.enable_op_determinism``). ``None`` (default) turns it on
            when no GPU is visible: CPU results then repeat exactly, while a GPU keeps its speed.

    Returns:
        The seed, so a notebook can print what it used.
    """
    import keras  # noqa: PLC0415 - TensorFlow is slow to import

    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started from here on
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() != "tensorflow":
        return seed  # JAX's random numbers come from explicit keys: repeatable as they are
    import tensorflow as tf  # noqa: PLC0415

    if deterministic is None:
        deterministic = not tf.config.list_physical_devices("GPU")
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return seed
