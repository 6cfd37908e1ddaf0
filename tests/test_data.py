"""Unit tests of helpers.data: every source of load_cifar10, every bad input, subsets, pipelines."""

from __future__ import annotations

import pickle
import socket
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import data
from helpers.data import (
    CLASS_NAMES,
    CLASS_NAMES_ZH,
    CIFAR10Error,
    data_source,
    load_cifar10,
    make_dataset,
    normalize,
    random_flip_crop,
    stratified_subset,
)
from tests.conftest import PER_BATCH, fake_batch, write_fake_folder

N_TRAIN, N_TEST = 5 * PER_BATCH, PER_BATCH


def assert_keras_like(result) -> None:
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.shape == (N_TRAIN, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (N_TRAIN, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (N_TEST, 32, 32, 3) and x_test.dtype == np.uint8
    assert y_test.shape == (N_TEST, 1) and y_test.dtype == np.uint8
    # Pixel layout: the official rows hold the R plane, then G, then B, each 32x32 row-major.
    first = fake_batch(0)
    raw = first[b"data"][0]
    assert x_train[0, 0, 0].tolist() == [raw[0], raw[1024], raw[2048]]
    assert x_train[0, 1, 2, 0] == raw[32 + 2]
    assert y_train[:3, 0].tolist() == first[b"labels"][:3]
    assert y_test[0, 0] == fake_batch(5)[b"labels"][0]


def expect_error(*fragments: str):
    """pytest.raises for CIFAR10Error whose message holds every fragment, in zh-TW and English."""

    class _Checker:
        def __enter__(self):
            self._ctx = pytest.raises(CIFAR10Error)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            suppressed = self._ctx.__exit__(*exc)
            message = str(self.info.value)
            for fragment in fragments:
                assert fragment in message, f"{fragment!r} not in:\n{message}"
            assert "解決方法" in message and "Fix:" in message
            # The error replaces, rather than chains, whatever failed underneath.
            assert self.info.value.__suppress_context__ or self.info.value.__context__ is None
            return suppressed

    return _Checker()


# ---------------------------------------------------------------- sources


def test_class_names() -> None:
    assert CLASS_NAMES[0] == "airplane" and CLASS_NAMES[9] == "truck"
    assert CLASS_NAMES_ZH == ("飛機", "汽車", "鳥", "貓", "鹿", "狗", "青蛙", "馬", "船", "卡車")


def test_loads_batches_folder(fake_cifar: Path) -> None:
    assert_keras_like(load_cifar10(fake_cifar))


def test_loads_parent_folder(fake_cifar: Path) -> None:
    assert_keras_like(load_cifar10(str(fake_cifar.parent)))


def test_loads_from_env_var(fake_cifar: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIFAR10_DIR", str(fake_cifar))
    assert_keras_like(load_cifar10())


def test_argument_wins_over_env_var(fake_cifar: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "nowhere"))
    assert_keras_like(load_cifar10(fake_cifar))


def test_loads_archive_file_and_folder_holding_it(fake_archive: Path) -> None:
    assert_keras_like(load_cifar10(fake_archive))
    assert_keras_like(load_cifar10(fake_archive.parent))


def test_same_arrays_as_keras_own_loader(tmp_path: Path, monkeypatch) -> None:
    """Keras's load_data, pointed at the same files, returns exactly what we return."""
    from keras.src.datasets import cifar10

    fake_cifar = write_fake_folder(tmp_path, per_batch=10_000)  # Keras expects full-size batches
    monkeypatch.setattr(cifar10, "get_file", lambda *a, **k: str(fake_cifar.parent))
    (kx, ky), (kx_test, ky_test) = cifar10.load_data()
    (x, y), (x_test, y_test) = load_cifar10(fake_cifar)
    for ours, theirs in ((x, kx), (y, ky), (x_test, kx_test), (y_test, ky_test)):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        # np.array_equal, not np.testing's: the same check on 180 MB, without its NaN bookkeeping (3 s)
        assert np.array_equal(ours, theirs)


def test_uses_keras_cache_without_network(fake_cifar: Path, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "keras_home"
    cache = home / "datasets" / "cifar-10-batches-py-target"
    cache.mkdir(parents=True)
    fake_cifar.rename(cache / data.FOLDER_NAME)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(home))

    def no_network() -> bool:
        raise AssertionError("the network must not be probed when the cache is complete")

    monkeypatch.setattr(data, "_network_reachable", no_network)
    assert_keras_like(load_cifar10())


def test_downloads_through_keras_when_online(monkeypatch) -> None:
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(data, "_keras_cache_folder", lambda: None)
    monkeypatch.setattr(data, "_network_reachable", lambda: True)
    import keras

    arrays = (
        (np.zeros((50, 32, 32, 3), np.uint8), np.zeros((50, 1), np.uint8)),
        (np.zeros((10, 32, 32, 3), np.uint8), np.zeros((10, 1), np.uint8)),
    )
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", lambda: arrays)
    (x, _), (_, y_test) = load_cifar10()
    assert x.shape == (50, 32, 32, 3) and y_test.shape == (10, 1)


# ---------------------------------------------------------------- bad input


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_network_and_no_local_copy_fails_fast(monkeypatch) -> None:
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(data, "_keras_cache_folder", lambda: None)
    monkeypatch.setattr(data, "DOWNLOAD_HOST", ("127.0.0.1", closed_port()))
    import keras

    def must_not_download():
        raise AssertionError("Keras must not be asked to download without a network")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", must_not_download)
    start = time.monotonic()
    with expect_error("沒有網路", "No network and no local copy", "CIFAR10_DIR"):
        load_cifar10()
    assert time.monotonic() - start < 5


def test_failed_download_is_explained(monkeypatch) -> None:
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(data, "_keras_cache_folder", lambda: None)
    monkeypatch.setattr(data, "_network_reachable", lambda: True)
    from keras.src.datasets import cifar10

    def fail(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid: None -- boom")

    monkeypatch.setattr(cifar10, "get_file", fail)
    with expect_error("下載 CIFAR-10 失敗", "URL fetch failure", "CIFAR10_DIR"):
        load_cifar10()


def test_folder_that_does_not_exist(tmp_path: Path, monkeypatch) -> None:
    with expect_error("路徑不存在", "does not exist", str(tmp_path / "nope")):
        load_cifar10(tmp_path / "nope")
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "nope"))
    with expect_error("環境變數 CIFAR10_DIR", "the environment variable CIFAR10_DIR"):
        load_cifar10()


def test_folder_missing_a_batch_file(fake_cifar: Path) -> None:
    (fake_cifar / "data_batch_3").unlink()
    with expect_error("缺少 data_batch_3", "missing data_batch_3"):
        load_cifar10(fake_cifar)


def test_empty_folder(tmp_path: Path) -> None:
    with expect_error("data_batch_1, data_batch_2", "test_batch"):
        load_cifar10(tmp_path)


def test_truncated_batch_file_is_named(fake_cifar: Path) -> None:
    target = fake_cifar / "data_batch_2"
    target.write_bytes(target.read_bytes()[:1000])
    with expect_error("已損毀", "truncated or not a pickle", str(target)):
        load_cifar10(fake_cifar)


def test_non_pickle_batch_file_is_named(fake_cifar: Path) -> None:
    target = fake_cifar / "test_batch"
    target.write_text("<html>404 Not Found</html>")
    with expect_error("已損毀", str(target)):
        load_cifar10(fake_cifar)


def test_pickle_that_is_not_a_batch(fake_cifar: Path) -> None:
    target = fake_cifar / "data_batch_1"
    target.write_bytes(pickle.dumps({b"something": [1, 2, 3]}))
    with expect_error("不是 CIFAR-10 的批次檔", "Not a CIFAR-10 batch file", str(target)):
        load_cifar10(fake_cifar)


def test_bad_labels_are_rejected(fake_cifar: Path) -> None:
    batch = fake_batch(0)
    batch[b"labels"] = [42] * PER_BATCH
    (fake_cifar / "data_batch_1").write_bytes(pickle.dumps(batch))
    with expect_error("標籤不正確", "Bad labels"):
        load_cifar10(fake_cifar)


def test_pickle_cannot_run_code(fake_cifar: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (fake_cifar / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with expect_error("已損毀", "data_batch_1"):
        load_cifar10(fake_cifar)
    assert not marker.exists()


def test_archive_that_is_not_an_archive(tmp_path: Path) -> None:
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"definitely not gzip" * 100)
    with expect_error("不是可讀取的 CIFAR-10 壓縮檔", "Not a readable CIFAR-10 archive"):
        load_cifar10(archive)


def test_archive_with_other_content(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hello")
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "readme.txt", arcname="cifar-100-python/readme.txt")
    with expect_error("這不是 CIFAR-10 壓縮檔", "Not the CIFAR-10 archive"):
        load_cifar10(archive)


def test_truncated_archive(fake_archive: Path) -> None:
    fake_archive.write_bytes(fake_archive.read_bytes()[:3000])
    with expect_error("CIFAR-10", str(fake_archive)):
        load_cifar10(fake_archive)


# ---------------------------------------------------------------- subsets and normalisation


def test_stratified_subset_is_balanced_ordered_and_deterministic() -> None:
    y = np.repeat(np.arange(10), 50).reshape(-1, 1).astype(np.uint8)
    x = np.arange(500)
    xs, ys = stratified_subset(x, y, 100, seed=3)
    assert ys.shape == (100, 1) and ys.dtype == np.uint8
    assert np.bincount(ys.ravel(), minlength=10).tolist() == [10] * 10
    assert (np.diff(xs) > 0).all(), "original order is kept"
    assert (y[xs] == ys).all(), "images and labels stay paired"
    again, _ = stratified_subset(x, y, 100, seed=3)
    other, _ = stratified_subset(x, y, 100, seed=4)
    assert (xs == again).all() and not (xs == other).all()


def test_stratified_subset_remainder_and_errors() -> None:
    y = np.repeat(np.arange(10), 5)
    _, ys = stratified_subset(np.arange(50), y, 13)
    assert np.bincount(ys, minlength=10).tolist() == [2, 2, 2] + [1] * 7
    with pytest.raises(ValueError, match="subset size"):
        stratified_subset(np.arange(50), y, 51)
    with pytest.raises(ValueError, match="class 0 has only"):
        stratified_subset(np.arange(50), np.r_[np.zeros(1, int), np.ones(49, int)], 10)


def test_normalize() -> None:
    x = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    unit = normalize(x)
    assert unit.dtype == np.float32 and unit.min() == 0.0 and unit.max() == 1.0
    np.testing.assert_allclose(unit[0, 0, 0], np.array([0, 128, 255]) / 255, rtol=1e-6)


# ---------------------------------------------------------------- tf.data


def small_set(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    return x, (np.arange(n) % 10).reshape(-1, 1)


def test_pipeline_batches_and_normalises() -> None:
    x, y = small_set()
    images, labels = next(iter(make_dataset(x, y, batch_size=16)))
    assert images.shape == (16, 32, 32, 3) and images.dtype.name == "float32"
    assert labels.shape == (16,) and labels.dtype.name == "int32"
    np.testing.assert_allclose(images.numpy(), x[:16] / 255.0, rtol=1e-6)
    sizes = [int(b[0].shape[0]) for b in make_dataset(x, y, batch_size=16)]
    assert sizes == [16, 16, 8]


def epoch_labels(ds) -> list[int]:
    return [int(v) for _, labels in ds for v in labels.numpy()]


def test_pipeline_shuffles_reproducibly_and_differently_each_epoch() -> None:
    x, y = small_set()
    ds = make_dataset(x, y, batch_size=8, training=True, seed=1)
    first, second = epoch_labels(ds), epoch_labels(ds)
    assert sorted(first) == sorted(y.ravel().tolist())
    assert first != second
    assert epoch_labels(make_dataset(x, y, batch_size=8, training=True, seed=1)) == first


def windows(image: np.ndarray, pad: int) -> list[np.ndarray]:
    """Every crop of the reflect-padded image and of its mirror image."""
    out = []
    for candidate in (image, image[:, ::-1]):
        padded = np.pad(candidate, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        for dy in range(2 * pad + 1):
            for dx in range(2 * pad + 1):
                out.append(padded[dy : dy + 32, dx : dx + 32])
    return out


def test_flip_crop_makes_a_flipped_or_shifted_copy() -> None:
    import tensorflow as tf

    x, _ = small_set(6)
    out = random_flip_crop(tf.constant(x), tf.constant([7, 9], tf.int64)).numpy()
    assert out.shape == x.shape and out.dtype == np.uint8
    for original, augmented in zip(x, out, strict=True):
        assert any((augmented == w).all() for w in windows(original, 4))
    again = random_flip_crop(tf.constant(x), tf.constant([7, 9], tf.int64)).numpy()
    assert (out == again).all(), "same seed, same augmentation"
    assert not (out == x).all(), "something changed"


def test_augmented_pipeline_changes_every_epoch_but_repeats_with_seed() -> None:
    x, y = small_set(16)
    ds = make_dataset(x, y, batch_size=16, augment=True, seed=5)
    first = next(iter(ds))[0].numpy()
    second = next(iter(ds))[0].numpy()
    assert not np.array_equal(first, second)
    fresh = next(iter(make_dataset(x, y, batch_size=16, augment=True, seed=5)))[0].numpy()
    np.testing.assert_array_equal(first, fresh)


def _crop_offsets(batch: np.ndarray, source: np.ndarray, pad: int = 4) -> list[tuple[bool, int, int]]:
    """For each augmented image: (flipped?, dy, dx) of the crop it is, found by search."""
    found = []
    for out, image in zip(batch, source, strict=True):
        options = []
        for flipped in (False, True):
            padded = np.pad(image[:, ::-1] if flipped else image, ((pad, pad), (pad, pad), (0, 0)), "reflect")
            options += [
                (flipped, dy, dx)
                for dy in range(2 * pad + 1)
                for dx in range(2 * pad + 1)
                if np.array_equal(padded[dy : dy + 32, dx : dx + 32], out)
            ]
        assert options, "every output is a flip-and-crop of its input"
        found.append(options[0])
    return found


def test_numpy_and_tf_augmentation_draw_from_the_same_distribution() -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(400, 32, 32, 3), dtype=np.uint8)
    by_numpy = data.numpy_flip_crop(images, np.random.default_rng(1))
    by_tf = data.random_flip_crop(tf.constant(images), tf.constant([1, 2])).numpy()
    assert by_numpy.shape == by_tf.shape == images.shape and by_numpy.dtype == images.dtype
    for batch in (by_numpy, by_tf):
        offsets = np.array([(f, dy, dx) for f, dy, dx in _crop_offsets(batch, images)], dtype=float)
        assert 0.4 < offsets[:, 0].mean() < 0.6, "flipped about half the time"
        assert 3.4 < offsets[:, 1].mean() < 4.6 and 3.4 < offsets[:, 2].mean() < 4.6, "offsets 0..8, mean 4"
        assert set(offsets[:, 1]) == set(range(9)), "every offset occurs"
    again = data.numpy_flip_crop(images, np.random.default_rng(1))
    assert np.array_equal(by_numpy, again), "same generator seed, same batch"


def test_array_batches_match_the_tf_pipeline_without_augmentation() -> None:
    x = np.random.default_rng(2).integers(0, 256, size=(70, 32, 32, 3), dtype=np.uint8)
    y = np.arange(70) % 10
    batches = data.array_batches(x, y, 32)
    pipeline = list(data.make_dataset(x, y, 32))
    assert len(batches) == len(pipeline) == 3
    for (images, labels), (tf_images, tf_labels) in zip(
        [batches[i] for i in range(3)], pipeline, strict=True
    ):
        np.testing.assert_allclose(images, tf_images.numpy(), rtol=1e-6, atol=1e-6)
        assert np.array_equal(labels, tf_labels.numpy()) and labels.dtype == np.int32
    hot = data.array_batches(x, y, 32, one_hot=True)[0][1]
    assert hot.shape == (32, 10) and np.array_equal(hot.argmax(1), y[:32])


def test_array_batches_reshuffle_each_epoch_reproducibly() -> None:
    x = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1).repeat(32, 1).repeat(32, 2).repeat(3, 3)
    y = np.arange(40) % 10

    def epochs(seed: int) -> list[list[int]]:
        batches = data.array_batches(x, y, 40, training=True, augment=True, seed=seed)
        seen = []
        for _ in range(2):
            images, _ = batches[0]
            seen.append(np.rint(images[:, 0, 0, 0] * 255).astype(int).tolist())
            batches.on_epoch_end()
        return seen

    first, second = epochs(3)
    assert sorted(first) == sorted(second) == list(range(40)) and first != second
    assert epochs(3) == [first, second] and epochs(4) != [first, second]
    with pytest.raises(NotImplementedError, match="TensorFlow"):
        data.array_batches(x, y, 8, augment=lambda images, seed: images)


def test_a_withheld_copy_holds_the_training_set_and_no_test_images_or_labels(tmp_path) -> None:
    from helpers.data import write_withheld_copy

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(50, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(50) % 10).astype(np.uint8).reshape(-1, 1)
    folder = write_withheld_copy(((x, y), (x[:20], y[:20])), tmp_path)
    (x_train, y_train), (x_test, y_test) = load_cifar10(folder)
    assert np.array_equal(x_train, x) and np.array_equal(y_train, y)
    assert x_test.shape == (0, 32, 32, 3) and y_test is None
    stored = pickle.loads((folder / "test_batch").read_bytes())
    assert set(stored) == {b"data", b"labels_withheld"}, "the file holds no labels at all"
    assert stored[b"data"].shape == (0, 3072), "and no test images either"


def test_the_prepare_command_unpacks_the_archive_and_says_what_to_set(
    fake_archive: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "datasets"
    assert data.main([str(fake_archive), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    folder = out / "cifar-10-batches-py"
    assert f"export CIFAR10_DIR={folder.resolve()}" in printed and "✅" in printed
    assert_keras_like(load_cifar10(folder))
    assert data.main([str(tmp_path / "missing.tar.gz")]) == 1
    assert "python -m helpers.data" in capsys.readouterr().err, "the fix names the project's own command"


def test_the_data_source_says_which_copy(fake_cifar: Path, tmp_path: Path, monkeypatch) -> None:
    assert "官方" in data_source(fake_cifar) and "official" in data_source(fake_cifar)  # PNG names
    batch = fake_batch(0) | {b"filenames": [b"frog_0001.jpg"] * PER_BATCH}
    (fake_cifar / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=4))
    assert "JPEG" in data_source(fake_cifar) and str(fake_cifar) not in data_source(fake_cifar), "no path"
    (fake_cifar / "data_batch_1").write_bytes(b"not a pickle")
    assert "unknown" in data_source(fake_cifar)
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    monkeypatch.setattr(data, "_keras_cache_folder", lambda: None)
    assert "downloaded by Keras" in data_source()
    monkeypatch.setenv("CIFAR10_DIR", str(fake_cifar.parent))  # the folder that holds it
    assert "unknown" in data_source() and "CIFAR10_DIR" in data_source()
