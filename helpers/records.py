"""Benchmark records: the one definition of the JSON file ``python -m benchmarks.train`` writes,
which ``benchmarks/summary.py`` tabulates and notebooks read (lesson 06 plots the Keras example's
records and checks its claims against them).

A record is a JSON object with the run's description (``recipe``, ``seed``, ``hardware``,
``versions``…), ``epochs``: one entry per epoch (:func:`epoch_entry`), and ``summary``
(:func:`summarize`, recomputed whenever the record is written).

Used in notebooks 06.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Test accuracies whose time-to-reach the summary records.
THRESHOLDS = (0.75, 0.79, 0.80, 0.94)


def epoch_entry(
    epoch: int, logs: dict[str, float], fit_s: float, total_s: float, images: int, wall_s: float
) -> dict[str, Any]:
    """One epoch of a record, from Keras's logs (``val_*`` is the test set in a benchmark run)."""
    return {
        "epoch": epoch,
        "train_loss": round(float(logs["loss"]), 5),
        "train_accuracy": round(float(logs["accuracy"]), 5),
        "test_loss": round(float(logs["val_loss"]), 5),
        "test_accuracy": round(float(logs["val_accuracy"]), 5),
        "epoch_fit_s": round(fit_s, 2),
        "epoch_total_s": round(total_s, 2),
        "images_per_s": round(images / fit_s, 1),
        "wall_s": round(wall_s, 2),
    }


def time_to(epochs: list[dict[str, Any]], threshold: float) -> dict[str, Any] | None:
    for record in epochs:
        if record["test_accuracy"] >= threshold:
            return {"epoch": record["epoch"], "wall_s": record["wall_s"]}
    return None


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """The record's summary, from its epochs."""
    epochs = result["epochs"]
    speeds = sorted(e["images_per_s"] for e in epochs[1:] or epochs)  # epoch 1 includes tracing
    steady = sorted(e["epoch_fit_s"] for e in epochs[1:])
    return {
        "epochs_done": len(epochs),
        # the first epoch also traces (and on a GPU, XLA-compiles) the train step: its extra time
        "compile_s_estimate": round(epochs[0]["epoch_fit_s"] - steady[len(steady) // 2], 2)
        if steady
        else None,
        "train_s": round(sum(e["epoch_fit_s"] for e in epochs), 2),
        "median_images_per_s": speeds[len(speeds) // 2] if speeds else None,
        "final_test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
        "best_test_accuracy": max((e["test_accuracy"] for e in epochs), default=None),
        "wall_s": epochs[-1]["wall_s"] if epochs else None,
        "time_to": {f"{int(t * 100)}%": time_to(epochs, t) for t in THRESHOLDS},
    }


def write_record(result: dict[str, Any], out: Path) -> None:
    """Write a record atomically, with its summary recomputed."""
    result["summary"] = summarize(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(out)


def load_all(folder: Path, kind: str = "epochs") -> list[dict[str, Any]]:
    """Every JSON record in ``folder`` with the key ``kind`` (``epochs``: a training run;
    ``data_only``: a pipeline measurement; ``batches``: a grading run), each with its ``file``."""
    found = []
    for path in sorted(folder.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if kind in result:
            found.append(result | {"file": path.name})
    return found


def read_records(directory: Path, pattern: str) -> list[dict[str, Any]]:
    """The benchmark records (``python -m benchmarks.train`` JSON files) in ``directory`` whose
    names match ``pattern``, sorted by name."""
    paths = sorted(Path(directory).glob(pattern))
    if not paths:
        raise FileNotFoundError(f"找不到紀錄 (no benchmark record) {pattern} in {directory}")
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def record_curves(records: list[dict[str, Any]], key: str = "test_accuracy") -> list[list[float]]:
    """One per-epoch curve per record, for :func:`claim_report` and :func:`helpers.plots.plot_curves`."""
    return [[epoch[key] for epoch in record["epochs"]] for record in records]


def describe_records(name: str, records: list[dict[str, Any]]) -> str:
    """One line: how many runs, their seeds, epochs, minutes, machine and versions."""
    low, high = (f"{f(r['epochs'][-1]['wall_s'] for r in records) / 60:.0f}" for f in (min, max))
    epochs = "/".join(str(n) for n in sorted({len(record["epochs"]) for record in records}))
    first = records[0]
    names = {"tensorflow": "TensorFlow", "keras": "Keras", "tf_keras": "tf_keras"}
    versions = "，".join(f"{names[k]} {v}" for k, v in first["versions"].items() if k in names)
    return (
        f"{name}：{len(records)} 次執行 (runs)，種子 (seeds) {', '.join(str(r['seed']) for r in records)}，"
        f"{epochs} 個 epoch，每次 {low if low == high else f'{low}–{high}'} 分鐘 (minutes)，"
        f"{first['hardware']['cpu']} {first['hardware']['cpu_count']} 核心 (cores)，{versions}"
    )
