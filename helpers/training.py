"""Training with the course defaults, comparisons of several models on one budget, and the one
final evaluation on the test set.

Training monitors the validation split (``CourseData.val``, held out of the training set); the
history keys ``val_loss`` / ``val_accuracy`` are Keras's names for it. Models, epochs and orders
are chosen on it. The test set is read once, at the end, by :func:`evaluate_test` (or
:func:`evaluate_test_all` for a comparison).

Used in notebooks 02, 03, 05, 06, 07.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from helpers.data import Augmentation, CourseData, Split, training_batches
from helpers.device import device_policy
from helpers.modes import RunMode
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
    #: The trained model, kept by :func:`compare` for the one final test evaluation.
    model: Any = field(default=None, repr=False, compare=False)
    #: Set by :func:`evaluate_test_all`, once, at the end.
    test_accuracy: float | None = None
    #: The trained model's accuracy on (part of) its training images in inference mode, where it
    #: was measured (benchmark records made with ``--validation``); Keras's logged ``accuracy`` is
    #: a running mean over the epoch in training mode (augmentation, batch statistics, dropout).
    train_accuracy_inference: float | None = None

    @property
    def final_accuracy(self) -> float:
        """Validation accuracy after the last epoch."""
        return self.history["val_accuracy"][-1]

    @property
    def best_accuracy(self) -> float:
        """The best validation accuracy of any epoch."""
        return max(self.history["val_accuracy"])


def build(builder: Callable[[], keras.Model]) -> keras.Model:
    """Call a model builder under this device's precision (:func:`helpers.device.device_policy`:
    ``mixed_float16`` on a GPU with TensorFlow, ``mixed_bfloat16`` with JAX, else float32).

    Only the layers built here get the policy, so NumPy-vs-Keras checks elsewhere in a notebook
    stay in float32. Builders keep their output layer in float32.
    """
    import keras  # noqa: PLC0415

    if not device_policy().mixed_precision:
        return builder()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(device_policy().precision)
    try:
        return builder()
    finally:
        keras.config.set_dtype_policy(previous)


def outputs_probabilities(model: keras.Model) -> bool:
    """Whether the model ends in a softmax (probabilities) rather than in logits."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


#: A training run of at most this many steps runs eagerly: tracing Keras's train and test
#: functions (about 3 s for a small CNN on a 2-core CPU) costs more than that many eager steps
#: (a smoke-mode experiment: 256 images × 2 epochs = 4 steps, 0.7 s eagerly, 3.8 s traced).
#: Every full-mode run is far longer, and traced.
EAGER_MAX_STEPS = 16


def compile_model(
    model: keras.Model,
    learning_rate: float = 1e-3,
    optimizer: keras.optimizers.Optimizer | None = None,
    label_smoothing: float = 0.0,
    run_eagerly: bool = False,
) -> keras.Model:
    """Adam (or ``optimizer``), cross-entropy (on logits, or on probabilities after a softmax),
    accuracy; XLA on a GPU only (never when ``run_eagerly``).

    Labels are integers (sparse cross-entropy), or one-hot when ``label_smoothing`` > 0: Keras's
    sparse loss has no smoothing, so :func:`train` then makes one-hot labels in the pipeline.
    """
    import keras  # noqa: PLC0415

    from_logits = not outputs_probabilities(model)
    if label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=["accuracy"],
        jit_compile=device_policy().jit_compile and not run_eagerly,
        run_eagerly=run_eagerly,
    )
    return model


def default_backup_dir(name: str, mode: RunMode) -> Path:
    """Where training state is backed up so a run can resume after a disconnect.

    On Colab with Google Drive mounted (``/content/drive/MyDrive``) it survives the runtime;
    elsewhere it is ``~/.cache/cifar10-course/backups/MODE/NAME``. The run mode (the one the
    setup cell returned) is part of the path, so an interrupted full-mode run is never resumed by a
    smoke-mode one (or the reverse). Used in 06 and 07.
    """
    drive = Path("/content/drive/MyDrive")
    base = drive / "cifar10-course" if drive.is_dir() else Path.home() / ".cache" / "cifar10-course"
    return base / "backups" / mode.name / name


def fit_splits(data: CourseData | tuple[Split, Split]) -> tuple[Split, Split]:
    """``(train, validation)`` of a :class:`CourseData` (its test split is never used here).

    A plain pair ``(train, monitored)`` is taken as it is: benchmarks pass the test set there to
    record a per-epoch test-accuracy trace as a measurement, never to choose anything.
    """
    if isinstance(data, CourseData):
        return data.train, data.val
    return data


def train(
    model: keras.Model,
    data: CourseData | tuple[Split, Split],
    *,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    optimizer: keras.optimizers.Optimizer | None = None,
    augment: bool | Augmentation = False,
    label_smoothing: float = 0.0,
    seed: int = 0,
    verbose: int = 0,
    backup_dir: str | Path | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> TrainResult:
    """Compile ``model`` (see :func:`compile_model`) and train it on ``data.train``, monitoring
    ``data.val`` after every epoch (see :func:`fit_splits`). The test split is not touched.

    With ``backup_dir``, Keras's ``BackupAndRestore`` saves the training state after every epoch;
    running the same call again after an interruption resumes from the last finished epoch, and the
    backup is deleted when training completes. The state goes to a subfolder named after the run's
    settings (model, parameters, epochs, batch, images, seed), so a backup left by a run with other
    settings is never resumed by mistake. A run of at most :data:`EAGER_MAX_STEPS` steps runs
    eagerly (see there).
    """
    import keras  # noqa: PLC0415

    (x_train, y_train), (x_val, y_val) = fit_splits(data)
    steps = -(-len(x_train) // batch_size) * epochs
    compile_model(model, learning_rate, optimizer, label_smoothing, run_eagerly=steps <= EAGER_MAX_STEPS)
    callbacks = list(callbacks or [])
    run_backup = None
    if backup_dir is not None:
        settings = f"{model.name}-p{model.count_params()}-e{epochs}-b{batch_size}-n{len(x_train)}-s{seed}"
        run_backup = Path(backup_dir) / settings
        callbacks.append(keras.callbacks.BackupAndRestore(str(run_backup)))
    one_hot = bool(label_smoothing)
    train_ds = training_batches(
        x_train, y_train, batch_size, training=True, augment=augment, seed=seed, one_hot=one_hot
    )
    val_ds = training_batches(x_val, y_val, 512, one_hot=one_hot)
    start = time.perf_counter()
    history = model.fit(
        train_ds, epochs=epochs, validation_data=val_ds, verbose=verbose, shuffle=False, callbacks=callbacks
    )
    seconds = time.perf_counter() - start
    if run_backup is not None and run_backup.parent.is_dir() and not any(run_backup.parent.iterdir()):
        run_backup.parent.rmdir()  # the finished run's backup is gone; drop the empty folder too
    return TrainResult(
        name=model.name,
        params=model.count_params(),
        history={k: [float(v) for v in values] for k, values in history.history.items()},
        seconds=seconds,
        seed=seed,
    )


class SimulatedDisconnectError(RuntimeError):
    """Raised by :func:`simulated_disconnect` to stand for a lost Colab runtime."""


def simulated_disconnect(after_epochs: int) -> keras.callbacks.Callback:
    """A callback that stops training with :class:`SimulatedDisconnectError` once ``after_epochs``
    epochs have finished and been backed up (it fires as the next epoch begins), to show that
    ``train(..., backup_dir=...)`` resumes where it stopped."""
    import keras  # noqa: PLC0415

    class SimulatedDisconnect(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if epoch == after_epochs:
                raise SimulatedDisconnectError(
                    f"模擬斷線：第 {after_epochs} 個 epoch 結束後執行階段中斷了。"
                    f" (Simulated disconnect after epoch {after_epochs}.)"
                )

    return SimulatedDisconnect()


@dataclass(frozen=True)
class FastRecipe:
    """The fast CPU recipe's training settings (with :func:`helpers.models.fast_cnn`).

    SGD with Nesterov momentum 0.9 and weight decay 5e-4; the learning rate warms up linearly
    from 0 to ``peak_learning_rate`` over the first quarter of the steps, then follows a cosine
    down to 0 (both built into Keras: ``CosineDecay`` with ``warmup_steps``); batch 256; label
    smoothing 0.2; random flip and 4-pixel pad-and-crop in the input pipeline. On a small
    training set (smoke mode's 128 images) the batch shrinks so that every epoch still has
    ``min_steps_per_epoch`` steps.
    """

    epochs: int = 8
    batch_size: int = 256
    min_steps_per_epoch: int = 20
    peak_learning_rate: float = 0.2
    warmup_fraction: float = 0.25
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    # airbench's tricks (:mod:`helpers.tricks`), each off unless set; the stem's need a model with a
    # 2×2 conv named "stem" after a Normalization named "standardize" (helpers.models.fast_cnn).
    #: The stem's kernel set to whiten 5,000 training images' patches, then frozen (×0 steps,
    #: no weight decay); the stem's bias still trains.
    whiten: bool = False
    #: Freeze the stem's bias after this many epochs (airbench: 3; no weight decay on it, since
    #: Keras's decoupled decay would move a frozen variable); None: it trains throughout.
    freeze_stem_bias_after: int | None = None
    #: Every 3×3 conv starts as an identity on its first channels (:func:`helpers.tricks.dirac_kernel`).
    dirac: bool = False
    #: The learning-rate multiplier of every BatchNorm bias (β) (airbench: 64).
    bn_bias_lr: float = 1.0
    #: Airbench's lookahead (:class:`helpers.tricks.Lookahead`) from this share of the steps on
    #: (airbench: epoch 3 of 10); None: off.
    lookahead_from: float | None = None

    def batch_for(self, train_size: int) -> int:
        """The batch size for ``train_size`` training images."""
        return max(1, min(self.batch_size, train_size // self.min_steps_per_epoch))

    def steps(self, train_size: int, epochs: int | None = None) -> int:
        """Training steps for ``epochs`` (default :attr:`epochs`) on ``train_size`` images."""
        return -(-train_size // self.batch_for(train_size)) * (epochs or self.epochs)

    def multipliers(self) -> dict[str, float]:
        """Learning-rate multipliers by variable path (:func:`helpers.tricks.ScaledSGD`)."""
        found: dict[str, float] = {}
        if self.whiten:
            found["stem/kernel"] = 0.0
        if self.freeze_stem_bias_after is not None:
            found["stem/bias"] = 1.0
        if self.bn_bias_lr != 1.0:
            found["/beta"] = self.bn_bias_lr
        return found

    def optimizer(self, train_size: int, epochs: int | None = None) -> keras.optimizers.Optimizer:
        """The optimizer and its schedule for ``epochs`` (default :attr:`epochs`) on ``train_size``
        images: Keras's SGD, or :func:`helpers.tricks.ScaledSGD` where a trick scales a variable."""
        import keras  # noqa: PLC0415

        steps = self.steps(train_size, epochs)
        warmup = max(1, int(self.warmup_fraction * steps))
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=max(1, steps - warmup),
            warmup_target=self.peak_learning_rate,
            warmup_steps=warmup,
        )
        options = {"momentum": 0.9, "nesterov": True, "weight_decay": self.weight_decay}
        if self.multipliers():
            from helpers.tricks import ScaledSGD  # noqa: PLC0415

            return ScaledSGD(schedule, multipliers=self.multipliers(), **options)
        return keras.optimizers.SGD(schedule, **options)

    def prepare(self, model: keras.Model, x_train: np.ndarray, epochs: int, seed: int) -> tuple[Any, list]:
        """Apply the tricks that act before training (whitening, dirac) to ``model``; return the
        optimizer and the callbacks the others need (the bias freeze, lookahead)."""
        from helpers.tricks import FreezeAfter, Lookahead, apply_dirac, set_whitening  # noqa: PLC0415

        train_size = len(x_train)
        optimizer = self.optimizer(train_size, epochs)
        callbacks: list = []
        frozen = []  # no weight decay on them: Keras's decay is decoupled, it would move them
        if self.whiten:
            chosen = np.sort(np.random.default_rng(seed).permutation(train_size)[:5000])
            # what the stem sees: the images through the model's own standardising layer
            images = np.asarray(model.get_layer("standardize")(x_train[chosen].astype("float32") / 255.0))
            set_whitening(model.get_layer("stem"), images)
            frozen.append(model.get_layer("stem").kernel)
        if self.freeze_stem_bias_after is not None:
            frozen.append(model.get_layer("stem").bias)
            callbacks.append(FreezeAfter(optimizer, "stem/bias", self.freeze_stem_bias_after))
        if frozen:
            optimizer.exclude_from_weight_decay(var_list=frozen)
        if self.dirac:
            apply_dirac(model)
        if self.lookahead_from is not None:
            total = self.steps(train_size, epochs)
            callbacks.append(Lookahead(total, start_step=int(self.lookahead_from * total)).callback())
        return optimizer, callbacks

    def train(
        self,
        model: keras.Model,
        data: CourseData | tuple[Split, Split],
        epochs: int | None = None,
        **options: Any,
    ):
        """:func:`train` with this recipe; ``options`` go to :func:`train` (seed, verbose, ...)."""
        epochs = epochs or self.epochs
        x_train = fit_splits(data)[0][0]
        optimizer, callbacks = self.prepare(model, x_train, epochs, options.get("seed", 0))
        options["callbacks"] = [*callbacks, *(options.get("callbacks") or [])]
        return train(
            model,
            data,
            epochs=epochs,
            batch_size=self.batch_for(len(x_train)),
            optimizer=optimizer,
            augment=True,
            label_smoothing=self.label_smoothing,
            **options,
        )


#: The CPU recipe: :func:`helpers.models.fast_cnn`, 8 epochs, about 8 minutes on 2 CPU cores.
FAST_RECIPE = FastRecipe()

#: The GPU reference recipe for :func:`helpers.models.resnet9` (Page's ResNet-9 schedule, shortened):
#: batch 512, peak 0.4, 18 epochs. Keras's ``weight_decay`` is decoupled (applied to the weights
#: directly, not through the momentum), so 5e-3 here stands for the coupled L2 of 5e-4 used with
#: momentum 0.9 in Page's PyTorch code. Mixed precision and XLA come from :func:`build` and
#: :func:`compile_model` on a GPU.
GPU_RECIPE = FastRecipe(
    epochs=18, batch_size=512, peak_learning_rate=0.4, warmup_fraction=0.2, weight_decay=5e-3
)

#: The GPU recipe with airbench's tricks, for :func:`helpers.models.fast_cnn` at airbench94's widths
#: (:data:`helpers.models.AIRBENCH_WIDTHS`): the fast CPU recipe's schedule and regularisation
#: (weight decay 5e-4, label smoothing 0.2) at batch 512 with the learning rate scaled with the
#: batch (0.4), 16 epochs, the whitened stem frozen from the start and its bias after 3 epochs
#: (the two tricks that did not lose on the CPU, issue 27 §1); test-time augmentation level 2 at
#: the end (``benchmarks/device/run.sh``). Not yet run on a GPU: its settings are the CPU
#: recipe's, scaled, not tuned there.
GPU_FAST_RECIPE = FastRecipe(
    epochs=16,
    batch_size=512,
    peak_learning_rate=0.4,
    warmup_fraction=0.2,
    whiten=True,
    freeze_stem_bias_after=3,
)


def accuracy(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    flip_tta: bool = False,
    tta_level: int | None = None,
    batch_size: int = 500,
) -> float:
    """The share of images whose highest score is the label (``x`` uint8 or already in [0, 1]).

    The homework's self-check and the grader measure a saved model this same way. With
    ``flip_tta`` (test-time augmentation), the scores on the images and on their mirror images
    are averaged first; ``tta_level`` 2 adds airbench's one-pixel translations
    (:func:`helpers.tricks.tta_views`).
    """
    from helpers.tricks import tta_scores  # noqa: PLC0415

    images = x.astype("float32") / (255.0 if x.dtype == np.uint8 else 1.0)
    level = tta_level if tta_level is not None else int(flip_tta)
    scores = tta_scores(lambda view: model.predict(view, batch_size=batch_size, verbose=0), images, level)
    return float(np.mean(scores.argmax(axis=1) == np.asarray(y).reshape(-1)))


def compare(
    builders: dict[str, Callable[[], keras.Model]],
    data: CourseData | tuple[Split, Split],
    *,
    epochs: int,
    seeds: tuple[int, ...] = (0,),
    recipe: FastRecipe | dict[str, FastRecipe] | None = None,
    **train_options: Any,
) -> dict[str, list[TrainResult]]:
    """Train every model once per seed on the same data and budget; seed set before each build.

    With ``recipe`` (one :class:`FastRecipe` for all, or one per name), each run trains with
    :meth:`FastRecipe.train` (its optimizer is built anew for every model); otherwise with
    :func:`train` and ``train_options``. Prints each run's final validation accuracy; each result
    keeps its model for one final :func:`evaluate_test_all`.
    """
    results: dict[str, list[TrainResult]] = {}
    for name, builder in builders.items():
        chosen = recipe.get(name) if isinstance(recipe, dict) else recipe
        for seed in seeds:
            set_seed(seed)
            model = build(builder)
            if chosen is None:
                result = train(model, data, epochs=epochs, seed=seed, **train_options)
            else:
                result = chosen.train(model, data, epochs, seed=seed, **train_options)
            result.model = model
            result.name = name
            results.setdefault(name, []).append(result)
            print(
                f"{name:>14} seed {seed}: 驗證準確率 (validation accuracy) {result.final_accuracy:.3f}"
                f"｜{result.seconds:.0f} s"
            )
    return results


def results_table(results: dict[str, list[TrainResult]]):
    """A pandas DataFrame: one row per model, the mean and spread (min–max, standard deviation)
    of its runs' final validation accuracy, and, once :func:`evaluate_test_all` has run, the mean
    test accuracy."""
    rows = []
    for name, runs in results.items():
        final = np.array([r.final_accuracy for r in runs])
        row = {
            "模型 (model)": name,
            "參數 (params)": runs[0].params,
            "種子數 (seeds)": len(runs),
            "驗證準確率 (val acc, mean)": round(float(final.mean()), 4),
            "最低～最高 (min–max)": f"{final.min():.3f}–{final.max():.3f}",
            "標準差 (std)": round(float(final.std(ddof=1)), 4) if len(final) > 1 else float("nan"),
            "訓練秒數 (s / run)": round(float(np.mean([r.seconds for r in runs])), 1),
        }
        tests = [r.test_accuracy for r in runs if r.test_accuracy is not None]
        if tests:
            row["測試準確率 (test acc, mean)"] = round(float(np.mean(tests)), 4)
        rows.append(row)
    return pd.DataFrame(rows).set_index("模型 (model)")


def seed_verdicts(results: dict[str, list[TrainResult]]) -> list[str]:
    """For every pair of models (best mean first): the difference of their mean final validation
    accuracy, and whether it exceeds the seed spread (:func:`range_verdicts`)."""
    return range_verdicts({name: [r.final_accuracy for r in runs] for name, runs in results.items()})


def permutation_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided exact permutation test of "a and b come from the same runs": the share of all ways
    to split the pooled values into groups of ``len(a)`` and ``len(b)`` whose difference of means
    is at least as large as the observed one. With 3 runs against 3 there are only 20 splits, so
    the smallest possible p is 2/20 = 0.1: three seeds can never show a difference at p < 0.05."""
    pooled = np.asarray([*a, *b], dtype=float)
    observed = abs(np.mean(a) - np.mean(b))
    splits = list(itertools.combinations(range(len(pooled)), len(a)))
    extreme = 0
    for chosen in splits:
        mask = np.zeros(len(pooled), dtype=bool)
        mask[list(chosen)] = True
        extreme += abs(pooled[mask].mean() - pooled[~mask].mean()) >= observed - 1e-12
    return extreme / len(splits)


def non_overlap_false_positive_rate(n_a: int, n_b: int) -> float:
    """How often two groups of runs that do not differ at all still have ranges that do not overlap
    (the rule of :func:`range_verdicts`): 2 of the C(n_a + n_b, n_a) equally likely orderings, about
    10% for 3 against 3, 0.8% for 5 against 5."""
    return 2 / math.comb(n_a + n_b, n_a)


def better_by_range(a: Sequence[float], b: Sequence[float]) -> int:
    """The course's rule for runs over seeds: 1 when every run of ``a`` beats every run of ``b``
    (their ranges do not overlap), -1 the other way round, 0 when the ranges overlap."""
    return 1 if min(a) > max(b) else -1 if min(b) > max(a) else 0


def mean_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """The difference of the means of ``a`` and ``b`` (runs over seeds) and its standard error
    (√(s²_a/n_a + s²_b/n_b)), both in percentage points."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return (a.mean() - b.mean()) * 100, float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))) * 100


def range_verdicts(finals: dict[str, Sequence[float]]) -> list[str]:
    """For every pair of names (best mean first): the difference of their mean final accuracy
    over runs (seeds) with its standard error, whether it exceeds the seed spread, and the exact
    permutation test's p (:func:`permutation_p_value`).

    The rule, with a handful of seeds: two models are told apart only when their ranges over seeds
    (min–max of the final accuracy) do not overlap; otherwise the difference is inside the
    spread and the line says they are indistinguishable here. Even with no true difference, the
    ranges of 3 runs against 3 fail to overlap about 10% of the time
    (:func:`non_overlap_false_positive_rate`): the line says so.
    """
    values = {name: np.asarray(runs, dtype=float) for name, runs in finals.items()}
    ranked = sorted(values, key=lambda name: -values[name].mean())
    lines = []
    for i, better in enumerate(ranked):
        for worse in ranked[i + 1 :]:
            a, b = values[better], values[worse]
            gap = (a.mean() - b.mean()) * 100
            if len(a) > 1 and len(b) > 1:
                gap, error = mean_difference(a, b)
                chance = non_overlap_false_positive_rate(len(a), len(b))
                measure = (
                    f"{gap:+.1f} ± {error:.1f} 個百分點 (points, ± 標準誤 SE)，"
                    f"置換檢定 (permutation test) p = {permutation_p_value(a, b):.2f}"
                )
                if better_by_range(a, b) == 1:
                    verdict = (
                        "範圍不重疊：在這裡分得出來 (ranges do not overlap: a real difference here；"
                        f"兩者其實一樣時也有 {chance:.0%} 的機會如此 false-positive rate {chance:.0%})"
                    )
                else:
                    verdict = "範圍重疊：在這裡分不出來 (ranges overlap: indistinguishable here)"
            else:
                measure = f"{gap:+.1f} 個百分點 (points)"
                verdict = "只有一個種子，無法判斷 (one seed: cannot tell)"
            lines.append(
                f"{better} − {worse}: {measure}；"
                f"{better} {a.min():.3f}–{a.max():.3f}，{worse} {b.min():.3f}–{b.max():.3f} → {verdict}"
            )
    return lines


def curves(results: dict[str, list[TrainResult]], metric: str) -> dict[str, list[list[float]]]:
    """``{name: [per-epoch values of one run, ...]}`` for :func:`helpers.plots.plot_curves`."""
    return {name: [r.history[metric] for r in runs] for name, runs in results.items()}


TEST_ONCE_NOTE = "測試集只在最後評估這一次 (the test set is evaluated once, at the end)"
TEST_WITHHELD_NOTE = (
    "評分時不提供測試集標籤，測試準確率由評分程式另外計算。"
    " (Test labels are withheld while grading; the grader measures test accuracy separately.)"
)


def evaluate_test(model: keras.Model, data: CourseData, **options: Any) -> float | None:
    """The notebook's one evaluation on the test set, at the end: prints and returns the accuracy
    (see :func:`accuracy`; ``options`` such as ``flip_tta`` go to it).

    Returns ``None`` (and says so) when the test labels are withheld, as in a homework grading run.
    """
    x_test, y_test = data.test
    if y_test is None:
        print(TEST_WITHHELD_NOTE)
        return None
    test_accuracy = accuracy(model, x_test, y_test, **options)
    print(f"測試準確率 (test accuracy)：{test_accuracy:.2%}（{len(x_test):,} 張）｜{TEST_ONCE_NOTE}")
    return test_accuracy


def evaluate_test_all(results: dict[str, list[TrainResult]], data: CourseData) -> None:
    """After a :func:`compare` is finished and read on validation: every kept model's one test
    evaluation, stored on its result (``test_accuracy``, shown by :func:`results_table`)."""
    x_test, y_test = data.test
    if y_test is None:
        print(TEST_WITHHELD_NOTE)
        return
    for runs in results.values():
        for run in runs:
            run.test_accuracy = accuracy(run.model, x_test, y_test)
    print(f"{TEST_ONCE_NOTE}：{sum(len(r) for r in results.values())} 個模型 (models)，{len(x_test):,} 張")


def claim_report(runs: list[list[float]], claims: dict[int, float]) -> list[str]:
    """Compare per-epoch test-accuracy curves of one or more runs (seeds) with claims
    ``{epoch: accuracy}``, one line each.

    The rule follows :func:`seed_verdicts`: the claim is reproduced here when every run reaches it,
    not reproduced when no run does (the line gives how far the mean falls short), and inside the
    spread when it lies between the lowest and the highest run. With one run the line says so:
    one run shows no spread. Runs shorter than a claim's epoch are left out of that line.
    """
    lines = []
    for epoch, claimed in sorted(claims.items()):
        values = _values_at(runs, epoch)
        if not len(values):
            longest = max((len(run) for run in runs), default=0)
            lines.append(f"第 {epoch} 個 epoch：還沒有紀錄（最長的只有 {longest} 個 epoch）")
            continue
        gap = (values.mean() - claimed) * 100
        if len(values) == 1:
            measured = f"實測 {values[0]:.1%}（一次執行，看不出種子間的起伏 one run, no spread）"
        else:
            measured = (
                f"實測平均 {values.mean():.1%}（{len(values)} 個種子 seeds，"
                f"{values.min():.1%}–{values.max():.1%}，標準差 std {values.std(ddof=1):.1%}）"
            )
        if values.min() >= claimed:
            verdict = "在這裡重現了 (reproduced here)"
        elif values.max() < claimed:
            verdict = f"在這裡沒有重現：低 {-gap:.1f} 個百分點 (not reproduced here, {gap:+.1f} points)"
        else:
            verdict = (
                "說法落在種子的範圍內：有的種子達到、有的沒有 "
                f"(inside the seed range, mean {gap:+.1f} points)"
            )
        lines.append(f"第 {epoch} 個 epoch：{measured}，範例說 {claimed:.0%} → {verdict}")
    return lines


def _values_at(runs: list[list[float]], epoch: int) -> np.ndarray:
    """The value at ``epoch`` (1-based) of every run that reached it."""
    return np.array([run[epoch - 1] for run in runs if len(run) >= epoch], dtype=float)


def reference_within_runs(reference: list[float], runs: list[list[float]], epochs: list[int]) -> list[str]:
    """Whether one reference run (e.g. the original script) lies inside the range of several runs
    (e.g. a port's seeds) at the given epochs, one line each."""
    lines = []
    for epoch in epochs:
        values = _values_at(runs, epoch)
        if len(reference) < epoch or not len(values):
            lines.append(f"第 {epoch} 個 epoch：紀錄不夠長 (record too short)")
            continue
        value = reference[epoch - 1]
        inside = values.min() <= value <= values.max()
        verdict = (
            "在範圍內：分不出來 (inside the range: indistinguishable here)"
            if inside
            else f"在範圍外：和平均差 {(value - values.mean()) * 100:+.1f} 個百分點 (outside the range)"
        )
        lines.append(
            f"第 {epoch} 個 epoch：原作 {value:.1%}，移植版 {len(values)} 個種子 "
            f"{values.min():.1%}–{values.max():.1%} → {verdict}"
        )
    return lines


def bowl_loss_after(
    optimizer: keras.optimizers.Optimizer,
    steps: int = 50,
    curvature: tuple[float, float] = (1.0, 25.0),
    start: tuple[float, float] = (1.0, 1.0),
) -> float:
    """Notebook 06's optimizer demo: ``steps`` steps of a Keras ``optimizer`` on the elongated bowl
    ``loss = ½ (a·w₁² + b·w₂²)`` (``curvature = (a, b)``: one flat direction and one steep one, as
    in training), from ``start``; returns the loss at the end. The gradient ``(a·w₁, b·w₂)`` is
    written out, so the step is exactly the optimizer's rule."""
    import keras  # noqa: PLC0415

    scale = np.asarray(curvature, dtype="float32")
    weights = keras.Variable(np.asarray(start, dtype="float32"))
    for _ in range(steps):
        optimizer.apply([keras.ops.convert_to_tensor(scale * np.asarray(weights))], [weights])
    end = np.asarray(weights, dtype="float64")
    return float(0.5 * np.sum(scale * end * end))
