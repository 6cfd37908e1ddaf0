"""Benchmark records and the README figures made from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.course import ROOT
from helpers.records import MEASURED_BEGIN, measured_figures, readme_with_measured

RESULTS = ROOT / "benchmarks" / "results"


def test_the_readme_quotes_the_records_as_they_are() -> None:
    """README's measured results are generated from benchmarks/results (python -m
    benchmarks.summary): a record that changes without the README being regenerated fails here."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert MEASURED_BEGIN.format(lang="zh") in readme and MEASURED_BEGIN.format(lang="en") in readme
    assert readme_with_measured(readme, RESULTS) == readme, "run python -m benchmarks.summary"


def test_the_figures_follow_the_records(tmp_path: Path) -> None:
    for path in RESULTS.glob("*_cpu*.json"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    before = measured_figures(tmp_path)
    assert before["port_runs"] == 3 and before["fast_runs"] == 3
    record = json.loads((tmp_path / "fast_cnn_8ep_cpu_seed0.json").read_text(encoding="utf-8"))
    record["summary"]["final_test_accuracy"] = 0.99
    (tmp_path / "fast_cnn_8ep_cpu_seed0.json").write_text(json.dumps(record), encoding="utf-8")
    after = measured_figures(tmp_path)
    assert after["fast_final"] > before["fast_final"], "a median of the three records"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_measured(readme, tmp_path) != readme
    with pytest.raises(ValueError, match="markers"):
        readme_with_measured("no markers here", tmp_path)


def test_every_training_record_names_its_data() -> None:
    """Each record says which copy of CIFAR-10 it trained on (the folder, and for the offline
    JPEG copy a known difference that says so)."""
    for path in RESULTS.glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        if "epochs" not in record:
            continue
        assert record.get("dataset"), path.name
        assert record.get("data_source"), f"{path.name}: no data_source"
