"""What the instructor reads: the CSV (one row per student) and one zh-TW feedback file each."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sys
import tempfile
from pathlib import Path

from helpers.grade.scoring import MODEL_ITEMS, REVIEW_WHAT, STATUSES, Row, Rubric
from helpers.homework import PARAM_BUDGET


def feedback_text(row: Row, rubric: Rubric, mode: str) -> str:
    """The zh-TW feedback file for one student."""
    lines = [
        f"# 作業 07 回饋 (feedback)：{_inline(row.id)}",
        "",
        f"- 狀態 (status)：`{row.status}`：{STATUSES.get(row.status, '')}",
        f"- 自動評分 (automatic score)：{row.score:g} / {rubric.automatic_total:g}"
        f"（另有 {rubric.total - rubric.automatic_total:g} 分由講師審閱 / reviewed by the instructor）",
        f"- 評分模式 (mode)：{mode}",
    ]
    if row.error:
        lines.append(f"- 錯誤 (error)：{_code(row.error)}")
    if row.test_accuracy is not None:
        lines.append(f"- {row.notes.get('accuracy', '')}")
    if row.reference_s is not None:
        lines.append(
            f"- 時間 (time)：整本筆記本 {row.reference_s:,.0f} 參考秒 (reference seconds)"
            f"（在 {_inline(row.device or '?')} 上 {row.runtime_s:,.0f} 秒的評分，含評估 incl. evaluation）"
        )
    if row.params is not None:
        lines.append(f"- 參數量 (params)：{row.params:,}（預算 budget {PARAM_BUDGET:,}）")
    lines += ["", "| 項目 (item) | 得分 (points) | 說明 (note) |", "|---|---|---|"]
    for name in rubric.points:
        note = row.notes.get(name) or row.notes.get("model" if name in MODEL_ITEMS else name, "")
        if name == "runs":
            if row.items.get("runs"):
                note = "✅"
            elif row.status == "ok":
                note = "❌ 沒有可載入的模型 (no model the grader could load)"
            else:
                note = f"❌ {STATUSES.get(row.status, row.status)}"
        if name == "accuracy" and "model" in row.notes and row.notes["model"] != "✅":
            note = f"{note} {row.notes['model']}".strip()
        lines.append(f"| {name} | {row.items.get(name, 0):g} / {rubric.points[name]:g} | {_cell(note)} |")
    for name, most in rubric.reviewed.items():
        if name in row.decided:
            points, why = row.decided[name]
            lines.append(f"| {name} | {points:g} / {most:g} | {_cell(why)} |")
        else:
            lines.append(f"| {name} | 待審閱 (to review) / {most:g} | {_cell(REVIEW_WHAT.get(name, name))} |")
    if rubric.descriptors:
        lines += ["", "## 審閱的標準 (how the reviewed items are scored)", ""]
        for name, levels in rubric.descriptors.items():
            lines.append(f"- **{REVIEW_WHAT.get(name, name)}**")
            lines += [f"  - {points} 分：{_inline(text)}" for points, text in levels.items()]
    if row.review:
        lines += ["", "## 講師審閱 (for the instructor to review)"]
        for name, text in row.review.items():
            fence = _fence(text)
            lines += [
                "",
                f"### {REVIEW_WHAT.get(name, name)}（"
                + (
                    f"{rubric.reviewed[name]:g} 分）"
                    if name in rubric.reviewed
                    else "不計分，供你判斷 not scored）"
                ),
                fence,
                text,
                fence,
            ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no HTML, no cell break."""
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    """Text safe on one Markdown line: no line breaks, no HTML, no Markdown markup."""
    flat = " ".join(str(text).split())
    html_safe = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]#!~])", r"\\\1", html_safe)


def _code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds (CommonMark: a longer delimiter)."""
    flat = " ".join(str(text).split())
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    return f"{ticks} {flat} {ticks}"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``: the quote cannot close it."""
    return "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)


#: A CSV cell starting with one of these is a formula in Excel / LibreOffice / Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutral(value: object) -> object:
    """A CSV value that a spreadsheet shows as text: a leading ``'`` before a formula start."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: a reader (or a crash)
    never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


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
        "reference_s",
        "worker",
        "device",
        "error",
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        try:
            values = row.csv_row(rubric)
        except Exception as err:  # noqa: BLE001 - one bad row never stops the others
            values = {"id": row.id, "status": "grader_error", "error": f"{type(err).__name__}: {err}"}
        writer.writerow({k: _neutral(v) for k, v in values.items()})
    write_atomic(out, "\ufeff" + buffer.getvalue())  # BOM: Excel then reads UTF-8


def write_feedback(rows: list[Row], rubric: Rubric, mode: str, folder: Path) -> None:
    """One ``<id>.md`` per row in ``folder`` (ids are clean file names, see
    :func:`helpers.grade.submissions.clean_id`); a row that cannot be written is reported and
    skipped, never stopping the others."""
    for row in rows:
        try:
            write_atomic(folder / f"{row.id}.md", feedback_text(row, rubric, mode))
        except Exception as err:  # noqa: BLE001
            print(f"⚠️  回饋檔寫不出來 (feedback not written) {row.id!r}: {err}", file=sys.stderr)
