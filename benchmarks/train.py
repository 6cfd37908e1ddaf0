"""Train a named recipe on CIFAR-10 and write a JSON result, updated after every epoch.

The JSON holds the hardware, the TensorFlow/Keras versions, images/s, per-epoch test accuracy and
wall time, and the time to reach 75 / 79 / 80 / 94 % test accuracy. Example (the Keras example,
50 epochs, as in the lesson's claim)::

    python -m benchmarks.train keras-example --epochs 50 --seed 0 \\
        --out benchmarks/results/keras_example_50ep_cpu_seed0.json

Data come from ``load_cifar10()`` (set ``CIFAR10_DIR`` for the offline copy). ``--train-size``
trains on a stratified subset, for a quick check of the script itself.

The per-epoch test accuracy is a **measurement** (time-to-accuracy, as the speed-run literature
reports it, and the seed's per-epoch claim): training passes the test set where it would pass a
validation set, and nothing is chosen by it. The notebooks choose on a validation split.

``keras2-original`` runs the seed's Keras 2 script itself as an independent reference, through
``tf_keras`` (the Keras 2 API for TensorFlow 2.x; ``pip install -r benchmarks/requirements-keras2.txt``)
with only its imports changed: ``ImageDataGenerator``, ``RMSprop(lr=1e-4, decay=1e-6)`` (the
legacy optimizer, the one that still has ``decay``), ``categorical_crossentropy`` on one-hot labels.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.device import hardware_record, software_versions
from helpers.records import epoch_entry, write_record

PROCESS_START = time.monotonic()


@dataclass(frozen=True)
class Recipe:
    """What a benchmark trains: a model builder, and how to train it for some epochs."""

    description: str
    build: Callable[[], Any]
    fit: Callable[..., Any]  # (model, data, epochs, seed, callbacks) -> TrainResult
    batch_size: int
    keras2: bool = False  # built and trained with tf_keras (the Keras 2 API), not Keras 3
    known_differences: tuple[str, ...] = ()  # from the run it reproduces, printed with its verdict
    tricks: tuple[str, ...] = ()  # the airbench tricks (:data:`TRICKS`) it trains with (:func:`tricks_in`)


JPEG_COPY = "資料：離線的 CIFAR-10 副本，原圖以 JPEG（品質 75）重新壓縮 (offline copy, JPEG quality 75)"


#: The airbench tricks ``--tricks`` can add to a recipe trained with the fast CPU recipe, with
#: airbench's settings (helpers.tricks; hyperparameters of airbench94).
TRICKS: dict[str, dict[str, Any]] = {
    "whiten": {"whiten": True},
    "freeze": {"freeze_stem_bias_after": 3},
    "dirac": {"dirac": True},
    "bnbias": {"bn_bias_lr": 64.0},
    "lookahead": {"lookahead_from": 0.3},
}


def with_tricks(recipe: Any, names: list[str]) -> Any:
    """``recipe`` (a :class:`helpers.training.FastRecipe`) with the named :data:`TRICKS` on."""
    changes: dict[str, Any] = {}
    for name in names:
        if name not in TRICKS:
            raise SystemExit(f"unknown trick {name!r}; choose from {', '.join(TRICKS)}")
        changes.update(TRICKS[name])
    return dataclasses.replace(recipe, **changes)


def tricks_in(recipe: Any) -> tuple[str, ...]:
    """The :data:`TRICKS` that ``recipe`` (a :class:`helpers.training.FastRecipe`) trains with."""
    return tuple(
        name
        for name, settings in TRICKS.items()
        if all(getattr(recipe, key) == value for key, value in settings.items())
    )


def recipes(fast_recipe: Any = None) -> dict[str, Recipe]:
    from helpers.models import (  # noqa: PLC0415
        AIRBENCH_WIDTHS,
        augment_with_layers,
        cifar_resnet,
        fast_cnn,
        improved_cnn,
        keras_example_augmentation,
        keras_example_cnn,
        keras_example_optimizer,
        resnet9,
        small_cnn,
    )
    from helpers.training import FAST_RECIPE, GPU_FAST_RECIPE, GPU_RECIPE, train  # noqa: PLC0415

    def keras_example(model, data, epochs, seed, callbacks):
        augment = augment_with_layers(keras_example_augmentation(seed))
        return train(
            model,
            data,
            epochs=epochs,
            batch_size=32,
            optimizer=keras_example_optimizer(),
            augment=augment,
            seed=seed,
            verbose=2,
            callbacks=callbacks,
        )

    def improved(model, data, epochs, seed, callbacks):
        return train(
            model,
            data,
            epochs=epochs,
            batch_size=128,
            augment=True,
            seed=seed,
            verbose=2,
            callbacks=callbacks,
        )

    chosen_fast = fast_recipe or FAST_RECIPE

    def fast(model, data, epochs, seed, callbacks):
        return chosen_fast.train(model, data, epochs, seed=seed, verbose=2, callbacks=callbacks)

    def gpu(model, data, epochs, seed, callbacks):
        return GPU_RECIPE.train(model, data, epochs, seed=seed, verbose=2, callbacks=callbacks)

    def gpu_fast(model, data, epochs, seed, callbacks):
        return GPU_FAST_RECIPE.train(model, data, epochs, seed=seed, verbose=2, callbacks=callbacks)

    def keras2_model():
        import tf_keras as keras2  # noqa: PLC0415 - the Keras 2 API, only for this recipe
        from tf_keras.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D  # noqa: PLC0415

        model = keras2.models.Sequential()  # the seed's model, line for line
        model.add(Conv2D(32, (3, 3), padding="same", input_shape=(32, 32, 3)))
        model.add(Activation("relu"))
        model.add(Conv2D(32, (3, 3)))
        model.add(Activation("relu"))
        model.add(MaxPooling2D(pool_size=(2, 2)))
        model.add(Dropout(0.25))
        model.add(Conv2D(64, (3, 3), padding="same"))
        model.add(Activation("relu"))
        model.add(Conv2D(64, (3, 3)))
        model.add(Activation("relu"))
        model.add(MaxPooling2D(pool_size=(2, 2)))
        model.add(Dropout(0.25))
        model.add(Flatten())
        model.add(Dense(512))
        model.add(Activation("relu"))
        model.add(Dropout(0.5))
        model.add(Dense(10))
        model.add(Activation("softmax"))
        return model

    def keras2_original(model, data, epochs, seed, callbacks):
        import tf_keras as keras2  # noqa: PLC0415
        from tf_keras.preprocessing.image import ImageDataGenerator  # noqa: PLC0415

        keras2.utils.set_random_seed(seed)
        (x_train, y_train), (x_test, y_test) = data
        x_train, x_test = x_train.astype("float32") / 255, x_test.astype("float32") / 255
        y_train, y_test = keras2.utils.to_categorical(y_train, 10), keras2.utils.to_categorical(y_test, 10)
        optimizer = keras2.optimizers.legacy.RMSprop(
            learning_rate=0.0001, decay=1e-6
        )  # was rmsprop(lr=, decay=)
        model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        datagen = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
        datagen.fit(x_train)
        return model.fit(  # fit_generator(...) in the script; fit takes the generator in tf_keras
            datagen.flow(x_train, y_train, batch_size=32, seed=seed),
            epochs=epochs,
            validation_data=(x_test, y_test),
            callbacks=callbacks,
            verbose=2,
        )

    return {
        "keras-example": Recipe(
            description="Keras 2 cifar10_cnn example ported to Keras 3: RMSprop 1e-4 with "
            "InverseTimeDecay(1e-6 per step), batch 32, shift 0.1 + horizontal flip",
            build=keras_example_cnn,
            fit=keras_example,
            batch_size=32,
            known_differences=(
                JPEG_COPY,
                "框架：TensorFlow 2 + Keras 3（版本記在 versions），不是 2017 年的 Keras 2 "
                "(framework versions)",
                "RMSprop：Keras 3 的 ε 在根號裡面，移植版用 ε² = 1e-14，"
                "每一步和 Keras 2 的 lr·g/(√v+ε) 相差不到 ε "
                "(epsilon squared inside the root; tests/test_models.py compares 300 steps)",
                "資料增強：RandomTranslation + RandomFlip 在 tf.data 裡，取代已移除的 ImageDataGenerator；"
                "平移最多 10%、雙線性內插、nearest 補邊，分布相同，亂數序列不同 "
                "(same distribution, other random stream)",
            ),
        ),
        "improved": Recipe(
            description="notebook 06's improved_cnn: Conv-BN-ReLU 32/64/128 + GAP, Adam 1e-3, batch 128, "
            "flip + 4-px pad-crop",
            build=improved_cnn,
            fit=improved,
            batch_size=128,
        ),
        "fast-cnn": Recipe(
            description="fast CPU recipe: helpers.models.fast_cnn + helpers.training.FAST_RECIPE "
            f"(SGD Nesterov, warmup + cosine to 0, peak {FAST_RECIPE.peak_learning_rate}, "
            f"batch {FAST_RECIPE.batch_size}, label smoothing {FAST_RECIPE.label_smoothing}, "
            "flip + 4-px pad-crop)",
            build=fast_cnn,
            fit=fast,
            tricks=tricks_in(chosen_fast),
            batch_size=FAST_RECIPE.batch_size,
            known_differences=(JPEG_COPY,),
        ),
        "keras2-original": Recipe(
            description="the seed's Keras 2 cifar10_cnn script itself on tf_keras (Keras 2 API): "
            "legacy RMSprop(1e-4, decay=1e-6), ImageDataGenerator(shift 0.1, horizontal flip), batch 32",
            build=keras2_model,
            fit=keras2_original,
            batch_size=32,
            keras2=True,
            known_differences=(
                JPEG_COPY,
                "框架：tf_keras（Keras 2 的 API）+ TensorFlow 2（版本記在 versions），不是 2017 年的 Keras 2 "
                "(framework versions)",
                "RMSprop：tf_keras 的 legacy RMSprop 由 TensorFlow 的 kernel 計算，ε 在根號裡面；"
                "2017 年的 Keras 2 在根號外面 (epsilon inside the root)",
            ),
        ),
        **{
            f"resnet20-{unit}": Recipe(
                description=f"ResNet-20 (helpers.models.cifar_resnet, He et al.) with {label} residual "
                "units, trained with the fast CPU recipe (helpers.training.FAST_RECIPE: SGD Nesterov, "
                f"warmup + cosine to 0, peak {FAST_RECIPE.peak_learning_rate}, "
                f"batch {FAST_RECIPE.batch_size}, label smoothing {FAST_RECIPE.label_smoothing}, "
                "flip + 4-px pad-crop)",
                build=lambda unit=unit: cifar_resnet(20, unit),
                fit=fast,
                tricks=tricks_in(chosen_fast),
                batch_size=FAST_RECIPE.batch_size,
                known_differences=(
                    JPEG_COPY,
                    "論文：164 個 epoch、batch 128、SGD 0.1（分段降低）、捷徑在縮小處補零 (option A)；"
                    "這裡的預算短得多、捷徑用 1×1 卷積投影 (option B) "
                    "(the paper trains 164 epochs with zero-padded shortcuts; here a short budget, "
                    "1×1 projections)",
                ),
            )
            for unit, label in (("original", "original (ResNet v1)"), ("preact", "full pre-activation (v2)"))
        },
        **{
            f"deep-{head}": Recipe(
                description=f"lesson 05's deeper BN body with the {label} head: "
                "helpers.models.small_cnn('conv-bn-relu', (32, 64, 128), bn_momentum=0.9, "
                f"head={head!r}), trained with the homework's schedule (helpers.training.FAST_RECIPE: "
                f"SGD Nesterov, warmup + cosine to 0, peak {FAST_RECIPE.peak_learning_rate}, "
                f"batch {FAST_RECIPE.batch_size}, weight decay {FAST_RECIPE.weight_decay}, "
                f"label smoothing {FAST_RECIPE.label_smoothing}, flip + 4-px pad-crop)",
                build=lambda head=head: small_cnn("conv-bn-relu", (32, 64, 128), bn_momentum=0.9, head=head),
                fit=fast,
                tricks=tricks_in(chosen_fast),
                batch_size=FAST_RECIPE.batch_size,
                known_differences=(JPEG_COPY,),
            )
            for head, label in (("gap", "GAP → Dense(10)"), ("flatten", "Flatten → Dense(10)"))
        },
        "gpu-reference": Recipe(
            description="GPU reference: ResNet-9 (helpers.models.resnet9) + helpers.training.GPU_RECIPE "
            f"(SGD Nesterov, warmup + cosine, peak {GPU_RECIPE.peak_learning_rate}, "
            f"batch {GPU_RECIPE.batch_size}, label smoothing {GPU_RECIPE.label_smoothing}, "
            "flip + 4-px pad-crop); mixed precision + XLA on a GPU",
            build=resnet9,
            fit=gpu,
            batch_size=GPU_RECIPE.batch_size,
        ),
        "gpu-airbench": Recipe(
            description=f"GPU reference with airbench's tricks: helpers.models.fast_cnn{AIRBENCH_WIDTHS} "
            "(airbench94's widths) + helpers.training.GPU_FAST_RECIPE (SGD Nesterov, warmup + cosine, "
            f"peak {GPU_FAST_RECIPE.peak_learning_rate}, batch {GPU_FAST_RECIPE.batch_size}, label "
            f"smoothing {GPU_FAST_RECIPE.label_smoothing}, flip + 4-px pad-crop, whitened frozen stem, "
            f"stem bias frozen after {GPU_FAST_RECIPE.freeze_stem_bias_after} epochs); mixed precision "
            "+ XLA on a GPU",
            build=lambda: fast_cnn(AIRBENCH_WIDTHS),
            fit=gpu_fast,
            batch_size=GPU_FAST_RECIPE.batch_size,
            known_differences=(JPEG_COPY,),
            tricks=tricks_in(GPU_FAST_RECIPE),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train", description=__doc__.split("\n")[0])
    parser.add_argument("recipe", choices=sorted(recipes()))
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--train-size", type=int, default=None, help="stratified subset (quick checks)")
    parser.add_argument("--test-size", type=int, default=None, help="stratified test subset (quick checks)")
    parser.add_argument(
        "--tta", action="store_true", help="also report flip test-time augmentation at the end"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="time budget: stop after the first epoch that ends past it (whole-process wall time)",
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="the course's way: train on 45,000 images, evaluate the validation split (5,000) after "
        "each epoch, the test set once at the end, and analyse the validation errors",
    )
    parser.add_argument("--note", default=None, help="free text kept in the record's notes")
    parser.add_argument(
        "--tricks",
        default="",
        help=f"comma-separated airbench tricks for a fast-recipe run: {', '.join(TRICKS)}",
    )
    parser.add_argument(
        "--tta-level",
        type=int,
        default=None,
        help="also report the accuracy at the end with test-time augmentation at each level up to this "
        "one (1: mirror, 2: mirror and one-pixel translations, helpers.tricks.tta_views): on the "
        "validation split with --validation (and the test set at this level, once), else on the test set",
    )
    args = parser.parse_args(argv)

    import keras  # noqa: PLC0415

    from helpers.data import data_source, load_cifar10, stratified_subset  # noqa: PLC0415
    from helpers.device import device_policy  # noqa: PLC0415
    from helpers.modes import FULL  # noqa: PLC0415
    from helpers.seed import set_seed  # noqa: PLC0415
    from helpers.training import FAST_RECIPE, build  # noqa: PLC0415

    tricks = [name for name in args.tricks.split(",") if name]
    recipe = recipes(with_tricks(FAST_RECIPE, tricks))[args.recipe]
    if not set(tricks) <= set(recipe.tricks):
        raise SystemExit(f"--tricks: {args.recipe} is not trained with the fast CPU recipe")
    set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_cifar10()
    split = "test"
    if args.validation:  # the notebooks' split (helpers.modes): validation held out of the training set
        split = "val"
        course = FULL.splits(((x_train, y_train), (x_test, y_test)))
        (x_train, y_train), (x_val, y_val) = course.train, course.val
    if args.train_size:
        x_train, y_train = stratified_subset(x_train, y_train, args.train_size, seed=args.seed)
    if args.test_size:
        x_test, y_test = stratified_subset(x_test, y_test, args.test_size, seed=args.seed)
    data_loaded_s = time.monotonic() - PROCESS_START
    # the course's device policy (mixed precision on a GPU) applies to Keras 3 models only
    model = recipe.build() if recipe.keras2 else build(recipe.build)
    result: dict[str, Any] = {
        "recipe": args.recipe,
        "description": recipe.description,
        "params": model.count_params(),
        "batch_size": recipe.batch_size,
        "epochs_planned": args.epochs,
        "max_minutes": args.max_minutes,
        "train_images": len(x_train),
        **({"val_images": len(x_val)} if args.validation else {}),
        "test_images": len(x_test),
        "evaluated_each_epoch": {"test": "test set", "val": "validation split (test set once, at the end)"}[
            split
        ],
        "seed": args.seed,
        "dataset": os.environ.get("CIFAR10_DIR") or "keras download/cache",
        "data_source": data_source(),
        "hardware": hardware_record(),
        "versions": {**software_versions(), **({"tf_keras": _tf_keras_version()} if recipe.keras2 else {})},
        "precision": device_policy().precision,
        "data_loaded_s": round(data_loaded_s, 2),
        "epochs": [],
    }
    if recipe.known_differences:
        result["known_differences"] = list(recipe.known_differences)
    if recipe.tricks:
        result["tricks"] = {name: TRICKS[name] for name in recipe.tricks}
    if args.note:
        result["notes"] = args.note

    callback_base = keras.callbacks.Callback
    if recipe.keras2:
        import tf_keras  # noqa: PLC0415

        callback_base = tf_keras.callbacks.Callback

    class Recorder(callback_base):
        def on_train_begin(self, logs=None):
            self.train_start = time.monotonic()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.monotonic()

        def on_test_begin(self, logs=None):
            self.fit_end = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            now = time.monotonic()
            fit_s = self.fit_end - self.epoch_start
            total_s, wall_s = now - self.epoch_start, now - PROCESS_START
            entry = epoch_entry(epoch + 1, logs, fit_s, total_s, len(x_train), wall_s, split=split)
            result["epochs"].append(entry)
            write_record(result, args.out)
            if args.max_minutes is not None and now - PROCESS_START > 60 * args.max_minutes:
                self.model.stop_training = True

    evaluated = (x_val, y_val) if args.validation else (x_test, y_test)
    recipe.fit(model, ((x_train, y_train), evaluated), args.epochs, args.seed, [Recorder()])
    if args.validation:
        from helpers.classifier import error_analysis, softmax  # noqa: PLC0415
        from helpers.training import accuracy  # noqa: PLC0415

        logits = model.predict(x_val.astype("float32") / 255, batch_size=500, verbose=0)
        analysis = error_analysis(softmax(logits.astype("float64")), y_val)
        # the images themselves travel with the record: another copy of CIFAR-10 (Keras's download on
        # Colab) orders its images differently, so indices alone would show other pictures there
        shown = x_val[[index for index, *_ in analysis["confident_mistakes"]]]
        analysis["confident_mistake_images"] = base64.b64encode(
            np.ascontiguousarray(shown).tobytes()
        ).decode()
        result["validation_analysis"] = analysis
        # Keras's logged training accuracy is a running mean over the epoch, in training mode
        # (augmented images, batch statistics); this is the trained model in inference mode
        result["train_accuracy_inference"] = round(accuracy(model, x_train[:5000], y_train[:5000]), 5)
        result["test_accuracy"] = round(accuracy(model, x_test, y_test), 5)  # once, at the end
    if args.tta:
        from helpers.training import accuracy  # noqa: PLC0415

        result["flip_tta_test_accuracy"] = round(accuracy(model, x_test, y_test, flip_tta=True), 5)
    if args.tta_level is not None:
        from helpers.training import accuracy  # noqa: PLC0415

        # each level on the split the run reads (the validation split: where a level is chosen),
        # and the test set at the asked level only (with --validation: the one test evaluation
        # besides the plain one, no choice made from it)
        x_read, y_read, read = (x_val, y_val, "val") if args.validation else (x_test, y_test, "test")
        for level in range(1, args.tta_level + 1):
            started = time.monotonic()
            result[f"tta{level}_{read}_accuracy"] = round(accuracy(model, x_read, y_read, tta_level=level), 5)
            result[f"tta{level}_s"] = round(time.monotonic() - started, 2)
        if args.validation:
            level = args.tta_level
            result[f"tta{level}_test_accuracy"] = round(accuracy(model, x_test, y_test, tta_level=level), 5)
    result["process_s"] = round(time.monotonic() - PROCESS_START, 2)
    write_record(result, args.out)
    print(f"wrote {args.out}")
    return 0


def _tf_keras_version() -> str:
    import tf_keras  # noqa: PLC0415

    return tf_keras.__version__


if __name__ == "__main__":
    raise SystemExit(main())
