"""Finding the submissions in a folder, and copying one into its private scratch folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from helpers.homework import OUTPUT_DIR

#: The most bytes copied from one student's folder (the rest is left behind).
MAX_SUBMISSION_BYTES = 50_000_000


@dataclass(frozen=True)
class Submission:
    """One student's hand-in: a notebook file, or a folder holding one."""

    id: str
    path: Path  # the .ipynb file or the student's folder
    notebook: Path | None  # None: a folder without a notebook


def find_submissions(folder: Path) -> list[Submission]:
    """Every ``*.ipynb`` file and every sub-folder of ``folder``, sorted by id.

    A folder's notebook is the first one whose name starts with ``07`` (else the first one);
    ids are unique (``alice.ipynb`` and a folder ``alice/`` become ``alice`` and ``alice_2``).
    """
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry, entry))
        elif entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            preferred = [p for p in notebooks if p.name.startswith("07")]
            chosen = (preferred or notebooks or [None])[0]
            found.append(Submission(entry.name, entry, chosen))
    seen: dict[str, int] = {}
    unique = []
    for submission in found:
        seen[submission.id] = seen.get(submission.id, 0) + 1
        suffix = f"_{seen[submission.id]}" if seen[submission.id] > 1 else ""
        unique.append(Submission(submission.id + suffix, submission.path, submission.notebook))
    return unique


def copy_submission(submission: Submission, scratch: Path) -> Path:
    """Copy the hand-in into ``scratch``; returns the notebook's path there.

    Regular files only (no links), at most :data:`MAX_SUBMISSION_BYTES`, and never the
    ``homework_output/`` folder a student brought along: only what the grading run writes counts.
    """
    if submission.notebook is None:
        raise ValueError(f"{submission.id}: no notebook to copy")
    if submission.path.is_file():
        target = scratch / submission.notebook.name
        shutil.copyfile(submission.notebook, target)
        return target
    total = 0
    for source in sorted(submission.path.rglob("*")):
        relative = source.relative_to(submission.path)
        if source.is_symlink() or not source.is_file() or relative.parts[0] == OUTPUT_DIR.name:
            continue
        total += source.stat().st_size
        if total > MAX_SUBMISSION_BYTES:
            break
        (scratch / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, scratch / relative)
    return scratch / submission.notebook.relative_to(submission.path)


#: The tag of the homework's training cell (kept in the student copy); the grader quotes that
#: cell for the instructor to review the data augmentation.
TRAIN_TAG = "homework-train"


def training_code(notebook: Path) -> str:
    """The source of the training cell(s) of a submitted notebook: the cells tagged
    :data:`TRAIN_TAG`, or else every code cell that calls a ``train`` function or ``fit``."""
    try:
        cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    except Exception:  # noqa: BLE001 - an unreadable notebook has no training cell to quote
        return ""
    tagged = [c for c in cells if TRAIN_TAG in c.get("metadata", {}).get("tags", [])]
    chosen = tagged or [
        c for c in cells if ".train(" in c.source or "train(" in c.source or ".fit(" in c.source
    ]
    return "\n\n".join(c.source for c in chosen)
