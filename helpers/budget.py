"""The homework's time budget, in a unit that means the same on every device: reference seconds.

A **reference second** (參考秒) is one second on the course's grading machine of reference, a
2-core CPU without a GPU. How fast a device is, compared with it, is measured by a short
calibration (:func:`calibrate`): the seconds one training step of a fixed workload takes there
(a small CNN with BN and a GAP head, a batch of :data:`CALIBRATION_BATCH` images, the same kind of
work as the homework's training). Then

    reference seconds = seconds on the device × :data:`REFERENCE_STEP_S` / the device's step

so a training that took 90 s on a GPU twenty times faster than the reference CPU counts as 1,800
reference seconds, wherever it is graded. The budget of a graded run is the mode's
:attr:`helpers.modes.RunMode.budget_s`; the notebook (:func:`budget_check`), the grader
(``python -m helpers.grade``, which calibrates each worker with the threads each task gets) and
the README all read it from there, through :func:`budget_rule`.

It is an approximation, said as such: another model's speed ratio between two devices is not
exactly the workload's (a GPU gains more on wide convolutions than on tiny ones). The wall-clock
limit the grader keeps is only a guard against runaways, :data:`GUARD_FACTOR` times the budget
on the worker, plus :data:`GUARD_EXTRA_S`.

Used in notebooks 07.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from helpers.device import gpu_names
from helpers.modes import GRADING_MODE, RunMode, get_mode

#: Seconds per calibration step on the reference grader: this project's 2-core CPU (AMD EPYC,
#: TensorFlow 2.21, 2 threads), the median of ``python -m benchmarks.budget`` (record:
#: ``benchmarks/results/budget_cpu.json``).
REFERENCE_STEP_S = 0.276
#: Seconds of steps the grader's calibration times (a notebook's: its mode's ``calibration_s``).
GRADER_CALIBRATION_S = 1.5
#: Images per calibration step.
CALIBRATION_BATCH = 128
#: The grader's wall-clock guard: this many times the budget on the worker, plus a fixed margin
#: (kernel start, data loading).
GUARD_FACTOR = 3.0
GUARD_EXTRA_S = 120.0


@dataclass(frozen=True)
class Calibration:
    """How fast one device ran the calibration workload."""

    step_s: float  # median seconds per step
    device: str  # "CPU" or the GPU's name
    threads: int | None = None  # CPU threads TensorFlow was given (None: its default)

    @property
    def speed(self) -> float:
        """How many times faster than the reference grader (2.0: twice as fast)."""
        return REFERENCE_STEP_S / self.step_s

    def to_reference(self, seconds: float) -> float:
        """Seconds on this device → reference seconds."""
        return seconds * self.speed

    def to_device(self, reference_s: float) -> float:
        """Reference seconds → seconds on this device."""
        return reference_s / self.speed

    def guard_s(self, budget_s: float) -> float:
        """The grader's wall-clock limit on this device for a run with ``budget_s``."""
        return GUARD_FACTOR * self.to_device(budget_s) + GUARD_EXTRA_S

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _workload(eager: bool = False) -> Any:
    """The calibration model: three stages of conv-BN-ReLU (32, 64, 128 channels), pooling, a GAP
    head; about 0.29 M parameters, like a homework model."""
    import keras  # noqa: PLC0415 - seconds to import; only calibration needs it here
    from keras import layers  # noqa: PLC0415

    stack: list[Any] = [keras.Input(shape=(32, 32, 3))]
    for width in (32, 64, 128):
        for _ in range(2):
            stack += [layers.Conv2D(width, 3, padding="same", use_bias=False)]
            stack += [layers.BatchNormalization(), layers.ReLU()]
        stack.append(layers.MaxPooling2D(2))
    stack += [layers.GlobalAveragePooling2D(), layers.Dense(10)]
    model = keras.Sequential(stack)
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=eager,
    )
    return model


def device_name() -> str:
    """ "CPU", or the name of the first GPU the Keras backend sees."""
    names = gpu_names()
    return names[0] if names else "CPU"


def calibrate(min_seconds: float | None = None, min_steps: int = 5, warmup: int = 2) -> Calibration:
    """Time training steps of the calibration workload on this device (a few seconds: ``warmup``
    steps that compile, then at least ``min_steps`` steps and ``min_seconds``, by default the run
    mode's :attr:`helpers.modes.RunMode.calibration_s`); the median step.

    ``min_seconds=0`` is a dry run (smoke mode): one step, eagerly, without compiling a graph; it
    checks that the code runs and measures nothing a budget should rely on.
    """
    if min_seconds is None:
        min_seconds = get_mode().calibration_s
    dry = min_seconds <= 0
    model = _workload(eager=dry)
    rng = np.random.default_rng(0)
    x = rng.random((CALIBRATION_BATCH, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, CALIBRATION_BATCH)
    for _ in range(0 if dry else warmup):
        model.train_on_batch(x, y)
    steps: list[float] = []
    started = time.perf_counter()
    while len(steps) < (1 if dry else min_steps) or time.perf_counter() - started < min_seconds:
        t = time.perf_counter()
        model.train_on_batch(x, y)
        steps.append(time.perf_counter() - t)
        if len(steps) >= 10_000:
            break
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    return Calibration(
        step_s=float(statistics.median(steps)),
        device=device_name(),
        threads=int(threads) if threads and threads.isdigit() else None,
    )


def budget_rule(mode: RunMode = GRADING_MODE) -> str:
    """The rule, in the student's words (zh-TW, then English): printed by notebook 07 and quoted by
    the README."""
    minutes = mode.budget_s / 60
    return (
        f"時間預算 (time budget)：整本筆記本在評分時最多 {mode.budget_s:,.0f} 參考秒"
        f"（reference seconds：在課程的評分機——雙核心 CPU、沒有 GPU——上的 {minutes:.0f} 分鐘）。"
        "評分程式先量自己的速度再換算，所以在 GPU 上評分也是同一條規則；"
        "筆記本在訓練前後用你的機器的速度換算給你看。"
        f"\n(Time budget: the whole notebook may take at most {mode.budget_s:,.0f} reference seconds, "
        f"i.e. {minutes:.0f} minutes on the course's 2-core CPU grader. Every grader measures its own "
        "speed and converts, so the rule is the same on a GPU; the notebook converts your device's "
        "time the same way.)"
    )


def describe(calibration: Calibration, mode: RunMode = GRADING_MODE) -> str:
    """This device's speed against the reference grader, and the budget in this device's minutes."""
    here = calibration.to_device(mode.budget_s) / 60
    return (
        f"這台機器 (this device)：{calibration.device}，一步 (one step) {calibration.step_s * 1000:.0f} ms；"
        f"評分機 (reference grader) {REFERENCE_STEP_S * 1000:.0f} ms → "
        f"速度是評分機的 {calibration.speed:.2f} 倍 ({calibration.speed:.2f}× the reference grader)\n"
        f"預算 {mode.budget_s:,.0f} 參考秒 ≈ 這台機器上的 {here:.1f} 分鐘（整本筆記本，不只訓練）"
        f" (the budget is about {here:.1f} min on this device, for the whole notebook)"
    )


def budget_check(
    seconds: float, calibration: Calibration, mode: RunMode = GRADING_MODE, safe_share: float = 0.6
) -> str:
    """How much of the budget a training run of ``seconds`` (on the calibrated device) uses, and
    how long it takes on a 2-core CPU grader: ✅ up to ``safe_share``, ⚠️ up to the budget, ❌ over."""
    reference = calibration.to_reference(seconds)
    share = reference / mode.budget_s
    lines = [
        f"訓練 (training) {seconds:,.0f} 秒 × {calibration.speed:.2f} = {reference:,.0f} 參考秒"
        f"（預算 budget {mode.budget_s:,.0f}）：用了 {share:.0%} (used {share:.0%} of the budget)",
        f"在雙核心 CPU 評分機上約 {reference / 60:.1f} 分鐘 (about {reference / 60:.1f} min on a "
        "2-core CPU grader)；在 GPU 評分機上牆鐘時間較短，但換算成參考秒是同一個數字，結果一樣"
        " (on a GPU grader the wall time is shorter; in reference seconds it is the same).",
    ]
    if share > 1:
        lines.append(
            "❌ 超過預算：評分時拿不到模型的分數。請減少 epoch 或縮小模型。"
            " (Over the budget: no model points when graded. Train less or use a smaller model.)"
        )
    elif share > safe_share:
        lines.append(
            f"⚠️  超過預算的 {safe_share:.0%}：還要加上其他格子的時間，換算也有誤差，太冒險了。"
            f" (Over {safe_share:.0%}: the other cells add time and the conversion is approximate.)"
        )
    else:
        lines.append("✅ 在預算內 (within the budget)")
    return "\n".join(lines)
