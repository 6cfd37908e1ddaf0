"""One seed for Python, NumPy and TensorFlow."""

from __future__ import annotations

import random

import numpy as np

from helpers.seed import set_seed


def test_set_seed_repeats_python_numpy_and_tensorflow() -> None:
    import tensorflow as tf

    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), float(tf.random.uniform([]))

    assert set_seed(7) == 7
    first = draw()
    set_seed(7)
    assert draw() == first
    set_seed(8)
    assert draw() != first
