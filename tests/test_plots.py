"""Chinese text in plots renders with a real Chinese font (no "Glyph ... missing" warnings)."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import font_manager

from helpers.data import CLASS_NAMES_ZH
from helpers.plots import (
    bundled_font_path,
    class_counts,
    plot_class_counts,
    plot_images,
    use_chinese_font,
)


def render(fig) -> list[str]:
    """Draw a figure to PNG; return the messages of the missing-glyph warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def chinese_figure():
    fig, ax = plt.subplots()
    ax.set_title("每個類別的張數：" + "、".join(CLASS_NAMES_ZH))
    ax.set_xlabel("類別 (class)")
    return fig


@pytest.fixture
def restore_rc():
    saved = matplotlib.rcParams.copy()
    yield
    matplotlib.rcParams.update(saved)


def test_bundled_traditional_chinese_font_is_installed() -> None:
    path = bundled_font_path()
    assert path is not None and path.suffix == ".otf"
    assert font_manager.FontProperties(fname=str(path)).get_name() == "Noto Sans CJK TC"


def test_default_font_would_show_boxes(restore_rc) -> None:
    """The control: without the course font, matplotlib does warn (so the next test can fail)."""
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    assert render(chinese_figure())


def test_chinese_labels_render_without_missing_glyphs(restore_rc) -> None:
    assert use_chinese_font() == "Noto Sans CJK TC"
    assert use_chinese_font() == "Noto Sans CJK TC", "calling twice is harmless"
    assert render(chinese_figure()) == []


def test_course_plots_render_cleanly(restore_rc) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(10).reshape(-1, 1)
    grid = plot_images(images, labels, cols=5, title="CIFAR-10 範例")
    assert len([ax for ax in grid.axes if ax.images]) == 10
    assert grid.axes[3].get_title() == "貓\ncat"
    assert render(grid) == []
    gray = plot_images(images[..., :1], labels, cols=5)
    assert render(gray) == []
    bars = plot_class_counts({"訓練集 train": labels, "測試集 test": labels})
    assert render(bars) == []


def test_class_counts() -> None:
    assert class_counts(np.array([[0], [0], [9]])).tolist() == [2] + [0] * 8 + [1]


def test_grid_and_curves_render_cleanly(restore_rc) -> None:
    from helpers.plots import mark_claims, plot_curves, plot_grid

    maps = [np.random.default_rng(i).normal(size=(8, 8)) for i in range(3)]
    grid = plot_grid(maps, ["特徵圖 0", "特徵圖 1", "特徵圖 2"], cols=2, cmap="viridis")
    assert len([ax for ax in grid.axes if ax.images]) == 3
    assert render(grid) == []
    own = [ax.images[0].get_clim() for ax in grid.axes if ax.images]
    assert len(set(own)) == 3, "by default each map uses its own range"
    shared = plot_grid(maps, cols=3, value_range=(0.0, 5.0))
    assert {ax.images[0].get_clim() for ax in shared.axes if ax.images} == {(0.0, 5.0)}
    figure = plot_curves({"有 BN": [[0.3, 0.5], [0.35, 0.55]], "沒有 BN": [[0.2, 0.4]]}, "準確率")
    ax = figure.axes[0]
    assert [line.get_label() for line in ax.lines] == ["有 BN", "沒有 BN"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.325, 0.525])
    assert len(ax.collections) == 1, "only the model with several runs gets a min–max band"
    assert render(figure) == []
    ragged = plot_curves({"3 個種子": [[0.3, 0.5, 0.6], [0.4, 0.6], [0.5, 0.7]]}, "準確率")
    np.testing.assert_allclose(ragged.axes[0].lines[0].get_ydata(), [0.4, 0.6, 0.6])  # epoch 3: one run
    assert render(ragged) == []
    mark_claims(ragged.axes[0], {25: 0.75, 50: 0.79})
    labels = [text.get_text() for text in ragged.axes[0].texts]
    assert labels == ["範例說 25 epoch 75%", "範例說 50 epoch 79%"]
    assert render(ragged) == []


def test_confusion_matrix_plot(restore_rc) -> None:
    from helpers.plots import plot_confusion_matrix

    matrix = np.arange(100).reshape(10, 10)
    fig = plot_confusion_matrix(matrix)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][3] == "貓\ncat"
    assert len(ax.texts) == 100 and ax.texts[12].get_text() == "12"
    assert render(fig) == []
