"""Finding the submissions in a folder, reading each into memory, and writing one into its scratch
folder.

A submission is read once, before anything runs (:func:`load_handin`): regular files only, no
links, at most :data:`MAX_SUBMISSION_BYTES` in all. Everything the grader later quotes (the
training cell) comes from those bytes, never from the scratch copy the notebook could rewrite.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from helpers.contract import ABLATION_TAG, TRAIN_TAG, has_tag
from helpers.grade.files import UnsafeFileError, read_regular
from helpers.homework import JUSTIFICATION_KEY, MAX_SUBMISSION_BYTES, OUTPUT_DIR

#: The longest id (characters); longer names are cut.
MAX_ID_CHARS = 60


@dataclass(frozen=True)
class Submission:
    """One student's hand-in, as found on disk: a notebook file, or a folder holding one."""

    id: str
    path: Path  # the .ipynb file or the student's folder
    notebook: Path | None  # None: a folder without a notebook


@dataclass(frozen=True)
class Handin:
    """A submission read into memory: what travels to the process (or machine) that grades it."""

    id: str
    #: Relative POSIX path → content, regular files only.
    files: dict[str, bytes] = field(default_factory=dict)
    #: The notebook's key in :attr:`files` (None: there is none).
    notebook: str | None = None
    #: Why it could not be read as it is ("" when it could).
    problem: str = ""

    def digest(self) -> str:
        """A content hash: the same hand-in graded again gives the same digest."""
        h = hashlib.sha256(self.id.encode())
        h.update(self.problem.encode())
        for name in sorted(self.files):
            h.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
            h.update(hashlib.sha256(self.files[name]).digest())
        h.update(b"\0notebook:" + str(self.notebook).encode("utf-8", "surrogateescape"))
        return h.hexdigest()


def clean_id(name: str) -> str:
    """A printable, bounded id from a file or folder name: letters and digits of any script, ``-``,
    ``_`` and ``.``; everything else (control characters, spaces, ``=``, bytes that are not
    UTF-8) becomes ``_``."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    kept = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return kept.strip("._")[:MAX_ID_CHARS].strip("._") or "submission"


def _unique(ids: list[str]) -> list[str]:
    used: set[str] = set()
    unique = []
    for base in ids:
        candidate, k = base, 2
        while candidate.casefold() in used:  # case-insensitive: feedback files share a folder
            candidate, k = f"{base}_{k}", k + 1
        used.add(candidate.casefold())
        unique.append(candidate)
    return unique


def _notebooks_in(folder: Path) -> list[Path]:
    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints")
        found += [Path(top) / f for f in sorted(files) if f.endswith(".ipynb")]
    return sorted(found)


def find_submissions(folder: Path) -> list[Submission]:
    """Every ``*.ipynb`` entry and every sub-folder of ``folder``, sorted by name.

    A folder's notebook is the first one whose name starts with ``07`` (else the first one).
    Ids are cleaned (:func:`clean_id`) and unique across the batch (``alice.ipynb`` and a folder
    ``alice/`` become ``alice`` and ``alice_2``, a third ``alice_2.ipynb`` then ``alice_2_2``).
    A link is listed too (as a file), so that it gets a row saying it was not read.
    """
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.suffix == ".ipynb" and (entry.is_symlink() or not entry.is_dir()):
            found.append((entry.stem, entry, entry))
        elif entry.is_dir() and not entry.is_symlink():
            notebooks = _notebooks_in(entry)
            preferred = [p for p in notebooks if p.name.startswith("07")]
            found.append((entry.name, entry, (preferred or notebooks or [None])[0]))
    ids = _unique([clean_id(name) for name, _, _ in found])
    return [Submission(i, path, notebook) for i, (_, path, notebook) in zip(ids, found, strict=True)]


def load_handin(submission: Submission) -> Handin:
    """Read a submission into memory (see the module docstring). A link, a FIFO or anything but
    a regular file is not read; a folder's ``homework_output/`` is left out (only what the
    grading run writes counts); past :data:`MAX_SUBMISSION_BYTES` the hand-in is refused."""
    if submission.notebook is None:
        return Handin(submission.id)
    if submission.path.is_symlink() or not submission.path.is_dir():
        try:
            content = read_regular(submission.path.parent, submission.path.name, MAX_SUBMISSION_BYTES)
        except UnsafeFileError as err:
            return Handin(submission.id, problem=f"{err}")
        except OSError as err:
            return Handin(submission.id, problem=f"{type(err).__name__}: {err}")
        name = clean_id(submission.path.stem) + ".ipynb"
        return Handin(submission.id, {name: content}, name)
    files: dict[str, bytes] = {}
    total = 0
    for top, dirs, names in os.walk(submission.path, followlinks=False):
        dirs.sort()
        for name in sorted(names):
            relative = (Path(top) / name).relative_to(submission.path)
            if relative.parts[0] == OUTPUT_DIR.name or ".ipynb_checkpoints" in relative.parts:
                continue
            try:
                content = read_regular(submission.path, relative.as_posix(), MAX_SUBMISSION_BYTES - total)
            except UnsafeFileError as err:
                if relative == submission.notebook.relative_to(submission.path):
                    return Handin(submission.id, problem=f"{err}")
                continue  # a link or FIFO among the student's files is simply not copied
            total += len(content)
            files[relative.as_posix()] = content
    notebook = submission.notebook.relative_to(submission.path).as_posix()
    if notebook not in files:
        return Handin(submission.id, problem=f"{notebook}: more than {MAX_SUBMISSION_BYTES:,} bytes in all")
    return Handin(submission.id, files, notebook)


def write_handin(handin: Handin, scratch: Path) -> Path:
    """Write the hand-in's files under ``scratch``; returns the notebook's path there."""
    if handin.notebook is None:
        raise ValueError(f"{handin.id}: no notebook to write")
    for name, content in handin.files.items():
        target = scratch / PurePosixPath(name)
        if not target.resolve().is_relative_to(scratch.resolve()):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return scratch / PurePosixPath(handin.notebook)


#: The tag of the homework's training cell (kept in the student copy); the grader quotes that
#: cell for the instructor to review the data augmentation.


def read_notebook(handin: Handin) -> nbformat.NotebookNode:
    """The hand-in's notebook, parsed and validated (raises on anything that is not one)."""
    if handin.notebook is None:
        raise ValueError("no notebook")
    notebook = nbformat.reads(handin.files[handin.notebook].decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    return notebook


#: A run of base64 characters this long in a notebook's source is data, not code.
BLOB_CHARS = 5_000
#: File endings of data and weights a folder hand-in might bring along.
DATA_SUFFIXES = (".npy", ".npz", ".h5", ".keras", ".pkl", ".pickle", ".pt", ".bin", ".safetensors")


def embedded_data(notebook: nbformat.NotebookNode, handin: Handin) -> list[str]:
    """Signs that a hand-in carries data or weights instead of training: a long base64 or number
    blob in a code cell, weights set from the notebook (``set_weights`` / ``load_weights``), data
    files handed in beside the notebook. Listed for review, never scored automatically."""
    signs = []
    for k, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        source = cell.source
        blob = max((len(m) for m in re.findall(r"[A-Za-z0-9+/=]{200,}", source)), default=0)
        numbers = len(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", source))
        if blob >= BLOB_CHARS or numbers >= 2_000:
            signs.append(
                f"程式格 {k}：{max(blob, numbers):,} 字元／數字的資料 (a data blob in code cell {k})"
            )
        for call in ("set_weights(", "load_weights(", "np.frombuffer(", "base64.b64decode("):
            if call in source:
                signs.append(f"程式格 {k}：{call[:-1]} (code cell {k})")
    signs += [f"附帶的檔案 (file handed in)：{name}" for name in handin.files if name.endswith(DATA_SUFFIXES)]
    return signs


def justification_code(notebook: nbformat.NotebookNode) -> str:
    """The code cell(s) of a hand-in that set the BN-order justification (``JUSTIFICATION_KEY``)."""
    names = ("JUSTIFICATION_KEY", JUSTIFICATION_KEY)
    cells = [c for c in notebook.cells if c.cell_type == "code" and any(n in c.source for n in names)]
    return "\n\n".join(c.source for c in cells)


def ablation_code(notebook: nbformat.NotebookNode) -> str:
    """The source of the ablation's cells of a submitted notebook: the cells tagged
    :data:`ABLATION_TAG`, or else every code cell that calls ``run_ablation`` or sets its answer."""
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    tagged = [c for c in cells if has_tag(c, ABLATION_TAG)]
    chosen = tagged or [c for c in cells if "run_ablation(" in c.source or "ABLATION_KEY" in c.source]
    return "\n\n".join(c.source for c in chosen)


def training_code(notebook: nbformat.NotebookNode) -> str:
    """The source of the training cell(s) of a submitted notebook: the cells tagged
    :data:`TRAIN_TAG`, or else every code cell that calls a ``train`` function or ``fit``."""
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    tagged = [c for c in cells if has_tag(c, TRAIN_TAG)]
    chosen = tagged or [c for c in cells if "train(" in c.source or ".fit(" in c.source]
    return "\n\n".join(c.source for c in chosen)
