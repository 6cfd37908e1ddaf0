"""The homework-07 grader, one small module per step (run it as ``python -m helpers.grade``).

- :mod:`helpers.grade.submissions`: finding the submissions in a folder, reading each into memory
  and writing it into its scratch folder.
- :mod:`helpers.grade.files`: reading files a submission controls without following links.
- :mod:`helpers.grade.sandbox`: bubblewrap, the clean environment, limits (cgroup, disk), killing
  a process tree, the private result pipe.
- :mod:`helpers.grade.inside`: what runs inside the sandbox (the notebook runner, the evaluator).
- :mod:`helpers.grade.scoring`: the rubric, the rows, the points for answers and model.
- :mod:`helpers.grade.report`: the CSV and the feedback files.
- ``helpers/grade/__main__.py``: the command line, the settings and the batch loop.
"""

from helpers.grade.report import feedback_text, write_csv, write_feedback
from helpers.grade.sandbox import Limits, clean_environment, run_limited, sandbox_available, sandboxed
from helpers.grade.scoring import STATUSES, Row, Rubric, load_rubric
from helpers.grade.submissions import Handin, Submission, find_submissions, load_handin, write_handin

__all__ = [
    "STATUSES",
    "Handin",
    "Limits",
    "Row",
    "Rubric",
    "Submission",
    "clean_environment",
    "feedback_text",
    "find_submissions",
    "load_handin",
    "load_rubric",
    "run_limited",
    "sandbox_available",
    "sandboxed",
    "write_csv",
    "write_feedback",
    "write_handin",
]
