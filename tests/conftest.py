"""The tests' fakes, in one place: fake CIFAR-10 batch files, folders and archives (never the real
dataset), and small random training data.

The run mode and TensorFlow's log level for the whole session are set in the root
``conftest.py`` (nbval kernels inherit them).
"""

from __future__ import annotations

import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from helpers.data import BATCH_FILES, FOLDER_NAME, Split

PER_BATCH = 20  # images per fake batch file


def fake_batch(index: int, count: int = PER_BATCH) -> dict[bytes, object]:
    """A batch in the official format: random pixels (seeded by ``index``), labels cycling from ``index``."""
    rng = np.random.default_rng(index)
    data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
    labels = [(i + index) % 10 for i in range(count)]
    return {
        b"batch_label": f"fake batch {index}".encode(),
        b"labels": labels,
        b"data": data,
        b"filenames": [f"img_{index}_{i}.png".encode() for i in range(count)],
    }


def write_fake_folder(root: Path, per_batch: int = PER_BATCH) -> Path:
    """Write ``root/cifar-10-batches-py`` with all six batch files; return that folder."""
    folder = root / FOLDER_NAME
    folder.mkdir(parents=True)
    for index, name in enumerate(BATCH_FILES):
        with open(folder / name, "wb") as f:
            pickle.dump(fake_batch(index, per_batch), f, protocol=4)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"x"] * 10}, f, protocol=4)
    return folder


@pytest.fixture
def fake_cifar(tmp_path: Path) -> Path:
    """A complete fake ``cifar-10-batches-py`` folder (20 images per batch)."""
    return write_fake_folder(tmp_path / "data")


@pytest.fixture
def fake_archive(tmp_path: Path) -> Path:
    """A fake ``cifar-10-python.tar.gz`` laid out like the official archive."""
    folder = write_fake_folder(tmp_path / "src")
    archive = tmp_path / "archive" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=FOLDER_NAME)
    return archive


@pytest.fixture
def fake_data() -> Callable[..., tuple[Split, Split]]:
    """Random uint8 images and cycling labels: ``fake_data(n_train, n_test, seed=0)`` →
    ``((x, y), (x[:n_test], y[:n_test]))``, shaped like CIFAR-10, for training tests that only
    need the pipeline to run."""

    def make(n_train: int, n_test: int, seed: int = 0) -> tuple[Split, Split]:
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 256, size=(n_train, 32, 32, 3), dtype=np.uint8)
        y = np.arange(n_train) % 10
        return (x, y), (x[:n_test], y[:n_test])

    return make
