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


def import_graph() -> dict[str, set[str]]:
    """helpers module → the helpers modules it imports at module level (imports inside functions,
    made where only that function needs them, are not edges)."""
    import ast

    modules = {}
    for path in (ROOT / "helpers").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
                edges.add(node.module)
                edges.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def test_the_helpers_import_no_circle() -> None:
    """No module of helpers/ imports itself through others (the contract and records modules sit
    below everything that uses them)."""
    graph = import_graph()
    assert {"helpers.contract", "helpers.records", "helpers.site", "helpers.grade.worker"} <= set(graph)
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import circle: " + " → ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for edge in sorted(graph[name]):
            visit(edge, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert graph["helpers.contract"] == set(), "the contract imports nothing of the course"
