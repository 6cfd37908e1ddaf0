"""Homework 07: its rules, its self-checks, and the files a submission hands to the grader.

The rules are public (students read them in the notebook): :data:`PARAM_BUDGET`, the run
mode's accuracy target (:attr:`helpers.modes.RunMode.homework_target`), and the model contract
checked by :func:`inspect_model`. The answers to the conceptual questions are not:
:data:`QUESTIONS` holds only a salted SHA-256 digest of each answer, enough for
:func:`check_answer` to say right or wrong. (A student who really wants
to could still try every number against the digest; the instructor's grader re-checks the
answers against the rubric kept with the solution, ``solutions/07_homework.rubric.json``.)

A submission leaves two files at fixed paths, relative to the notebook's folder, which
``python -m helpers.grade`` reads: :data:`MODEL_PATH` (the trained model) and
:data:`ANSWERS_PATH` (the answers as JSON).

Used in notebooks 07.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.checks import Feedback, failed, passed
from helpers.data import IMAGE_SHAPE, NUM_CLASSES
from helpers.modes import RunMode

if TYPE_CHECKING:  # pragma: no cover
    import keras

#: The most parameters a homework model may have: 40% of the Keras example's 1,250,858
#: (:data:`helpers.models.KERAS_EXAMPLE_PARAMS`).
PARAM_BUDGET = 500_000
#: Chance level on CIFAR-10's ten balanced classes.
CHANCE_ACCURACY = 0.10


def accuracy_credit(accuracy: float | None, mode: RunMode) -> float:
    """The share (0 to 1) of the accuracy points: 0 up to 20 points below the target (never
    below chance), rising linearly to 1 at the target (full mode: 60% → 0, 70% → 0.5, 80% → 1)."""
    if accuracy is None:
        return 0.0
    target = mode.homework_target
    floor = max(CHANCE_ACCURACY, target - 0.20)
    return float(min(1.0, max(0.0, (accuracy - floor) / (target - floor))))


#: Where a submission leaves its files, relative to the notebook's folder.
OUTPUT_DIR = Path("homework_output")
MODEL_PATH = OUTPUT_DIR / "model.keras"
ANSWERS_PATH = OUTPUT_DIR / "answers.json"
#: The free-text answer: one sentence on the chosen conv-block order (at least this many characters).
JUSTIFICATION_KEY = "bn_order_reason"
JUSTIFICATION_MIN_CHARS = 10


@dataclass(frozen=True)
class Question:
    """A conceptual question: the answer's digest and a hint (the notebook shows the question)."""

    digest: str
    hint: str


def canonical(value: Any) -> str | None:
    """An answer as a comparable string: integers as digits, shapes as ``"14,14,16"`` (a leading
    ``None`` batch axis dropped), text stripped and lower-cased; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip().lower() or None
    if isinstance(value, (tuple, list)):
        items = list(value)
        if items and items[0] is None:
            items = items[1:]
        parts = [canonical(v) for v in items]
        if not parts or any(p is None or not p.isdigit() for p in parts):
            return None
        return ",".join(parts)
    return None


def digest(question_id: str, value: Any) -> str | None:
    """The salted SHA-256 of an answer's canonical form (what :data:`QUESTIONS` stores)."""
    text = canonical(value)
    if text is None:
        return None
    return hashlib.sha256(f"cifar10-course/07/{question_id}/{text}".encode()).hexdigest()


QUESTIONS: dict[str, Question] = {
    "conv_params": Question(
        "d062b9f8ed4c5b648bc3c33f83287ae4b3c90b05d7fb30676621f718a3508007",
        "Conv2D 的參數是 (K·K·C_in + 1)·C_out；+1 是每個輸出通道的偏差。",
    ),
    "output_shape": Question(
        "2e3fc23c9df9171c80af9110e43d03fc38060f644cdfd802170bb7e40be8a369",
        "valid 卷積的輸出大小是 floor((H − K) / S) + 1；通道數等於 filters。",
    ),
    "preact_order": Question(
        "66e0ee61f771cd3e2f4588fa2e45f22e34215fbebf98ca2329cb7d65fbee3dbd",
        "「預先激活」是指 BN 與 ReLU 在卷積「之前」。",
    ),
    "gap_head_params": Question(
        "095804705a356f9e673a746c2a8cbbeb0a8b4b4e2ae490dcdafcccef216153ba",
        "GAP 之後每個通道剩 1 個數字；Dense 的參數是 (輸入數 + 1)·輸出數。",
    ),
}


def check_answer(question_id: str, value: Any) -> Feedback:
    """Self-check one conceptual answer against its digest; never shows the answer."""
    if question_id not in QUESTIONS:
        return failed(
            f"沒有這一題：{question_id!r}。 (No such question.)", f"題目代號：{', '.join(QUESTIONS)}"
        )
    question = QUESTIONS[question_id]
    if canonical(value) is None:
        return failed(
            "答案的型別不對：要是整數、整數的 tuple 或字串。 (An int, a tuple of ints or a string.)",
            question.hint,
        )
    if digest(question_id, value) == question.digest:
        return passed(f"{question_id} 答對了。 ({question_id} is right.)")
    return failed(f"{question_id} 的答案不對。 ({question_id}: wrong answer.)", question.hint)


@dataclass(frozen=True)
class ModelReport:
    """What the rules look at in a model, read from the model itself."""

    input_shape: tuple[int | None, ...] | None
    output_shape: tuple[int | None, ...] | None
    params: int
    layer_types: tuple[str, ...]

    @property
    def shapes_ok(self) -> bool:
        return self.input_shape == IMAGE_SHAPE and self.output_shape == (NUM_CLASSES,)

    @property
    def within_budget(self) -> bool:
        return self.params <= PARAM_BUDGET

    @property
    def gap_head(self) -> bool:
        return "GlobalAveragePooling2D" in self.layer_types and "Flatten" not in self.layer_types

    @property
    def batch_norm(self) -> bool:
        return "BatchNormalization" in self.layer_types


def _all_layers(model: Any) -> list[Any]:
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))  # nested Sequential / functional models
    return found


def _shape_without_batch(shape: Any) -> tuple[int | None, ...] | None:
    if isinstance(shape, list):  # several inputs or outputs: not a CIFAR-10 classifier
        return None
    try:
        return tuple(None if d is None else int(d) for d in shape[1:])
    except (TypeError, ValueError):
        return None


def inspect_model(model: keras.Model) -> ModelReport:
    """Read the input and output shapes, parameter count and layer types of ``model``."""
    return ModelReport(
        input_shape=_shape_without_batch(getattr(model, "input_shape", None)),
        output_shape=_shape_without_batch(getattr(model, "output_shape", None)),
        params=int(model.count_params()),
        layer_types=tuple(type(layer).__name__ for layer in _all_layers(model)),
    )


def model_problems(report: ModelReport) -> list[tuple[str, str]]:
    """The rules a model breaks, each as (problem, hint), in zh-TW with English."""
    problems = []
    if not report.shapes_ok:
        problems.append(
            (
                f"輸入 {report.input_shape}、輸出 {report.output_shape}；"
                f"要是輸入 {IMAGE_SHAPE}、輸出 ({NUM_CLASSES},)。 (Wrong input or output shape.)",
                "用 keras.Input(shape=(32, 32, 3)) 開頭，最後一層 Dense(10)。",
            )
        )
    if not report.within_budget:
        problems.append(
            (
                f"{report.params:,} 個參數，超過預算 {PARAM_BUDGET:,}。 (Over the parameter budget.)",
                "減少寬度（filters），或用 GAP 代替 Flatten + 大 Dense。",
            )
        )
    if not report.gap_head:
        problems.append(
            (
                "分類頭要用 GlobalAveragePooling2D，不用 Flatten。 (Use a GAP head, not Flatten.)",
                "見筆記本 05：GAP → Dense(10)。",
            )
        )
    if not report.batch_norm:
        problems.append(
            ("模型裡沒有 BatchNormalization。 (No batch normalisation.)", "見筆記本 03 的卷積區塊。")
        )
    return problems


def check_model(model: keras.Model) -> Feedback:
    """Self-check a homework model against every rule; lists what is wrong."""
    report = inspect_model(model)
    problems = model_problems(report)
    if not problems:
        return passed(
            f"輸入輸出形狀、參數預算（{report.params:,} ≤ {PARAM_BUDGET:,}）、GAP 分類頭、BN 都符合。"
            " (Shapes, budget, GAP head and BN all meet the rules.)"
        )
    return failed("\n   ".join(p for p, _ in problems), " ".join(h for _, h in problems))


def check_accuracy(accuracy: float, mode: RunMode) -> Feedback:
    """Self-check the test accuracy against this run mode's target."""
    target = mode.homework_target
    if accuracy >= target:
        return passed(f"測試準確率 {accuracy:.1%} ≥ 目標 {target:.0%}。 (Target reached.)")
    return failed(
        f"測試準確率 {accuracy:.1%}，目標是 {target:.0%}。 (Below the target.)",
        "加資料增強、調學習率排程、多訓練幾個 epoch，或加寬模型（注意預算）。",
    )


def save_submission(model: keras.Model, answers: dict[str, Any], folder: str | Path = ".") -> Path:
    """Save ``model`` to :data:`MODEL_PATH` and ``answers`` to :data:`ANSWERS_PATH` under ``folder``."""
    out = Path(folder) / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    model.save(Path(folder) / MODEL_PATH)
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()}
    (Path(folder) / ANSWERS_PATH).write_text(
        json.dumps(plain, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return out
