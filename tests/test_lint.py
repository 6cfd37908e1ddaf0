"""ruff lints and checks the formatting of helpers, tests, benchmarks and every notebook."""

from __future__ import annotations

import subprocess
import sys

from helpers.release import ROOT


def run_ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "."], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_check() -> None:
    result = run_ruff("check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run_ruff("format", "--check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def notebooks_using() -> dict[str, list[str]]:
    """helpers module → the numbers of the solution notebooks whose code imports it."""
    import re

    import nbformat

    uses: dict[str, set[str]] = {}
    pattern = re.compile(r"^\s*(?:from|import)\s+helpers(?:\.(\w+)|\s+import\s+([\w, ]+))", re.M)
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for match in pattern.finditer(cell.source):
                names = [match[1]] if match[1] else [n.strip() for n in match[2].split(",")]
                for name in names:
                    uses.setdefault(name, set()).add(path.name[:2])
    return {name: sorted(numbers) for name, numbers in uses.items()}


def test_each_helper_names_the_notebooks_that_use_it() -> None:
    """Both ways: a module a notebook imports says which; a module that says so is imported by them."""
    import importlib
    import re

    using = notebooks_using()
    for module, numbers in using.items():
        doc = importlib.import_module(f"helpers.{module}").__doc__ or ""
        line = f"Used in notebooks {', '.join(numbers)}."
        assert line in " ".join(doc.split()), f"helpers/{module}.py: its docstring should say {line!r}"
    for path in sorted((ROOT / "helpers").glob("*.py")):
        said = re.search(r"Used in notebooks ([\d, ]+)\.", " ".join(path.read_text(encoding="utf-8").split()))
        if said:
            claimed = [n.strip() for n in said[1].split(",")]
            assert using.get(path.stem) == claimed, (
                f"helpers/{path.name} says notebooks {claimed}: none imports it"
            )
