"""Training with the course defaults, and comparisons of several models on one budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from helpers.data import Split, make_dataset
from helpers.seed import set_seed

if TYPE_CHECKING:  # pragma: no cover
    import keras


@dataclass
class TrainResult:
    """What one training run gives back: the per-epoch history and how long it took."""

    name: str
    params: int
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    seed: int = 0

    @property
    def final_accuracy(self) -> float:
        return self.history["val_accuracy"][-1]

    @property
    def best_accuracy(self) -> float:
        return max(self.history["val_accuracy"])


def gpu_available() -> bool:
    import tensorflow as tf  # noqa: PLC0415

    return bool(tf.config.list_physical_devices("GPU"))


def compile_model(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam, sparse categorical cross-entropy on logits, accuracy; XLA on a GPU only."""
    import keras  # noqa: PLC0415

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=gpu_available(),
    )
    return model


def train(
    model: keras.Model,
    data: tuple[Split, Split],
    *,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    augment: bool = False,
    seed: int = 0,
    verbose: int = 0,
) -> TrainResult:
    """Compile ``model`` (see :func:`compile_model`) and train it, validating on the test split."""
    (x_train, y_train), (x_test, y_test) = data
    compile_model(model, learning_rate)
    train_ds = make_dataset(x_train, y_train, batch_size, training=True, augment=augment, seed=seed)
    test_ds = make_dataset(x_test, y_test, 512)
    start = time.perf_counter()
    history = model.fit(train_ds, epochs=epochs, validation_data=test_ds, verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - start
    return TrainResult(
        name=model.name,
        params=model.count_params(),
        history={k: [float(v) for v in values] for k, values in history.history.items()},
        seconds=seconds,
        seed=seed,
    )


def compare(
    builders: dict[str, Callable[[], keras.Model]],
    data: tuple[Split, Split],
    *,
    epochs: int,
    seeds: tuple[int, ...] = (0,),
    **train_options: Any,
) -> dict[str, list[TrainResult]]:
    """Train every model once per seed on the same data and budget; seed set before each build."""
    results: dict[str, list[TrainResult]] = {}
    for name, build in builders.items():
        for seed in seeds:
            set_seed(seed)
            result = train(build(), data, epochs=epochs, seed=seed, **train_options)
            result.name = name
            results.setdefault(name, []).append(result)
            print(
                f"{name:>14} seed {seed}: 測試準確率 (test accuracy) {result.final_accuracy:.3f}"
                f"｜{result.seconds:.0f} s"
            )
    return results
