"""The student copy of homework 07 filled in as its TODO comments suggest: what a student who
follows the examples hands in. The grader's tests grade it (``tests/test_grade_batch.py``) and
``python -m benchmarks.grading --notebook example`` times it.
"""

from __future__ import annotations

import nbformat

from helpers.contract import RAISES_TAG, TODO_DEFINE, without_tag
from helpers.course import ROOT

#: Answers for the example model (small_cnn widths 16/32/64): the ones a student computes.
EXAMPLE_ANSWERS = {
    "answers[JUSTIFICATION_KEY]": 'answers[JUSTIFICATION_KEY] = "conv-bn-relu，momentum 0.9（第 3 課）"',
    'answers["gap_input_shape"]': 'answers["gap_input_shape"] = (8, 8, 64)',
    'answers["head_params"]': 'answers["head_params"] = (64 + 1) * 10',
    'answers["head_params_at_64px"]': 'answers["head_params_at_64px"] = (64 + 1) * 10',
}


def example_submission() -> nbformat.NotebookNode:
    """The student copy of homework 07 with every stub replaced by the example its TODO comment
    shows (indented ``#     code`` lines), or by an answer for the example model."""
    notebook = nbformat.read(ROOT / "notebooks" / "07_homework.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        for k, line in enumerate(lines):
            if "raise NotImplementedError" not in line:
                continue
            indent = line[: len(line) - len(line.lstrip())]
            todo = lines[k - 1] if k and TODO_DEFINE in lines[k - 1] else ""
            end = k - 1 if todo else k
            start = end
            while start > 0 and lines[start - 1].lstrip().startswith("#     "):
                start -= 1
            example = [indent + text.lstrip()[len("#     ") :].rstrip() for text in lines[start:end]]
            if not example:
                example = [indent + code for name, code in EXAMPLE_ANSWERS.items() if f"定義 {name}" in todo]
            if not example:
                raise ValueError(f"no example for the stub after {todo!r}")
            lines[k] = "\n".join(example)
        cell.source = "\n".join(lines)
        without_tag(cell, RAISES_TAG)  # a finished submission must run every cell
    return notebook
