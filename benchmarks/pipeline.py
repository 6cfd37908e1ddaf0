"""Input pipeline throughput: the course's tf.data pipeline vs the naive in-memory path, same run.

Two questions, each measured ``--repeats`` times (median reported), images per second:

1. **Data only** (no model): how fast each path can hand out augmented float batches.
   ``numpy``: the whole training set converted to float32 up front, batches sliced in Python,
   flip and 4-pixel pad-and-crop done with NumPy per batch. ``tf.data``:
   ``helpers.data.make_dataset(augment=True)`` (shuffle, batch, cast, stateless flip + crop in
   parallel, prefetch).
2. **Training** ``fast_cnn`` for ``--steps`` steps at batch ``--batch``: Keras ``fit`` on the
   float32 NumPy arrays (no augmentation at all: the fastest naive option); ``fit`` on a Python
   generator of NumPy-augmented batches; ``fit`` on the tf.data pipeline with augmentation.

    python -m benchmarks.pipeline --out benchmarks/results/pipeline_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from helpers.device import hardware_record


def numpy_flip_crop(batch: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """Flip and pad-and-crop a float batch with NumPy (the naive augmentation)."""
    n, h, w, _ = batch.shape
    flip = rng.random(n) < 0.5
    batch = np.where(flip[:, None, None, None], batch[:, :, ::-1], batch)
    padded = np.pad(batch, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    dy = rng.integers(0, 2 * pad + 1, n)
    dx = rng.integers(0, 2 * pad + 1, n)
    return np.stack([padded[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def numpy_batches(
    x: np.ndarray, y: np.ndarray, batch: int, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless shuffled, augmented float batches, all in NumPy."""
    rng = np.random.default_rng(seed)
    x_float = x.astype("float32") / 255.0
    labels = y.reshape(-1).astype("int32")
    while True:
        order = rng.permutation(len(x_float))
        for start in range(0, len(order) - batch + 1, batch):
            index = order[start : start + batch]
            yield numpy_flip_crop(x_float[index], rng), labels[index]


def images_per_second(run: Callable[[], int], repeats: int) -> dict[str, Any]:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        images = run()
        rates.append(images / (time.perf_counter() - start))
    return {"median_images_per_s": round(statistics.median(rates), 1), "runs": [round(r, 1) for r in rates]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30, help="training steps per measurement")
    parser.add_argument("--data-batches", type=int, default=100, help="batches per data-only measurement")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from helpers.data import data_source, load_cifar10, make_dataset  # noqa: PLC0415
    from helpers.models import fast_cnn  # noqa: PLC0415
    from helpers.seed import set_seed  # noqa: PLC0415

    set_seed(0)
    (x_train, y_train), _ = load_cifar10()
    batch, steps = args.batch, args.steps
    result: dict[str, Any] = {
        "batch_size": batch,
        "train_steps": steps,
        "data_source": data_source(),
        "hardware": hardware_record(),
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
    }

    def take(iterator: Iterator[Any], count: int) -> int:
        for _ in range(count):
            next(iterator)
        return count * batch

    naive = numpy_batches(x_train, y_train, batch)
    pipeline = iter(make_dataset(x_train, y_train, batch, training=True, augment=True).repeat())
    take(naive, 2), take(pipeline, 2)  # warm up (tracing, first conversion)
    result["data_only"] = {
        "numpy": images_per_second(lambda: take(naive, args.data_batches), args.repeats),
        "tf.data": images_per_second(lambda: take(pipeline, args.data_batches), args.repeats),
    }

    x_float = x_train[: batch * steps].astype("float32") / 255.0
    y_small = y_train[: batch * steps].reshape(-1)

    def trainer(fit: Callable[[keras.Model], None]) -> Callable[[], int]:
        model = fast_cnn()
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
        fit(model)  # warm-up epoch: builds and traces the train step

        def run() -> int:
            fit(model)
            return batch * steps

        return run

    def numpy_fit(model: keras.Model) -> None:
        model.fit(x_float, y_small, batch_size=batch, epochs=1, verbose=0)

    def generator_fit(model: keras.Model) -> None:
        model.fit(numpy_batches(x_train, y_train, batch), steps_per_epoch=steps, epochs=1, verbose=0)

    dataset = make_dataset(x_train, y_train, batch, training=True, augment=True).repeat()

    def dataset_fit(model: keras.Model) -> None:
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)

    result["training"] = {
        "numpy arrays, no augmentation": images_per_second(trainer(numpy_fit), args.repeats),
        "python generator, numpy augmentation": images_per_second(trainer(generator_fit), args.repeats),
        "tf.data, augmentation": images_per_second(trainer(dataset_fit), args.repeats),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("data_only", "training")}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
