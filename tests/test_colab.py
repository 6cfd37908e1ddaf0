"""A fresh Colab runtime, simulated: only the notebook, a fake `google.colab`, no `helpers`.

The setup cell of a notebook runs in a new interpreter in an empty folder, with the course
repository URL pointed at a local bare clone (``file://``): it must clone the course, make
`helpers` importable, print its report and the GPU hint, and do nothing new when run again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.contract import SETUP_TAG
from helpers.course import ROOT, load_config


def setup_cell(notebook: str) -> str:
    cells = nbformat.read(ROOT / "notebooks" / notebook, as_version=4).cells
    cell = next(c for c in cells if c.cell_type == "code")
    assert SETUP_TAG in cell.metadata["tags"]
    return cell.source


def head_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def colab(tmp_path: Path) -> dict[str, str | Path]:
    if not (ROOT / ".git").exists():
        pytest.skip("needs the course as a git checkout")
    bare = tmp_path / "course.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(bare)], check=True)
    # A branch of our own at the checked-out commit: works on a branch and on a detached HEAD alike.
    subprocess.run(["git", "-C", str(bare), "branch", "--force", "colab-test", head_commit()], check=True)
    fake = tmp_path / "fake_modules" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab module."""\n')
    content = tmp_path / "content"
    content.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {
        "PYTHONPATH": str(tmp_path / "fake_modules"),
        "COURSE_REPO": bare.as_uri(),
        "COURSE_REF": "colab-test",
        "COURSE_MODE": "smoke",
        "MPLBACKEND": "Agg",
    }
    return {"content": content, "env": env}


SCRIPT = """
import importlib.util, sys
assert importlib.util.find_spec("helpers") is None, "helpers must not be importable before setup"
cell = open(sys.argv[1], encoding="utf-8").read()
exec(cell)
print("--- second run ---")
exec(cell)
import helpers
print("HELPERS", helpers.__file__)
print("MODE", MODE.name)
"""


def test_setup_cell_on_a_fresh_colab_runtime(colab, tmp_path: Path) -> None:
    cell = tmp_path / "setup_cell.py"
    cell.write_text(setup_cell("01_data_shapes.ipynb"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cell)],
        cwd=colab["content"],
        env=colab["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    clone = Path(colab["content"]) / load_config().folder_name
    assert f"HELPERS {clone / 'helpers' / '__init__.py'}" in out, out
    assert (clone / "notebooks" / "01_data_shapes.ipynb").exists()
    first, second = out.split("--- second run ---")
    for part in (first, second):
        assert "TensorFlow" in part and "Keras" in part and "執行模式 (mode)" in part
        assert "T4 GPU" in part, "on Colab without a GPU the report says how to get one"
    assert "MODE smoke" in out


def test_setup_cell_locally_only_imports(tmp_path: Path) -> None:
    cell = tmp_path / "setup_cell.py"
    cell.write_text(setup_cell("01_data_shapes.ipynb"), encoding="utf-8")
    unset = ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")  # as on a student's machine
    env = {k: v for k, v in os.environ.items() if k not in unset} | {"COURSE_REPO": "file:///nonexistent"}
    script = SCRIPT.replace('assert importlib.util.find_spec("helpers") is None, ', "pass  # ")
    result = subprocess.run(
        [sys.executable, "-c", script, str(cell)],
        cwd=ROOT / "notebooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"HELPERS {ROOT / 'helpers' / '__init__.py'}" in result.stdout
    assert "T4 GPU" not in result.stdout, "no Colab hint outside Colab"
    for noise in ("absl", "I0000", "W0000", "E0000", "cuda", "cuInit"):
        assert noise not in result.stderr, (
            f"TensorFlow log noise on a student's first screen: {result.stderr}"
        )


def test_a_name_error_says_which_exercise_to_finish(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """In a kernel, a NameError's traceback is followed by where to look, in zh-TW and English."""
    import IPython

    from helpers import runtime

    class Shell:
        def set_custom_exc(self, types, handler):
            self.types, self.handler = types, handler

        def showtraceback(self, exc_tuple, tb_offset=None):
            print("TRACEBACK", exc_tuple[0].__name__)

    shell = Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    runtime._explain_name_errors()
    assert shell.types == (NameError,)
    try:
        result  # noqa: B018 - the name a student has not defined yet
    except NameError as error:
        shell.handler(shell, NameError, error, error.__traceback__)
    out = capsys.readouterr().out
    assert "TRACEBACK NameError" in out and "# TODO：定義 result" in out and "not defined yet" in out
