"""Scoring: the rubric, one row per submission, and the points for its answers and its model.

Automatic points come only from what the grader read or measured itself: the evaluator's
measurement of the saved model (shapes, budget, layers, test accuracy, whether it is a course
reference model, and the facts the questions ask about) and the answers file the run wrote,
checked against those facts. Nothing the notebook printed is read. Items a program cannot judge
(the BN-order justification, the data augmentation) are ``reviewed``: they get no automatic
points, are listed in the CSV's ``review`` column, and the feedback file quotes what to read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.course import ROOT
from helpers.homework import (
    ABLATION_KEY,
    ANSWERS_PATH,
    JUSTIFICATION_KEY,
    MODEL_PATH,
    QUESTIONS,
    ModelReport,
    accuracy_credit,
    canonical,
    format_ablation,
    model_problems,
    unchanged_note,
)
from helpers.modes import RunMode

DEFAULT_RUBRIC = ROOT / "solutions" / "07_homework.rubric.json"
#: The biggest answers file read.
MAX_ANSWERS_BYTES = 100_000

#: Every status a row can have, and what it means (zh-TW with English), most serious first.
STATUSES: dict[str, str] = {
    "invalid_notebook": "不是有效的 .ipynb 筆記本 (not a valid notebook file)",
    "no_notebook": "資料夾裡沒有 .ipynb (no notebook in the folder)",
    "worker_lost": (
        "評分時讓 worker 當掉兩次，單獨再評時又兩次 (its run killed the grading worker twice, also alone)"
    ),
    "timeout": "超過時間限制 (ran past the time limit)",
    "kernel_died": "核心（kernel）當掉或被結束 (the kernel died)",
    "output_limit": "輸出太多，超過上限 (too much output)",
    "memory_limit": "記憶體超過上限 (ran out of its memory limit)",
    "disk_limit": "暫存資料夾超過大小上限 (the scratch folder went over its size limit)",
    "syntax_error": "有語法錯誤 (a cell has a syntax error)",
    "unfinished": "還有 TODO 沒完成 (a TODO cell still raises NotImplementedError)",
    "cell_error": "有儲存格發生錯誤 (a cell raised an error)",
    "over_budget": "整本筆記本超過時間預算（參考秒）(over the time budget, in reference seconds)",
    "no_model": f"沒有存下模型 {MODEL_PATH} (no saved model)",
    "bad_model": "模型不符合規定或無法載入 (the model breaks the rules or cannot be loaded)",
    "grader_error": "評分程式本身出錯 (the grader failed on this one)",
    "ok": "順利執行並完成評分 (ran and was scored)",
}
#: The model items, checked from the saved model; they share the model's note.
MODEL_ITEMS = ("shapes", "param_budget", "gap_head", "batch_norm", "pooling")
#: What a person reads for each reviewed item.
REVIEW_WHAT = {
    "ablation": "消融實驗：一個改變、驗證集、每組至少 2 個種子、表格與兩句解讀"
    " (the ablation: one change, validation set, ≥ 2 seeds an arm, a table and two sentences)",
    "justification": "BN 順序的理由 (the BN-order justification)",
    "augmentation": "訓練格子裡的資料增強 (data augmentation in the training cell)",
    "embedded": "筆記本夾帶資料或權重 (data or weights carried in the hand-in)",
    "near_copy": "模型與課程的模型相似：是不是學生自己的設計"
    " (resembles a course model: is it the student's design?)",
}


@dataclass(frozen=True)
class Rubric:
    """Automatic points per item, and the points a person gives for each reviewed item."""

    points: dict[str, float]
    reviewed: dict[str, float] = field(default_factory=dict)
    #: For each reviewed item: points → what earns them (the reviewer's guide), highest first.
    descriptors: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Reviewed items that reward the student's own design: 0, set by the grader, when the model
    #: is an unchanged course builder (:data:`helpers.homework.UNCHANGED_BUILDERS`).
    design: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [*self.points, *self.reviewed]

    @property
    def automatic_total(self) -> float:
        return sum(self.points.values())

    @property
    def total(self) -> float:
        return self.automatic_total + sum(self.reviewed.values())


def load_rubric(path: Path = DEFAULT_RUBRIC) -> Rubric:
    table = json.loads(path.read_text(encoding="utf-8"))
    rubric = Rubric(
        points=dict(table["points"]),
        reviewed=dict(table.get("reviewed", {})),
        descriptors={name: dict(levels) for name, levels in table.get("descriptors", {}).items()},
        design=tuple(table.get("design", ())),
    )
    if not set(rubric.design) <= set(rubric.reviewed):
        raise ValueError(f"{path.name}: design 項目要是審閱項目 / design items must be reviewed items")
    for name, most in rubric.reviewed.items():
        levels = rubric.descriptors.get(name, {})
        if levels and max(float(points) for points in levels) != most:
            raise ValueError(
                f"{path.name}: {name} 的最高描述不是 {most:g} 分 / its top descriptor is not {most:g}"
            )
    return rubric


@dataclass
class Row:
    """One line of the CSV, and what the feedback file says."""

    id: str
    status: str = "ok"
    error: str = ""
    items: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    test_accuracy: float | None = None
    params: int | None = None
    runtime_s: float = 0.0
    #: The notebook run's time in reference seconds (:mod:`helpers.budget`); None when it did not run.
    reference_s: float | None = None
    worker: str = ""  # host:pid of the worker that graded it
    device: str = ""  # that worker's device ("CPU 2 threads (x86_64)", a GPU's name)
    #: Reviewed items a person must read, and the text to read for each (quoted in the feedback).
    review: dict[str, str] = field(default_factory=dict)
    #: Reviewed items whose points the grader set itself (0 design points for an unchanged course
    #: builder), and why: written into the CSV's column instead of leaving it for the instructor.
    decided: dict[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """The automatic points (reviewed items are added by the instructor)."""
        return sum(self.items.values())

    def fail(self, status: str, error: str) -> None:
        """Mark the row with ``status`` unless an earlier, more basic problem is already there."""
        if self.status == "ok":
            self.status, self.error = status, error

    def csv_row(self, rubric: Rubric) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "status": self.status, "score": round(self.score, 2)}
        row.update({name: self.items.get(name, 0) for name in rubric.points})
        # the instructor fills these in, except those the grader decided (design points of a copy)
        row.update({name: self.decided[name][0] if name in self.decided else "" for name in rubric.reviewed})
        row["review"] = "; ".join(REVIEW_WHAT.get(name, name) for name in self.review)
        row["test_accuracy"] = "" if self.test_accuracy is None else round(self.test_accuracy, 4)
        row["params"] = "" if self.params is None else self.params
        row["runtime_s"] = round(self.runtime_s, 1)
        row["reference_s"] = "" if self.reference_s is None else round(self.reference_s, 1)
        row["worker"] = self.worker
        row["device"] = self.device
        row["error"] = self.error
        return row


def parse_answers(content: bytes | None, row: Row) -> dict[str, Any]:
    """The answers file's content as a dict ({} when it is missing, or not a JSON object).
    The grader reads the file itself with a size limit (:data:`MAX_ANSWERS_BYTES`)."""
    if content is None:
        row.notes.setdefault("answers", f"沒有 {ANSWERS_PATH} (no answers file)")
        return {}
    try:
        loaded = json.loads(content.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        row.notes["answers"] = "answers.json 不是有效的 JSON (not valid JSON)"
        return {}
    return loaded if isinstance(loaded, dict) else {}


def score_answers(row: Row, answers: dict[str, Any], facts: dict[str, Any], rubric: Rubric) -> None:
    """Points for each question about the student's own model, checked against ``facts`` (what
    the evaluator read from the saved model; empty when there is none)."""
    for question in QUESTIONS:
        column = f"q_{question}"
        if column not in rubric.points:
            continue
        given = answers.get(question)
        if question not in facts:
            row.items[column] = 0
            row.notes[column] = (
                "❌ 沒有可核對的模型（或模型沒有 GAP） (no saved model with a GAP head to check)"
            )
            continue
        right = canonical(given) is not None and canonical(given) == canonical(facts[question])
        row.items[column] = rubric.points[column] if right else 0
        row.notes[column] = (
            "✅"
            if right
            else f"❌ 你的答案 (yours): {repr(given)[:40]}；你的模型 (your model): {facts[question]}"
        )


def mark_for_review(
    row: Row,
    answers: dict[str, Any],
    training_code: str,
    rubric: Rubric,
    written: str = "",
    ablation_code: str = "",
) -> None:
    """List the reviewed items and what a person reads for each (no automatic points).
    ``written`` is the notebook's own cell that sets the justification, quoted when the run did
    not save it (a cell failed before the save): what the student wrote is never lost.
    ``ablation_code`` is the hand-in's ablation cell(s), quoted under the ablation's results."""
    if "ablation" in rubric.reviewed:
        row.review["ablation"] = format_ablation(answers.get(ABLATION_KEY)) + (
            "\n\n--- 程式 (the notebook's ablation cells) ---\n" + ablation_code[:4000]
            if ablation_code
            else ""
        )
    if "justification" in rubric.reviewed:
        text = answers.get(JUSTIFICATION_KEY)
        if isinstance(text, str) and text.strip():
            row.review["justification"] = text.strip()[:2000]
        elif written:
            row.review["justification"] = (
                "（執行沒有存下答案；以下引用筆記本原文 not saved by the run; the notebook's cell:）\n"
                + written[:2000]
            )
        else:
            row.review["justification"] = "（沒有寫 none）"
    if "augmentation" in rubric.reviewed:
        row.review["augmentation"] = training_code[:4000] or "（找不到訓練格子 no training cell found）"


def score_model(row: Row, evaluation: dict[str, Any], rubric: Rubric, mode: RunMode) -> None:
    """Points for the model's shapes, budget, head, BN, pooling and measured accuracy; none at all
    when the model is a course reference model."""
    points = rubric.points
    report = ModelReport(
        input_shape=tuple(evaluation["input_shape"]) if evaluation.get("input_shape") else None,
        output_shape=tuple(evaluation["output_shape"]) if evaluation.get("output_shape") else None,
        params=int(evaluation.get("params") or 0),
        layer_types=tuple(evaluation.get("layer_types") or ()),
        reference=evaluation.get("reference"),
        gap_feeds_output=bool(evaluation.get("gap_feeds_output")),
        pooling_reduces=bool(evaluation.get("pooling_reduces")),
        similar=tuple((str(name), float(ratio)) for name, ratio in evaluation.get("similar") or ()),
        unchanged=evaluation.get("unchanged"),
    )
    row.params = report.params
    row.test_accuracy = evaluation.get("test_accuracy")
    own = report.reference is None  # a course reference model earns no model points at all
    checks = {
        "shapes": report.shapes_ok,
        "param_budget": report.shapes_ok and report.within_budget,
        "gap_head": report.gap_head,
        "batch_norm": report.batch_norm,
        "pooling": report.pooling,
    }
    for name, ok in checks.items():
        row.items[name] = points.get(name, 0) if ok and own else 0
    accuracy = row.test_accuracy
    # No accuracy points for a model that breaks the budget: more parameters buy accuracy.
    credit = accuracy_credit(accuracy, mode) if own and report.within_budget else 0.0
    row.items["accuracy"] = round(points.get("accuracy", 0) * credit, 1)
    problems = model_problems(report)
    row.notes["model"] = "✅" if not problems else "❌ " + "；".join(p for p, _ in problems)
    row.notes["accuracy"] = (
        f"評分程式量到的測試準確率 (measured by the grader): {accuracy:.1%}"
        f"（目標 target {mode.homework_target:.0%}）"
        if accuracy is not None
        else "無法量測準確率 (accuracy could not be measured)"
    )
    if problems:
        row.fail("bad_model", problems[0][0])
    if report.reference or report.unchanged:
        why = (
            unchanged_note(report.unchanged)
            if own and report.unchanged
            else f"課程的參考模型 {report.reference}：沒有設計分。"
            " (A course reference model: no design points.)"
        )
        for name in rubric.design:
            row.decided[name] = (0, why)
    if report.similar:
        row.review["near_copy"] = "\n".join(
            f"{name}：結構相似度 (structural similarity) {ratio:.0%}" for name, ratio in report.similar
        )
