"""What the instructor reads: the CSV (one row per student) and one zh-TW feedback file each."""

from __future__ import annotations

import csv
from pathlib import Path

from helpers.grade.scoring import MODEL_ITEMS, REVIEW_WHAT, STATUSES, Row, Rubric
from helpers.homework import PARAM_BUDGET


def feedback_text(row: Row, rubric: Rubric, mode: str) -> str:
    """The zh-TW feedback file for one student."""
    lines = [
        f"# 作業 07 回饋 (feedback)：{row.id}",
        "",
        f"- 狀態 (status)：`{row.status}`：{STATUSES.get(row.status, '')}",
        f"- 自動評分 (automatic score)：{row.score:g} / {rubric.automatic_total:g}"
        f"（另有 {rubric.total - rubric.automatic_total:g} 分由講師審閱 / reviewed by the instructor）",
        f"- 評分模式 (mode)：{mode}",
    ]
    if row.error:
        lines.append(f"- 錯誤 (error)：`{row.error}`")
    if row.test_accuracy is not None:
        lines.append(f"- {row.notes.get('accuracy', '')}")
    if row.params is not None:
        lines.append(f"- 參數量 (params)：{row.params:,}（預算 budget {PARAM_BUDGET:,}）")
    lines += ["", "| 項目 (item) | 得分 (points) | 說明 (note) |", "|---|---|---|"]
    for name in rubric.points:
        note = row.notes.get(name) or row.notes.get("model" if name in MODEL_ITEMS else name, "")
        if name == "runs":
            note = "✅" if row.status == "ok" else f"❌ {STATUSES.get(row.status, row.status)}"
        if name == "accuracy" and "model" in row.notes and row.notes["model"] != "✅":
            note = f"{note} {row.notes['model']}".strip()
        lines.append(f"| {name} | {row.items.get(name, 0):g} / {rubric.points[name]:g} | {_cell(note)} |")
    for name, most in rubric.reviewed.items():
        lines.append(f"| {name} | 待審閱 (to review) / {most:g} | {REVIEW_WHAT.get(name, name)} |")
    if row.review:
        lines += ["", "## 講師審閱 (for the instructor to review)"]
        for name, text in row.review.items():
            fence = "~~~~" if "```" in text else "```"
            lines += [
                "",
                f"### {REVIEW_WHAT.get(name, name)}（{rubric.reviewed.get(name, 0):g} 分）",
                fence,
                text,
                fence,
            ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def write_csv(rows: list[Row], rubric: Rubric, out: Path) -> None:
    """Write the CSV (UTF-8 with BOM, so that Excel shows the Chinese correctly)."""
    columns = [
        "id",
        "status",
        "score",
        *rubric.columns,
        "review",
        "test_accuracy",
        "params",
        "runtime_s",
        "error",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.csv_row(rubric))


def write_feedback(rows: list[Row], rubric: Rubric, mode: str, folder: Path) -> None:
    """One ``<id>.md`` per row in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        (folder / f"{row.id}.md").write_text(feedback_text(row, rubric, mode), encoding="utf-8")
