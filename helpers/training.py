"""Training with the course defaults, and comparisons of several models on one budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.data import Augmentation, Split, make_dataset
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


@dataclass(frozen=True)
class DevicePolicy:
    """How models are built and compiled here: on a GPU, mixed precision and XLA; on a CPU, neither."""

    mixed_precision: bool
    jit_compile: bool


def device_policy() -> DevicePolicy:
    from helpers.runtime import gpu_names  # noqa: PLC0415

    on_gpu = bool(gpu_names())
    return DevicePolicy(mixed_precision=on_gpu, jit_compile=on_gpu)


def build(builder: Callable[[], keras.Model]) -> keras.Model:
    """Call a model builder under this device's precision: ``mixed_float16`` on a GPU, else float32.

    Only the layers built here get the policy, so NumPy-vs-Keras checks elsewhere in a notebook
    stay in float32. Builders keep their output layer in float32.
    """
    import keras  # noqa: PLC0415

    if not device_policy().mixed_precision:
        return builder()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        return builder()
    finally:
        keras.config.set_dtype_policy(previous)


def outputs_probabilities(model: keras.Model) -> bool:
    """Whether the model ends in a softmax (probabilities) rather than in logits."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


def compile_model(
    model: keras.Model, learning_rate: float = 1e-3, optimizer: keras.optimizers.Optimizer | None = None
) -> keras.Model:
    """Adam (or ``optimizer``), sparse categorical cross-entropy (on logits, or on probabilities
    after a softmax), accuracy; XLA on a GPU only."""
    import keras  # noqa: PLC0415

    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not outputs_probabilities(model)),
        metrics=["accuracy"],
        jit_compile=device_policy().jit_compile,
    )
    return model


def default_backup_dir(name: str) -> Path:
    """Where training state is backed up so a run can resume after a disconnect.

    On Colab with Google Drive mounted (``/content/drive/MyDrive``) it survives the runtime;
    elsewhere it is ``~/.cache/cifar10-course/backups/MODE/NAME``. The run mode is part of the
    path, so an interrupted full-mode run is never resumed by a smoke-mode one (or the reverse).
    """
    from helpers.modes import get_mode  # noqa: PLC0415

    drive = Path("/content/drive/MyDrive")
    base = drive / "cifar10-course" if drive.is_dir() else Path.home() / ".cache" / "cifar10-course"
    return base / "backups" / get_mode().name / name


def train(
    model: keras.Model,
    data: tuple[Split, Split],
    *,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    optimizer: keras.optimizers.Optimizer | None = None,
    augment: bool | Augmentation = False,
    seed: int = 0,
    verbose: int = 0,
    backup_dir: str | Path | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> TrainResult:
    """Compile ``model`` (see :func:`compile_model`) and train it, validating on the test split.

    With ``backup_dir``, Keras's ``BackupAndRestore`` saves the training state after every epoch;
    running the same call again after an interruption resumes from the last finished epoch, and the
    backup is deleted when training completes.
    """
    import keras  # noqa: PLC0415

    (x_train, y_train), (x_test, y_test) = data
    compile_model(model, learning_rate, optimizer)
    callbacks = list(callbacks or [])
    if backup_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir)))
    train_ds = make_dataset(x_train, y_train, batch_size, training=True, augment=augment, seed=seed)
    test_ds = make_dataset(x_test, y_test, 512)
    start = time.perf_counter()
    history = model.fit(
        train_ds, epochs=epochs, validation_data=test_ds, verbose=verbose, shuffle=False, callbacks=callbacks
    )
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
    for name, builder in builders.items():
        for seed in seeds:
            set_seed(seed)
            result = train(build(builder), data, epochs=epochs, seed=seed, **train_options)
            result.name = name
            results.setdefault(name, []).append(result)
            print(
                f"{name:>14} seed {seed}: 測試準確率 (test accuracy) {result.final_accuracy:.3f}"
                f"｜{result.seconds:.0f} s"
            )
    return results


def results_table(results: dict[str, list[TrainResult]]):
    """A pandas DataFrame: one row per model, mean (and spread) over its runs."""
    import pandas as pd  # noqa: PLC0415

    rows = []
    for name, runs in results.items():
        final = np.array([r.final_accuracy for r in runs])
        rows.append(
            {
                "模型 (model)": name,
                "參數 (params)": runs[0].params,
                "次數 (runs)": len(runs),
                "最終測試準確率 (final acc)": round(float(final.mean()), 4),
                "最低～最高 (min–max)": f"{final.min():.3f}–{final.max():.3f}",
                "最佳 epoch 準確率 (best)": round(float(np.mean([r.best_accuracy for r in runs])), 4),
                "訓練秒數 (s / run)": round(float(np.mean([r.seconds for r in runs])), 1),
            }
        )
    return pd.DataFrame(rows).set_index("模型 (model)")


def curves(results: dict[str, list[TrainResult]], metric: str) -> dict[str, list[list[float]]]:
    """``{name: [per-epoch values of one run, ...]}`` for :func:`helpers.plots.plot_curves`."""
    return {name: [r.history[metric] for r in runs] for name, runs in results.items()}


def claim_report(test_accuracy: list[float], claims: dict[int, float]) -> list[str]:
    """Compare a per-epoch test-accuracy curve with claims ``{epoch: accuracy}``, one line each."""
    lines = []
    for epoch, claimed in sorted(claims.items()):
        if len(test_accuracy) < epoch:
            lines.append(f"第 {epoch} 個 epoch：還沒有紀錄（只有 {len(test_accuracy)} 個 epoch）")
            continue
        measured = test_accuracy[epoch - 1]
        gap = (measured - claimed) * 100
        if gap >= 0:
            verdict = "說法成立 (claim holds)"
        elif gap > -2:
            verdict = f"差一點：低 {-gap:.1f} 個百分點 (close, {gap:+.1f} points)"
        else:
            verdict = f"說法不成立：低 {-gap:.1f} 個百分點 (does not hold, {gap:+.1f} points)"
        lines.append(f"第 {epoch} 個 epoch：實測 {measured:.1%}，範例說 {claimed:.0%} → {verdict}")
    return lines
