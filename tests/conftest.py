"""Shared fixtures: small fake CIFAR-10 copies written by the tests (never the real dataset)."""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

# Tests run in the fast "smoke" mode unless told otherwise (nbval kernels inherit this).
os.environ.setdefault("COURSE_MODE", "smoke")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from helpers.data import BATCH_FILES, FOLDER_NAME

PER_BATCH = 20  # images per fake batch file


def fake_batch(index: int, count: int = PER_BATCH) -> dict[bytes, object]:
    """A batch in the official format: pixel values encode (batch, image, position)."""
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
