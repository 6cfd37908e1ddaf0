"""Convolution, pooling and batch normalisation written out in NumPy, to compare with Keras.

These are teaching implementations: short loops over output positions, no tricks. Notebook 02
prints their source next to the Keras layer that computes the same thing.

Used in notebooks 02, 03, 04.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def output_size(size: int, kernel: int, stride: int = 1, padding: str | int = "valid") -> int:
    """Output height (or width) of a convolution or pooling layer.

    ``padding`` is ``"valid"`` (no padding), ``"same"`` (Keras: output ``ceil(size / stride)``),
    or a number ``P`` of zeros added on *each* side: ``floor((size + 2P - kernel) / stride) + 1``.
    """
    if padding == "same":
        return math.ceil(size / stride)
    pad = 0 if padding == "valid" else int(padding)
    return (size + 2 * pad - kernel) // stride + 1


def same_padding(size: int, kernel: int, stride: int = 1) -> tuple[int, int]:
    """Zeros Keras adds (before, after) for ``padding="same"``; the extra one goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_params(kernel: int, channels_in: int, filters: int, bias: bool = True) -> int:
    """Parameters of a Conv2D layer: ``(K·K·C_in + 1)·C_out`` (without the ``+ 1`` if no bias)."""
    return (kernel * kernel * channels_in + (1 if bias else 0)) * filters


def conv2d(
    x: np.ndarray,
    kernels: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int = 1,
    padding: str = "valid",
) -> np.ndarray:
    """2-D convolution of one NHWC batch, as ``keras.layers.Conv2D`` computes it.

    Args:
        x: input ``(N, H, W, C_in)``.
        kernels: weights ``(K, K, C_in, C_out)`` (Keras's layout).
        bias: ``(C_out,)`` or ``None``.
        stride: step between windows, the same along height and width.
        padding: ``"valid"`` or ``"same"`` (zeros, placed as Keras places them).

    Each output value is the sum, over a K×K window and all input channels, of input × weight,
    plus the bias. (Like every deep-learning library, this is strictly a cross-correlation: the
    kernel is not flipped.)
    """
    n, height, width, _ = x.shape
    k, _, _, c_out = kernels.shape
    if padding == "same":
        top, bottom = same_padding(height, k, stride)
        left, right = same_padding(width, k, stride)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h = (x.shape[1] - k) // stride + 1
    out_w = (x.shape[2] - k) // stride + 1
    out = np.zeros((n, out_h, out_w, c_out), dtype=np.float64)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * stride : i * stride + k, j * stride : j * stride + k, :]  # (N, K, K, C_in)
            # multiply the window by every kernel and add up over K, K and C_in
            out[:, i, j, :] = np.tensordot(window, kernels, axes=([1, 2, 3], [0, 1, 2]))
    if bias is not None:
        out += bias
    return out


def pool2d(x: np.ndarray, size: int = 2, stride: int | None = None, mode: str = "max") -> np.ndarray:
    """Max or average pooling of an NHWC batch (``"valid"`` padding, as Keras's default)."""
    stride = stride or size
    n, height, width, channels = x.shape
    out_h = (height - size) // stride + 1
    out_w = (width - size) // stride + 1
    out = np.zeros((n, out_h, out_w, channels), dtype=np.float64)
    reduce = np.max if mode == "max" else np.mean
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * stride : i * stride + size, j * stride : j * stride + size, :]
            out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


def batch_norm(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    mean: np.ndarray | None = None,
    var: np.ndarray | None = None,
    epsilon: float = 1e-3,
) -> np.ndarray:
    """Batch normalisation of an NHWC batch, per channel: ``gamma · (x − μ) / √(σ² + ε) + β``.

    Training mode: leave ``mean`` and ``var`` as ``None`` and the batch's own statistics (over
    N, H and W) are used. Inference mode: pass the moving averages. ``epsilon`` defaults to Keras's.
    """
    if mean is None or var is None:
        mean = x.mean(axis=(0, 1, 2))
        var = x.var(axis=(0, 1, 2))
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def receptive_fields(layers: Iterable[Any]) -> list[tuple[str, int, int]]:
    """How much of the input one output pixel of each convolution or pooling layer sees: a list of
    ``(layer name, receptive field, jump)``, in pixels of the input image.

    Starting from one pixel (field 1, jump 1), a layer with kernel (or pool) size k and stride s
    grows the field by ``(k − 1) × jump`` and multiplies the jump (the distance in input pixels
    between neighbouring outputs) by s. Layers without a window (BN, ReLU, Dropout) change
    neither; padding does not change them either. Takes a model's ``layers`` or any list of layers.
    """
    field, jump, rows = 1, 1, []
    for layer in layers:
        size = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        if size is None:
            continue
        stride = layer.strides[0]
        field += (size[0] - 1) * jump
        jump *= stride
        rows.append((layer.name, field, jump))
    return rows
