"""Scoring: the rubric, one row per submission, and the points for its answers and its model.

Scores come only from what the grader read or measured itself: the answers file the run wrote
(re-checked against the rubric kept with the solution) and the evaluator's measurement of the
saved model. Nothing the notebook printed is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.course import ROOT
from helpers.homework import (
    ANSWERS_PATH,
    JUSTIFICATION_KEY,
    JUSTIFICATION_MIN_CHARS,
    MODEL_PATH,
    ModelReport,
    accuracy_credit,
    canonical,
    model_problems,
)
from helpers.modes import RunMode

DEFAULT_RUBRIC = ROOT / "solutions" / "07_homework.rubric.json"
#: The biggest answers file read.
MAX_ANSWERS_BYTES = 100_000

#: Every status a row can have, and what it means (zh-TW with English), most serious first.
STATUSES: dict[str, str] = {
    "invalid_notebook": "不是有效的 .ipynb 筆記本 (not a valid notebook file)",
    "no_notebook": "資料夾裡沒有 .ipynb (no notebook in the folder)",
    "timeout": "超過時間限制 (ran past the time limit)",
    "kernel_died": "核心（kernel）當掉或被結束 (the kernel died)",
    "output_limit": "輸出太多，超過上限 (too much output)",
    "memory_limit": "記憶體超過上限 (ran out of its memory limit)",
    "syntax_error": "有語法錯誤 (a cell has a syntax error)",
    "unfinished": "還有 TODO 沒完成 (a TODO cell still raises NotImplementedError)",
    "cell_error": "有儲存格發生錯誤 (a cell raised an error)",
    "no_model": f"沒有存下模型 {MODEL_PATH} (no saved model)",
    "bad_model": "模型不符合規定或無法載入 (the model breaks the rules or cannot be loaded)",
    "grader_error": "評分程式本身出錯 (the grader failed on this one)",
    "ok": "順利執行並完成評分 (ran and was scored)",
}
#: The automatic items, in rubric order; the model items share the model's note.
ITEMS = ("runs", "shapes", "param_budget", "gap_head", "batch_norm", "accuracy")
MODEL_ITEMS = ITEMS[1:5]


@dataclass(frozen=True)
class Rubric:
    """Points per item, and the solution's answers to the conceptual questions."""

    points: dict[str, float]
    answers: dict[str, Any]

    @property
    def columns(self) -> list[str]:
        return list(self.points)

    @property
    def total(self) -> float:
        return sum(self.points.values())


def load_rubric(path: Path = DEFAULT_RUBRIC) -> Rubric:
    table = json.loads(path.read_text(encoding="utf-8"))
    return Rubric(points=dict(table["points"]), answers=dict(table["answers"]))


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

    @property
    def score(self) -> float:
        return sum(self.items.values())

    def fail(self, status: str, error: str) -> None:
        """Mark the row with ``status`` unless an earlier, more basic problem is already there."""
        if self.status == "ok":
            self.status, self.error = status, error

    def csv_row(self, rubric: Rubric) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "status": self.status, "score": round(self.score, 2)}
        row.update({name: self.items.get(name, 0) for name in rubric.columns})
        row["test_accuracy"] = "" if self.test_accuracy is None else round(self.test_accuracy, 4)
        row["params"] = "" if self.params is None else self.params
        row["runtime_s"] = round(self.runtime_s, 1)
        row["error"] = self.error
        return row


def read_answers(path: Path, row: Row) -> dict[str, Any]:
    """The answers file as a dict ({} when it is missing, too big or not a JSON object)."""
    if not path.is_file():
        row.notes["answers"] = f"沒有 {ANSWERS_PATH} (no answers file)"
        return {}
    if path.stat().st_size > MAX_ANSWERS_BYTES:
        row.notes["answers"] = f"answers.json 超過 {MAX_ANSWERS_BYTES:,} bytes (too big)"
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        row.notes["answers"] = "answers.json 不是有效的 JSON (not valid JSON)"
        return {}
    return loaded if isinstance(loaded, dict) else {}


def score_answers(row: Row, answers: dict[str, Any], rubric: Rubric) -> None:
    """Points for each conceptual question (against the rubric) and for the justification."""
    for question, expected in rubric.answers.items():
        column = f"q_{question}"
        if column not in rubric.points:
            continue
        given = canonical(answers.get(question))
        right = given is not None and given == canonical(expected)
        row.items[column] = rubric.points[column] if right else 0
        row.notes[column] = "✅" if right else f"❌ 你的答案 (yours): {repr(answers.get(question))[:40]}"
    if "justification" in rubric.points:
        text = answers.get(JUSTIFICATION_KEY)
        ok = isinstance(text, str) and len(text.strip()) >= JUSTIFICATION_MIN_CHARS
        row.items["justification"] = rubric.points["justification"] if ok else 0
        row.notes["justification"] = (
            "✅" if ok else f"❌ 需要一句說明卷積區塊順序的理由（至少 {JUSTIFICATION_MIN_CHARS} 個字）"
        )


def score_model(row: Row, evaluation: dict[str, Any], rubric: Rubric, mode: RunMode) -> None:
    """Points for the model's shapes, budget, head, BN and measured accuracy."""
    points = rubric.points
    report = ModelReport(
        input_shape=tuple(evaluation["input_shape"]) if evaluation.get("input_shape") else None,
        output_shape=tuple(evaluation["output_shape"]) if evaluation.get("output_shape") else None,
        params=int(evaluation.get("params") or 0),
        layer_types=tuple(evaluation.get("layer_types") or ()),
    )
    row.params = report.params
    row.test_accuracy = evaluation.get("test_accuracy")
    checks = {
        "shapes": report.shapes_ok,
        "param_budget": report.shapes_ok and report.within_budget,
        "gap_head": report.gap_head,
        "batch_norm": report.batch_norm,
    }
    for name, ok in checks.items():
        row.items[name] = points.get(name, 0) if ok else 0
    accuracy = row.test_accuracy
    row.items["accuracy"] = round(points.get("accuracy", 0) * accuracy_credit(accuracy, mode), 1)
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
