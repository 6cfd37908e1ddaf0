"""Where the course is published, and what is generated from it: Colab badges and the setup cell.

The repository URL and the branch or tag live in one place, ``[tool.course]`` in
``pyproject.toml``. Change them there when you fork or release the course, then run
``python -m helpers.release``: every notebook's badge and setup cell, and the README's badge
table, are rewritten from them (and ``--check`` fails while any of them is stale).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


@dataclass(frozen=True)
class CourseConfig:
    """The published location of the course: a GitHub repository URL and a branch or tag."""

    repository: str
    ref: str

    @property
    def github_path(self) -> str:
        """``owner/name`` of the GitHub repository."""
        path = self.repository.removesuffix(".git").rstrip("/")
        return "/".join(path.split("/")[-2:])

    @property
    def folder_name(self) -> str:
        """The folder a fresh Colab runtime clones the course into."""
        return self.github_path.split("/")[-1]

    def colab_url(self, path: str) -> str:
        """The link that opens ``path`` (e.g. ``notebooks/01_data_shapes.ipynb``) in Colab."""
        return f"https://colab.research.google.com/github/{self.github_path}/blob/{self.ref}/{path}"

    def badge(self, path: str) -> str:
        """The "Open in Colab" badge, as Markdown, for the notebook at ``path``."""
        return f"[![在 Colab 開啟 Open In Colab]({COLAB_BADGE_IMAGE})]({self.colab_url(path)})"


def load_config(root: Path = ROOT) -> CourseConfig:
    """Read ``[tool.course]`` from ``pyproject.toml``."""
    with open(root / "pyproject.toml", "rb") as f:
        table = tomllib.load(f)["tool"]["course"]
    return CourseConfig(repository=table["repository"], ref=table["ref"])


def setup_source(config: CourseConfig) -> str:
    """The first code cell of every notebook.

    Locally it finds the course folder (the notebook's folder or a parent) and makes ``helpers``
    importable. On a fresh Colab runtime, where only the notebook exists, it first makes a shallow
    clone of the configured repository and ref (``COURSE_REPO`` / ``COURSE_REF`` override them,
    e.g. to test a fork). ``COURSE_ROOT`` names the course folder outright (the grader runs
    submissions outside it). Running it again changes nothing.
    """
    return f'''\
# 設定（Setup）：找到課程的 helpers 套件（在 Colab 上先下載課程）、設定中文字型、印出環境與執行模式
import os
import pathlib
import subprocess
import sys

COURSE_REPO = os.environ.get("COURSE_REPO", "{config.repository}")
COURSE_REF = os.environ.get("COURSE_REF", "{config.ref}")
HERE = pathlib.Path.cwd()
FOUND = [pathlib.Path(os.environ.get("COURSE_ROOT", HERE)), HERE, *HERE.parents]  # COURSE_ROOT：評分程式設定
ROOT = next((p for p in FOUND if (p / "helpers").is_dir()), HERE / "{config.folder_name}")
if not (ROOT / "helpers").is_dir():  # 例如剛開啟的 Colab：淺層複製課程 (shallow clone)
    command = ["git", "clone", "--quiet", "--depth", "1", "--branch", COURSE_REF, COURSE_REPO, str(ROOT)]
    subprocess.run(command, check=True)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers.runtime import setup_notebook

MODE = setup_notebook()'''
