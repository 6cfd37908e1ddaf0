"""Plots with Chinese labels that render as Chinese (not empty boxes), locally and on Colab.

matplotlib ships no CJK font and Colab has none installed. The course depends on the PyPI
package ``cvttf-NotoSansCJK-Regular``, which carries a single Traditional-Chinese OpenType file,
``NotoSansCJKtc-Regular.otf`` (Noto Sans CJK TC, SIL Open Font License). A single ``.otf`` is
used on purpose: matplotlib 3.10 reads only the first face of a ``.ttc`` collection, which for
the Noto CJK collection is the Japanese one. When the package is missing, a Traditional-Chinese
font already installed on the system is used (Windows, macOS and Linux names are tried).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

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
    import matplotlib as mpl  # noqa: PLC0415
    from matplotlib import font_manager  # noqa: PLC0415

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


def plot_images(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    cols: int = 8,
    count: int | None = None,
    title: str | None = None,
    cmap: str | None = None,
):
    """A grid of images, each titled with its class in Chinese and English.

    ``images`` are NHWC (uint8 0–255 or float 0–1); one-channel images are drawn in gray.
    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    use_chinese_font()
    flat_labels = np.asarray(labels).reshape(-1)
    count = min(len(images), count if count is not None else len(images))
    rows = max(1, -(-count // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.75 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= count:
            continue
        image = np.asarray(images[i])
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
            ax.imshow(image, cmap=cmap or "gray", vmin=0, vmax=255 if image.max() > 1 else 1)
        else:
            ax.imshow(image, cmap=cmap)
        ax.set_title(class_label(flat_labels[i]).replace(" ", "\n"), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_class_counts(splits: dict[str, np.ndarray], title: str | None = None):
    """Bar chart of how many images each class has, one group of bars per split.

    ``splits`` maps a split's display name (e.g. ``"訓練集 train"``) to its labels.
    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

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
