"""Plots with Chinese labels that render as Chinese (not empty boxes), locally and on Colab.

matplotlib ships no CJK font and Colab has none installed. The course depends on the PyPI
package ``cvttf-NotoSansCJK-Regular``, which carries a single Traditional-Chinese OpenType file,
``NotoSansCJKtc-Regular.otf`` (Noto Sans CJK TC, SIL Open Font License). A single ``.otf`` is
used on purpose: matplotlib 3.10 reads only the first face of a ``.ttc`` collection, which for
the Noto CJK collection is the Japanese one. When the package is missing, a Traditional-Chinese
font already installed on the system is used (Windows, macOS and Linux names are tried).

Used in notebooks 01, 02, 03, 04, 05, 06, 07.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

from helpers.data import CLASS_NAMES, CLASS_NAMES_ZH, NUM_CLASSES

FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
FONT_FILE = "NotoSansCJKtc-Regular.otf"
#: Traditional-Chinese fonts that may already be installed (Linux, Windows, macOS).
SYSTEM_FONTS = (
    "Noto Sans CJK TC",
    "Noto Sans TC",
    "Microsoft JhengHei",
    "PingFang TC",
    "Heiti TC",
    "AR PL UMing TW",
)
LATIN_FONT = "DejaVu Sans"

_font_name: str | None = None


def bundled_font_path() -> Path | None:
    """Path of the Noto Sans CJK TC ``.otf`` from the pip package, or ``None`` if not installed."""
    try:
        path = resources.files(FONT_PACKAGE) / FONT_FILE
    except ModuleNotFoundError:
        return None
    return Path(str(path)) if path.is_file() else None


def use_chinese_font() -> str | None:
    """Make matplotlib draw Chinese text; returns the font family used (``None``: none found).

    Latin letters and digits keep matplotlib's default font; characters it lacks fall back to
    the Chinese font, glyph by glyph. Safe to call any number of times.
    """
    global _font_name

    if _font_name is None:
        path = bundled_font_path()
        if path is not None:
            font_manager.fontManager.addfont(str(path))
            _font_name = font_manager.FontProperties(fname=str(path)).get_name()
        else:
            installed = {font.name for font in font_manager.fontManager.ttflist}
            _font_name = next((name for name in SYSTEM_FONTS if name in installed), None)
        if _font_name is None:
            warnings.warn(
                "找不到中文字型，圖中的中文可能顯示成方框；請執行 pip install cvttf-NotoSansCJK-Regular。\n"
                "No Chinese font found, Chinese text may show as boxes; "
                "run: pip install cvttf-NotoSansCJK-Regular",
                stacklevel=2,
            )
            return None
    # A list of families: each glyph is drawn from the first family that has it.
    mpl.rcParams["font.family"] = [LATIN_FONT, _font_name]
    return _font_name


def class_label(index: int, english: bool = True) -> str:
    """``"飛機 airplane"`` for class 0 (or only ``"飛機"`` with ``english=False``)."""
    zh = CLASS_NAMES_ZH[int(index)]
    return f"{zh} {CLASS_NAMES[int(index)]}" if english else zh


def plot_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    *,
    cols: int = 8,
    title: str | None = None,
    cmap: str | None = None,
    size: float = 1.5,
    value_range: tuple[float, float] | None = None,
):
    """A grid of images (H×W gray or H×W×3 colour), each with an optional title.

    uint8 images are drawn on 0–255, one-channel float images with their own range
    (so feature maps and filters with negative values still show), or all on one shared
    ``value_range`` (so that their brightness can be compared). Returns the Figure.
    """

    use_chinese_font()
    count = len(images)
    cols = min(cols, max(count, 1))
    rows = max(1, -(-count // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, (size + 0.25) * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= count:
            continue
        image = np.asarray(images[i])
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim == 2:
            vmin, vmax = (0, 255) if image.dtype == np.uint8 else (value_range or (None, None))
            ax.imshow(image, cmap=cmap or "gray", vmin=vmin, vmax=vmax, interpolation="nearest")
        else:
            ax.imshow(image, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_images(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    cols: int = 8,
    count: int | None = None,
    title: str | None = None,
):
    """A grid of NHWC images, each titled with its class in Chinese and English."""
    flat_labels = np.asarray(labels).reshape(-1)
    count = min(len(images), count if count is not None else len(images))
    titles = [class_label(label).replace(" ", "\n") for label in flat_labels[:count]]
    return plot_grid(np.asarray(images[:count]), titles, cols=cols, title=title)


def plot_curves(
    curves: dict[str, list[list[float]]],
    ylabel: str,
    *,
    ax=None,
    title: str | None = None,
):
    """One line per name: the mean over runs per epoch, shaded between the lowest and highest run."""

    use_chinese_font()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    for name, runs in curves.items():
        values = np.full((len(runs), max(len(run) for run in runs)), np.nan)
        # runs of different lengths: each epoch over the runs that reached it
        for row, run in zip(values, runs, strict=True):
            row[: len(run)] = run
        epochs = np.arange(1, values.shape[1] + 1)
        (line,) = ax.plot(epochs, np.nanmean(values, axis=0), marker="o", markersize=3, label=name)
        if len(values) > 1:
            lowest, highest = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
            ax.fill_between(epochs, lowest, highest, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax.figure


def mark_claims(ax, claims: dict[int, float], who: str = "範例說") -> None:
    """Draw claims ``{epoch: accuracy}`` on a curve plot: a dotted line at each claimed accuracy,
    a marker at its epoch, labelled like "範例說 25 epoch 75%"."""
    for epoch, claimed in sorted(claims.items()):
        ax.axhline(claimed, color="gray", linestyle=":", linewidth=1)
        ax.plot([epoch], [claimed], marker="*", markersize=10, color="gray", linestyle="none")
        ax.annotate(
            f"{who} {epoch} epoch {claimed:.0%}",
            (1, claimed),
            xytext=(0, 3),
            textcoords="offset points",
            fontsize=8,
            color="gray",
        )


def plot_class_counts(splits: dict[str, np.ndarray], title: str | None = None):
    """Bar chart of how many images each class has, one group of bars per split.

    ``splits`` maps a split's display name (e.g. ``"訓練集 train"``) to its labels.
    Returns the matplotlib Figure.
    """

    use_chinese_font()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    positions = np.arange(NUM_CLASSES)
    width = 0.8 / max(1, len(splits))
    for k, (name, labels) in enumerate(splits.items()):
        counts = class_counts(labels)
        bars = ax.bar(positions + k * width, counts, width=width, label=name)
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(positions + width * (len(splits) - 1) / 2)
    ax.set_xticklabels([class_label(i).replace(" ", "\n") for i in range(NUM_CLASSES)])
    ax.set_ylabel("張數 (images)")
    ax.set_title(title or "每個類別的張數（class balance）")
    ax.legend()
    fig.tight_layout()
    return fig


def class_counts(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """How many labels fall in each of the 10 classes."""
    return np.bincount(np.asarray(labels).reshape(-1).astype(int), minlength=NUM_CLASSES)


def plot_confusion_matrix(matrix: np.ndarray, title: str | None = None):
    """A confusion matrix with Chinese and English class names; rows are the true classes."""

    use_chinese_font()
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(matrix, cmap="Blues")
    names = [class_label(i).replace(" ", "\n") for i in range(NUM_CLASSES)]
    ax.set_xticks(range(NUM_CLASSES), names, fontsize=7)
    ax.set_yticks(range(NUM_CLASSES), names, fontsize=7)
    ax.set_xlabel("模型的預測 (predicted)")
    ax.set_ylabel("真正的類別 (true)")
    threshold = matrix.max() / 2
    for i in range(NUM_CLASSES):
        for j in range(NUM_CLASSES):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(title or "混淆矩陣 (confusion matrix)")
    fig.tight_layout()
    return fig


#: How :func:`plot_residual_units` labels Keras layer classes.
UNIT_LABELS = {"Conv2D": "3×3 卷積 conv", "BatchNormalization": "BN", "ReLU": "ReLU", "Add": "⊕ 相加 add"}


def plot_residual_units(sequences: dict[str, list[str]], titles: dict[str, str] | None = None):
    """Residual units side by side, drawn from their layer sequences (input at the bottom): the
    residual branch as boxes up to the addition, the identity shortcut as an arrow beside it, and
    whatever follows the addition above it (see :func:`helpers.models.unit_sequence`)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: PLC0415

    use_chinese_font()
    fig, axes = plt.subplots(1, len(sequences), figsize=(3.4 * len(sequences), 5.6))
    for ax, (name, layers) in zip(np.atleast_1d(axes), sequences.items(), strict=True):
        labels = ["輸入 x (input)", *(UNIT_LABELS.get(layer, layer) for layer in layers), "輸出 (output)"]
        add = 1 + layers.index("Add")
        ys = np.arange(len(labels), dtype=float)
        for k, (y, label) in enumerate(zip(ys, labels, strict=True)):
            after = k > add and k < len(labels) - 1  # on the shortcut's path too: not an identity
            color = "#fde0c5" if after else "#dbe9f6" if 0 < k < add else "#eeeeee"
            ax.add_patch(
                FancyBboxPatch((0.15, y - 0.3), 0.6, 0.6, boxstyle="round,pad=0.02", fc=color, ec="#555555")
            )
            ax.text(0.45, y, label, ha="center", va="center", fontsize=9)
            if k:
                ax.add_patch(
                    FancyArrowPatch((0.45, y - 0.7), (0.45, y - 0.3), arrowstyle="->", mutation_scale=10)
                )
        # the identity shortcut: out of the input's right side, up beside the branch, into the addition
        green = {"color": "#2a7f3f", "lw": 1.8}
        ax.plot([0.75, 0.95, 0.95], [ys[0], ys[0], ys[add]], **green)
        ax.add_patch(
            FancyArrowPatch((0.95, ys[add]), (0.75, ys[add]), arrowstyle="->", mutation_scale=12, **green)
        )
        ax.text(
            0.98,
            (ys[0] + ys[add]) / 2,
            "捷徑\nshortcut\n(identity)",
            color=green["color"],
            fontsize=8,
            va="center",
        )
        ax.set_xlim(0, 1.2)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.axis("off")
        ax.set_title((titles or {}).get(name, name), fontsize=10)
    fig.tight_layout()
    return fig
