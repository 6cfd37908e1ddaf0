"""CIFAR-10 data: loading (also offline), class names, subsets, normalisation, input pipelines
(tf.data on TensorFlow, a NumPy ``PyDataset`` on JAX or PyTorch).

`load_cifar10()` returns exactly what `keras.datasets.cifar10.load_data()` returns:
``((x_train, y_train), (x_test, y_test))`` with uint8 NHWC images of shape ``(N, 32, 32, 3)``
and uint8 labels of shape ``(N, 1)``.

Where the data comes from, in this order:

1. the ``path`` argument;
2. the environment variable ``CIFAR10_DIR``;
3. Keras's own cache (``~/.keras/datasets`` or ``$KERAS_HOME``), downloading into it when the
   machine is online.

``path`` / ``CIFAR10_DIR`` may name the ``cifar-10-batches-py`` folder itself, a folder that
contains it, a folder that holds the official ``cifar-10-python.tar.gz``, or that archive file.
Every problem with the input raises :class:`CIFAR10Error` with a message in Traditional Chinese
and English that says how to fix it.

``python -m helpers.data SOURCE [--out DIR]`` prepares an offline copy: it checks ``SOURCE`` (the
official archive or a folder), unpacks an archive into ``DIR/cifar-10-batches-py`` (default
``~/.keras/datasets``, where Keras itself would look) and prints the ``CIFAR10_DIR`` line to set.

Used in notebooks 01, 02, 03, 04, 05, 06, 07.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import sys
import tarfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time (TensorFlow is slow to import)
    import tensorflow as tf

CLASS_NAMES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CLASS_NAMES_ZH: tuple[str, ...] = (
    "飛機",
    "汽車",
    "鳥",
    "貓",
    "鹿",
    "狗",
    "青蛙",
    "馬",
    "船",
    "卡車",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (32, 32, 3)

#: Per-channel mean and standard deviation of the CIFAR-10 training images (pixel values / 255).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

#: The environment variable that names a local copy of CIFAR-10.
DATA_ENV_VAR = "CIFAR10_DIR"
FOLDER_NAME = "cifar-10-batches-py"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
BATCH_FILES = (*TRAIN_BATCHES, TEST_BATCH)

#: Where Keras downloads CIFAR-10 from; probed briefly so that "no network" fails fast.
DOWNLOAD_HOST = ("www.cs.toronto.edu", 443)
NETWORK_PROBE_TIMEOUT_S = 3.0
DOWNLOAD_SOCKET_TIMEOUT_S = 60.0

Split = tuple[np.ndarray, np.ndarray]
#: Marks a batch file written without labels on purpose (the test batch of a grading copy).
WITHHELD_KEY = b"labels_withheld"
#: A batch augmentation for :func:`make_dataset`: ``(float images, seed [2]) -> images``.
Augmentation = Callable[["tf.Tensor", "tf.Tensor"], "tf.Tensor"]

_HOW_TO_GET_IT = (
    "解決方法：把官方的 cifar-10-python.tar.gz 或解壓後的 cifar-10-batches-py 資料夾放到電腦上，"
    "再設定環境變數 CIFAR10_DIR 指向它，或呼叫 load_cifar10(path=...)。",
    "Fix: put the official cifar-10-python.tar.gz (or the extracted cifar-10-batches-py folder) "
    "on this machine and set the environment variable CIFAR10_DIR to it, "
    "or call load_cifar10(path=...).",
)


class CIFAR10Error(RuntimeError):
    """A problem with the CIFAR-10 input, explained in Traditional Chinese and English."""

    def __init__(self, zh: str, en: str, fix: tuple[str, str] = _HOW_TO_GET_IT) -> None:
        self.zh = zh
        self.en = en
        self.fix = fix
        super().__init__(f"{zh}\n{en}\n{fix[0]}\n{fix[1]}")


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def load_cifar10(path: str | os.PathLike[str] | None = None) -> tuple[Split, Split]:
    """Load CIFAR-10 as ``((x_train, y_train), (x_test, y_test))``, like Keras does.

    Args:
        path: a ``cifar-10-batches-py`` folder, a folder containing it or the official
            ``cifar-10-python.tar.gz``, or that archive. When ``None``, the environment variable
            ``CIFAR10_DIR`` is used, and when that is unset too, Keras's cache and download.

    Raises:
        CIFAR10Error: the data cannot be found, read or downloaded (message in zh-TW and English).
    """
    if path is not None:
        return _load_local(Path(path), given_by="load_cifar10(path=...)")
    env_value = os.environ.get(DATA_ENV_VAR, "").strip()
    if env_value:
        return _load_local(Path(env_value).expanduser(), given_by=f"環境變數 {DATA_ENV_VAR}")
    return _load_from_keras()


def _load_local(path: Path, given_by: str) -> tuple[Split, Split]:
    if not path.exists():
        raise CIFAR10Error(
            f"找不到 CIFAR-10：{given_by} 指向的路徑不存在：{path}",
            f"CIFAR-10 not found: the path given by {_english(given_by)} does not exist: {path}",
            (
                "解決方法：檢查路徑是否打錯；或從官方的 cifar-10-python.tar.gz 準備一份："
                "python -m helpers.data cifar-10-python.tar.gz",
                "Fix: check the path for typos, or prepare a copy from the official archive: "
                "python -m helpers.data cifar-10-python.tar.gz",
            ),
        )
    if path.is_file():
        return _load_archive(path)
    folder = path / FOLDER_NAME if (path / FOLDER_NAME).is_dir() else path
    present = [name for name in BATCH_FILES if (folder / name).is_file()]
    if not present and (path / ARCHIVE_NAME).is_file():
        return _load_archive(path / ARCHIVE_NAME)
    missing = [name for name in BATCH_FILES if name not in present]
    if missing:
        raise CIFAR10Error(
            f"CIFAR-10 資料夾不完整：{folder} 缺少 {', '.join(missing)}",
            f"Incomplete CIFAR-10 folder: {folder} is missing {', '.join(missing)}",
            (
                "解決方法：資料夾裡要有 data_batch_1 … data_batch_5 與 test_batch，"
                "請重新解壓官方的 cifar-10-python.tar.gz，或重新產生離線副本。",
                "Fix: the folder must hold data_batch_1 … data_batch_5 and test_batch; "
                "extract the official cifar-10-python.tar.gz again or rebuild the offline copy.",
            ),
        )
    return _assemble({name: _read_batch(folder / name) for name in BATCH_FILES})


def _load_archive(archive: Path) -> tuple[Split, Split]:
    not_cifar = (
        "解決方法：請使用官方的 cifar-10-python.tar.gz（Python 版本），"
        "或解壓後的 cifar-10-batches-py 資料夾。",
        "Fix: use the official cifar-10-python.tar.gz (the Python version) "
        "or the extracted cifar-10-batches-py folder.",
    )
    wanted = {f"{FOLDER_NAME}/{name}": name for name in BATCH_FILES}
    contents: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is not None and member.isfile():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        contents[name] = extracted.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise CIFAR10Error(
            f"這不是可讀取的 CIFAR-10 壓縮檔：{archive}（{type(err).__name__}）",
            f"Not a readable CIFAR-10 archive: {archive} ({type(err).__name__}: {err})",
            not_cifar,
        ) from None
    missing = [name for name in BATCH_FILES if name not in contents]
    if missing:
        raise CIFAR10Error(
            f"這不是 CIFAR-10 壓縮檔：{archive} 裡沒有 {FOLDER_NAME}/{missing[0]} 等檔案",
            f"Not the CIFAR-10 archive: {archive} has no {FOLDER_NAME}/{missing[0]} "
            f"(missing {len(missing)} of {len(BATCH_FILES)} batch files)",
            not_cifar,
        )
    return _assemble(
        {name: _parse_batch(contents[name], f"{archive}:{FOLDER_NAME}/{name}") for name in wanted.values()}
    )


def _load_from_keras() -> tuple[Split, Split]:
    cached = _keras_cache_folder()
    if cached is not None:
        return _assemble({name: _read_batch(cached / name) for name in BATCH_FILES})
    if not _network_reachable():
        host = DOWNLOAD_HOST[0]
        raise CIFAR10Error(
            f"沒有網路，也沒有本機的 CIFAR-10 副本（無法連到 {host}，也沒有設定 {DATA_ENV_VAR}）。",
            f"No network and no local copy of CIFAR-10 ({host} is unreachable, {DATA_ENV_VAR} is not set).",
        )
    import keras  # noqa: PLC0415 - slow import, only needed for the download

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_S)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as err:  # noqa: BLE001 - every download failure gets the same advice
        raise CIFAR10Error(
            f"下載 CIFAR-10 失敗：{type(err).__name__}",
            f"Downloading CIFAR-10 failed: {type(err).__name__}: {err}",
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return (
        (np.ascontiguousarray(x_train), np.ascontiguousarray(y_train)),
        (np.ascontiguousarray(x_test), np.ascontiguousarray(y_test)),
    )


def local_copy() -> Path | None:
    """Where :func:`load_cifar10` would read CIFAR-10 without the network: ``$CIFAR10_DIR`` when
    it is set (whatever it points to), else a complete Keras cache folder; ``None`` if neither.

    The grader hands this location to the sandboxed notebooks it runs.
    """
    given = os.environ.get(DATA_ENV_VAR)
    if given:
        return Path(given).expanduser().resolve()
    return _keras_cache_folder()


def data_source(folder: Path | None = None) -> str:
    """Which copy of CIFAR-10 :func:`load_cifar10` reads (``folder``, default :func:`local_copy`),
    in one line for run reports and records, without the machine's path: the official images (PNG
    file names in the batches), a re-encoded JPEG copy (JPEG file names: the pixels differ a little
    from the official ones, accuracies read a little lower, and the images are in another order),
    or Keras's download."""
    if folder is None:
        folder = local_copy()
        where = (
            "由 CIFAR10_DIR 指定 (given by CIFAR10_DIR)"
            if os.environ.get(DATA_ENV_VAR)
            else "Keras 的快取 (cache)"
        )
    else:
        where = "本機資料夾 (a local folder)"
    if folder is None:
        return "Keras 下載的官方 CIFAR-10 (official CIFAR-10, downloaded by Keras)"
    batches = folder / FOLDER_NAME if (folder / FOLDER_NAME).is_dir() else folder
    try:
        with open(batches / BATCH_FILES[0], "rb") as f:
            first = _BatchUnpickler(f, encoding="bytes").load().get(b"filenames", [b""])[0]
    except Exception:  # noqa: BLE001 - a file that is missing or not a batch: say so, do not fail
        return f"本機副本，格式無法辨認 (a local copy of unknown kind)，{where}"
    name = first.decode(errors="replace").lower() if isinstance(first, bytes) else str(first).lower()
    if name.endswith((".jpg", ".jpeg")):
        return (
            "JPEG 重新壓縮的離線副本：像素和官方資料略有不同、順序也不同，準確率會低一點 "
            f"(an offline copy re-encoded as JPEG: pixels and order differ from the official data)，{where}"
        )
    if name.endswith(".png"):
        return f"官方 CIFAR-10 (official CIFAR-10)，{where}"
    return f"本機副本，格式無法辨認 (a local copy of unknown kind)，{where}"


def _keras_cache_folder() -> Path | None:
    """The folder of an already downloaded Keras CIFAR-10 copy, if there is a complete one."""
    homes = [Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser(), Path("/tmp/.keras")]
    for home in homes:
        for folder in (
            home / "datasets" / "cifar-10-batches-py-target" / FOLDER_NAME,
            home / "datasets" / FOLDER_NAME,
        ):
            if all((folder / name).is_file() for name in BATCH_FILES):
                return folder
    return None


def _network_reachable() -> bool:
    try:
        with socket.create_connection(DOWNLOAD_HOST, timeout=NETWORK_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds NumPy arrays: a batch file cannot run arbitrary code."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")


def _read_batch(file: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise CIFAR10Error(
            f"無法讀取 CIFAR-10 檔案：{file}（{type(err).__name__}）",
            f"Cannot read the CIFAR-10 file {file}: {err}",
        ) from None
    return _parse_batch(raw, str(file))


def _parse_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode one pickled batch into (images uint8 (n, 3, 32, 32), labels uint8 (n,)); labels are
    ``None`` for a batch written without them on purpose (:func:`write_withheld_copy`)."""
    damaged = (
        "解決方法：這個檔案可能下載或複製不完整，請刪掉整個資料夾後重新解壓或重新產生。",
        "Fix: the file is probably an incomplete download or copy; delete the folder and "
        "extract or rebuild it again.",
    )
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:  # noqa: BLE001 - any decoding failure means a damaged file
        raise CIFAR10Error(
            f"CIFAR-10 檔案已損毀（被截斷或不是 pickle 格式）：{name}",
            f"Damaged CIFAR-10 file (truncated or not a pickle): {name} ({type(err).__name__})",
            damaged,
        ) from None
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    withheld = isinstance(batch, dict) and batch.get(WITHHELD_KEY) is True and labels is None
    if (
        not isinstance(data, np.ndarray)
        or data.ndim != 2
        or data.shape[1] != 3072
        or (labels is None and not withheld)
    ):
        raise CIFAR10Error(
            f"這不是 CIFAR-10 的批次檔（缺少 data 或 labels，或形狀不對）：{name}",
            f"Not a CIFAR-10 batch file (no data/labels, or data is not N x 3072): {name}",
            damaged,
        )
    if withheld:  # a grading copy's test batch: no labels, no images (see write_withheld_copy)
        return data.astype(np.uint8, copy=False).reshape(data.shape[0], 3, 32, 32), None
    label_array = np.asarray(labels)
    bad_range = label_array.size > 0 and (label_array.min() < 0 or label_array.max() >= NUM_CLASSES)
    if label_array.shape != (data.shape[0],) or bad_range:
        raise CIFAR10Error(
            f"CIFAR-10 批次檔的標籤不正確：{name}",
            f"Bad labels in CIFAR-10 batch file (count or range 0-9): {name}",
            damaged,
        )
    images = data.astype(np.uint8, copy=False).reshape(data.shape[0], 3, 32, 32)
    return images, label_array.astype(np.uint8)


def _assemble(batches: dict[str, tuple[np.ndarray, np.ndarray | None]]) -> tuple[Split, Split]:
    def to_nhwc(parts: Iterable[tuple[np.ndarray, np.ndarray | None]]) -> Split:
        parts = list(parts)
        images = np.ascontiguousarray(np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1))
        if any(p[1] is None for p in parts):
            return images, None  # type: ignore[return-value] - test labels withheld (grading)
        return images, np.concatenate([p[1] for p in parts]).reshape(-1, 1)

    train = to_nhwc(batches[n] for n in TRAIN_BATCHES)
    if train[1] is None:
        raise CIFAR10Error("CIFAR-10 的訓練批次沒有標籤。", "The CIFAR-10 training batches have no labels.")
    return train, to_nhwc([batches[TEST_BATCH]])


def write_withheld_copy(data: tuple[Split, Split], root: Path) -> Path:
    """Write ``root/cifar-10-batches-py`` in the official layout with the training batches only:
    its test batch holds no images and no labels (marked :data:`WITHHELD_KEY`). It is the copy a
    homework submission's kernel gets while grading: CIFAR-10's test labels are public, so the
    test images themselves stay with the grader's evaluator. :func:`load_cifar10` reads it as usual
    and returns an empty ``x_test`` and ``y_test`` as ``None``. Returns the folder.
    """
    (x_train, y_train), _ = data
    folder = Path(root) / FOLDER_NAME
    folder.mkdir(parents=True, exist_ok=True)

    def rows(images: np.ndarray) -> np.ndarray:  # NHWC → the official N × 3072 (channel planes)
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))

    for name, part in zip(
        TRAIN_BATCHES, np.array_split(np.arange(len(x_train)), len(TRAIN_BATCHES)), strict=True
    ):
        batch = {b"data": rows(x_train[part]), b"labels": [int(v) for v in np.ravel(y_train[part])]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    test = {b"data": np.zeros((0, 3072), np.uint8), WITHHELD_KEY: True}
    (folder / TEST_BATCH).write_bytes(pickle.dumps(test, protocol=4))
    return folder


def _english(given_by: str) -> str:
    return given_by.replace("環境變數", "the environment variable")


# --------------------------------------------------------------------------------------
# Subsets and normalisation
# --------------------------------------------------------------------------------------


def stratified_indices(y: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``size`` examples with (almost) the same count in every class.

    Each class gets ``size // k`` examples (``k`` classes present), and the first
    ``size % k`` classes one more. The same ``seed`` always picks the same examples.
    """
    labels = np.asarray(y).reshape(-1)
    if not 0 < size <= len(labels):
        raise ValueError(
            f"子集大小必須在 1 到 {len(labels)} 之間 / subset size must be 1..{len(labels)}: {size}"
        )
    classes = np.unique(labels)
    per_class, extra = divmod(size, len(classes))
    rng = np.random.default_rng(seed)
    chosen = []
    for i, cls in enumerate(classes):
        members = np.flatnonzero(labels == cls)
        need = per_class + (1 if i < extra else 0)
        if need > len(members):
            raise ValueError(
                f"類別 {cls} 只有 {len(members)} 筆，無法取 {need} 筆 / "
                f"class {cls} has only {len(members)} examples, {need} requested"
            )
        chosen.append(rng.choice(members, size=need, replace=False))
    return np.sort(np.concatenate(chosen))


def _check_lengths(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    labels = np.asarray(y)
    if len(labels) != len(x):
        raise ValueError(f"x 與 y 的數量不同 / x and y differ in length: {len(x)} vs {len(labels)}")
    return labels


def stratified_subset(
    x: np.ndarray, y: np.ndarray, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic subset of ``size`` examples with (almost) the same count in every class
    (see :func:`stratified_indices`); the chosen examples keep their original order."""
    labels = _check_lengths(x, y)
    index = stratified_indices(labels, size, seed)
    return x[index], labels[index]


def validation_split(x: np.ndarray, y: np.ndarray, size: int, seed: int = 0) -> tuple[Split, Split]:
    """Split a training set into ``(rest, validation)``: a stratified validation set of ``size``
    examples (fixed by ``seed``) and every other example for training, both in their original order.

    The validation set is what models, epochs and orders are chosen on; the test set stays untouched
    until one final evaluation.
    """
    labels = _check_lengths(x, y)
    held_out = stratified_indices(labels, size, seed)
    keep = np.ones(len(labels), dtype=bool)
    keep[held_out] = False
    return (x[keep], labels[keep]), (x[held_out], labels[held_out])


@dataclass(frozen=True)
class CourseData:
    """The three splits every notebook uses, made by :meth:`helpers.modes.RunMode.splits`.

    ``train`` is what the model learns from; ``val`` (驗證集, a stratified part of the official
    training set) is what training monitors and what models, epochs and orders are chosen on;
    ``test`` (測試集, the official test set) is evaluated once, at the end, by
    :func:`helpers.training.evaluate_test`. In a homework grading run ``test`` holds the images but
    no labels (``None``): only the grader reads the true test labels.
    """

    train: Split
    val: Split
    test: tuple[np.ndarray, np.ndarray | None]

    @property
    def test_labels_withheld(self) -> bool:
        return self.test[1] is None

    def describe(self) -> str:
        """One line: how many images each split holds."""
        test = f"{len(self.test[0]):,}" + (
            "（不含標籤 / labels withheld）" if self.test_labels_withheld else ""
        )
        return (
            f"訓練集 (train) {len(self.train[0]):,} 張｜驗證集 (validation) {len(self.val[0]):,} 張｜"
            f"測試集 (test) {test} 張"
        )


def normalize(x: np.ndarray) -> np.ndarray:
    """Turn uint8 pixels into float32 in [0, 1]. (Models that standardise per channel do it
    themselves, with a ``Normalization`` layer holding :data:`CIFAR10_MEAN` and :data:`CIFAR10_STD`.)"""
    return np.asarray(x, dtype=np.float32) / np.float32(255.0)


# --------------------------------------------------------------------------------------
# tf.data pipelines
# --------------------------------------------------------------------------------------


def random_flip_crop(images: tf.Tensor, seed: tf.Tensor, pad: int = 4) -> tf.Tensor:
    """Randomly flip each image left-right and crop it back after ``pad`` pixels of reflection.

    Works on a batch ``(B, H, W, C)`` with stateless random ops (same ``seed``, same result), and
    uses only gathers, so it also runs inside XLA-compiled code.
    """
    import tensorflow as tf  # noqa: PLC0415

    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=3)
    flip = tf.random.stateless_uniform([batch], seeds[0]) < 0.5
    images = tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
    if pad == 0:
        return images
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    dy = tf.random.stateless_uniform([batch], seeds[1], 0, 2 * pad + 1, dtype=tf.int32)
    dx = tf.random.stateless_uniform([batch], seeds[2], 0, 2 * pad + 1, dtype=tf.int32)
    rows = dy[:, None] + tf.range(height)[None, :]
    cols = dx[:, None] + tf.range(width)[None, :]
    cropped = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(cropped, cols, axis=2, batch_dims=1)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 32,
    *,
    training: bool = False,
    augment: bool | Augmentation = False,
    seed: int = 0,
    one_hot: bool = False,
) -> tf.data.Dataset:
    """A tf.data pipeline of ``(float32 images, labels)`` batches: int32 class indices ``(B,)``, or
    float32 one-hot rows ``(B, 10)`` with ``one_hot``.

    Args:
        x, y: uint8 images ``(N, 32, 32, 3)`` and integer labels ``(N,)`` or ``(N, 1)``.
        batch_size: examples per batch (the last batch may be smaller).
        training: shuffle (differently every epoch, reproducibly for a given ``seed``).
        augment: ``True`` for a random horizontal flip and 4-pixel pad-and-crop
            (:func:`random_flip_crop`), or a function ``(images, seed) -> images`` applied to each
            normalised float batch with a fresh ``seed`` tensor (shape ``[2]``) every batch and epoch.
        seed: seed for shuffling and augmentation.
        one_hot: labels as one-hot float vectors (for a loss with label smoothing).
    """
    import tensorflow as tf  # noqa: PLC0415

    labels = np.asarray(y).reshape(-1).astype(np.int32)
    ds = tf.data.Dataset.from_tensor_slices((x, labels))
    if training:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)

    def to_float(images: tf.Tensor, batch_labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if one_hot:
            batch_labels = tf.one_hot(batch_labels, NUM_CLASSES)
        return tf.cast(images, tf.float32) / 255.0, batch_labels

    ds = ds.batch(batch_size).map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    if augment:
        transform = random_flip_crop if augment is True else augment
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda batch, s: (transform(batch[0], s), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def numpy_flip_crop(images: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """The NumPy twin of :func:`random_flip_crop`, for backends without TensorFlow (JAX, PyTorch).

    Each image of the batch ``(B, H, W, C)`` is flipped left-right with probability 1/2, padded by
    ``pad`` pixels of reflection and cropped back at a random offset (0 … 2·pad in each axis,
    uniform): the same distribution as the tf.data path, vectorised over the batch.
    """
    batch, height, width = images.shape[:3]
    flip = rng.random(batch) < 0.5
    out = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
    if pad == 0:
        return out
    padded = np.pad(out, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    dy = rng.integers(0, 2 * pad + 1, size=batch)
    dx = rng.integers(0, 2 * pad + 1, size=batch)
    rows = dy[:, None] + np.arange(height)[None, :]
    cols = dx[:, None] + np.arange(width)[None, :]
    index = np.arange(batch)[:, None, None]
    return padded[index, rows[:, :, None], cols[:, None, :]]


def array_batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int = 32,
    *,
    training: bool = False,
    augment: bool = False,
    seed: int = 0,
    one_hot: bool = False,
) -> Any:
    """The same batches as :func:`make_dataset`, as a ``keras.utils.PyDataset`` of NumPy arrays.

    For Keras on JAX or PyTorch, where tf.data is not there: shuffled differently every epoch
    (reproducibly for ``seed``), normalised to float32, and with ``augment=True`` flipped and
    pad-cropped by :func:`numpy_flip_crop`. A callable augmentation (tf.data only) is refused.
    """
    import keras  # noqa: PLC0415 - slow import

    if callable(augment):
        raise NotImplementedError(
            "自訂的資料增強函式只能用在 TensorFlow 的 tf.data 管線；其他後端請用 augment=True。\n"
            "A custom augmentation function needs the TensorFlow backend (tf.data); use augment=True."
        )
    labels = np.asarray(y).reshape(-1).astype(np.int32)

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.order = self._order()

        def _order(self) -> np.ndarray:
            if not training:
                return np.arange(len(labels))
            return np.random.default_rng([seed, self.epoch]).permutation(len(labels))

        def __len__(self) -> int:
            return -(-len(labels) // batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            chosen = self.order[index * batch_size : (index + 1) * batch_size]
            images = x[chosen]
            if augment:
                images = numpy_flip_crop(images, np.random.default_rng([seed, self.epoch, index]))
            floats = normalize(images)
            batch_labels = labels[chosen]
            if one_hot:
                return floats, np.eye(NUM_CLASSES, dtype=np.float32)[batch_labels]
            return floats, batch_labels

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.order = self._order()

    return ArrayBatches()


def training_batches(x: np.ndarray, y: np.ndarray, batch_size: int = 32, **options: Any) -> Any:
    """The input pipeline for the running Keras backend: :func:`make_dataset` (tf.data) on
    TensorFlow, :func:`array_batches` (NumPy) on any other backend. Same options."""
    import keras  # noqa: PLC0415 - slow import

    if keras.backend.backend() == "tensorflow":
        return make_dataset(x, y, batch_size, **options)
    return array_batches(x, y, batch_size, **options)


def prepare(source: Path, out: Path) -> Path:
    """Check ``source`` (the official ``cifar-10-python.tar.gz``, or a folder holding the batches)
    and return a ``cifar-10-batches-py`` folder: an archive's batch files are unpacked into
    ``out``; a folder is used where it is. Raises :class:`CIFAR10Error` on anything else."""
    load_cifar10(path=source)  # every check, with its message
    if source.is_dir():
        folder = source / FOLDER_NAME if (source / FOLDER_NAME).is_dir() else source
        if all((folder / name).is_file() for name in BATCH_FILES):
            return folder.resolve()
        source = source / ARCHIVE_NAME
    target = out / FOLDER_NAME
    target.mkdir(parents=True, exist_ok=True)
    wanted = {f"{FOLDER_NAME}/{name}": name for name in BATCH_FILES}
    with tarfile.open(source, "r:*") as tar:
        for member in tar:
            name = wanted.get(member.name.removeprefix("./"))
            extracted = tar.extractfile(member) if name is not None and member.isfile() else None
            if name is not None and extracted is not None:
                (target / name).write_bytes(extracted.read())
    load_cifar10(path=target)
    return target.resolve()


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data SOURCE [--out DIR]`` (see the module docstring)."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="python -m helpers.data", description="Prepare an offline CIFAR-10 copy."
    )
    parser.add_argument("source", type=Path, help="cifar-10-python.tar.gz, or a folder holding the batches")
    parser.add_argument("--out", type=Path, default=Path.home() / ".keras" / "datasets")
    args = parser.parse_args(argv)
    try:
        folder = prepare(args.source.expanduser(), args.out.expanduser())
    except CIFAR10Error as err:
        print(err, file=sys.stderr)
        return 1
    print(f"✅ CIFAR-10 準備好了 (ready)：{folder}")
    print(f"設定 (set)：export {DATA_ENV_VAR}={folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
