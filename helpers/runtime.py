"""What the setup cell at the top of every notebook calls."""

from __future__ import annotations

import os

from helpers.modes import RunMode, get_mode


def setup_notebook() -> RunMode:
    """Quiet TensorFlow's start-up logs, set up the Chinese font, print a one-line report.

    Returns the run mode, which the notebook then uses for epochs and data sizes.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from helpers.plots import use_chinese_font  # noqa: PLC0415

    use_chinese_font()
    mode = get_mode()
    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU × {len(gpus)}" if gpus else "CPU（沒有 GPU / no GPU）"
    print(f"TensorFlow {tf.__version__}｜Keras {keras.__version__}｜{device}")
    print(mode.describe())
    return mode
