"""Benchmark records and the README figures made from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers.course import ROOT
from helpers.records import (
    MEASURED_BEGIN,
    confident_mistake_images,
    epoch_entry,
    measured_figures,
    readme_with_measured,
    results_from_records,
    summarize,
    time_phases,
)

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


def _validation_record() -> dict:
    """A small record as ``python -m benchmarks.train … --validation`` writes it."""
    logs = [
        {"loss": 2.0, "accuracy": 0.3, "val_loss": 1.8, "val_accuracy": 0.35},
        {"loss": 1.5, "accuracy": 0.5, "val_loss": 1.4, "val_accuracy": 0.55},
    ]
    record = {
        "recipe": "deep-gap",
        "params": 1234,
        "seed": 2,
        "epochs": [
            epoch_entry(k + 1, log, 10.0, 11.0, 100, 12.0 * (k + 1), split="val")
            for k, log in enumerate(logs)
        ],
        "test_accuracy": 0.52,
        "train_accuracy_inference": 0.6,
    }
    record["summary"] = summarize(record)
    return record


def test_a_validation_record_is_read_like_a_run_the_notebook_trained() -> None:
    record = _validation_record()
    assert "val_accuracy" in record["epochs"][0] and "test_accuracy" not in record["epochs"][0]
    summary = record["summary"]
    assert summary["final_val_accuracy"] == 0.55 and summary["best_val_accuracy"] == 0.55
    assert summary["final_test_accuracy"] == 0.52 and summary["best_test_accuracy"] is None, "test once"
    (run,) = results_from_records([record])
    assert run.history["val_accuracy"] == [0.35, 0.55] and run.history["accuracy"] == [0.3, 0.5]
    assert run.final_accuracy == 0.55 and run.seed == 2 and run.params == 1234 and run.seconds == 20.0
    assert run.test_accuracy is None, "the test accuracy stays hidden until the notebook's last section"
    assert run.train_accuracy_inference == 0.6
    assert results_from_records([record], with_test=True)[0].test_accuracy == 0.52
    test_record = {
        **record,
        "epochs": [
            epoch_entry(1, {"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.5}, 1, 1, 1, 1)
        ],
    }
    with pytest.raises(ValueError, match="--validation"):
        results_from_records([test_record])


def test_the_records_carry_their_confident_mistakes_as_images() -> None:
    paths = sorted(RESULTS.glob("deep_*_6ep_cpu_seed*.json"))
    assert len(paths) == 6, "lesson 05 reads 3 seeds of each head, lesson 06 the GAP ones"
    for path in paths:
        record = json.loads(path.read_text(encoding="utf-8"))
        mistakes = record["validation_analysis"]["confident_mistakes"]
        assert all(true != guess for _, true, guess, _ in mistakes), path.name
        if "_gap_" in path.name:  # lesson 06 shows them (the first Flatten run predates the images)
            images = confident_mistake_images(record)
            assert images.shape == (len(mistakes), 32, 32, 3) and images.std() > 0, path.name
        matrix = np.array(record["validation_analysis"]["confusion_matrix"])
        assert matrix.sum() == record["val_images"], path.name
        assert np.trace(matrix) / matrix.sum() == pytest.approx(
            record["summary"]["final_val_accuracy"], abs=2e-4
        )


def test_the_phases_of_a_run_add_up_to_its_whole_process_time() -> None:
    """time_phases splits a record's wall time: data, build, training, validation, evaluation."""
    epochs = [
        {
            "epoch": 1,
            "epoch_fit_s": 12.0,
            "epoch_total_s": 13.0,
            "wall_s": 20.0,
            "val_accuracy": 0.5,
            "images_per_s": 9.0,
        },
        {
            "epoch": 2,
            "epoch_fit_s": 10.0,
            "epoch_total_s": 11.5,
            "wall_s": 31.5,
            "val_accuracy": 0.6,
            "images_per_s": 10.0,
        },
    ]
    record = {"epochs": epochs, "data_loaded_s": 4.0, "process_s": 40.0, "test_accuracy": 0.6}
    record["summary"] = summarize(record)
    phases = time_phases(record)
    assert phases == {
        "data": 4.0,
        "build": 3.0,  # training starts at 20 − 13 = 7 s
        "training": 22.0,
        "compile": 2.0,  # the first epoch's 12 s against the steady 10 s
        "validation": 2.5,
        "evaluation": 8.5,
        "process": 40.0,
    }
    parts = ("data", "build", "training", "validation", "evaluation")
    assert sum(phases[p] for p in parts) == pytest.approx(phases["process"])
