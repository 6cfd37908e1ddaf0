"""Regenerate benchmarks/results/SUMMARY.md and summary.png from the JSON results.

python -m benchmarks.summary
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from helpers.records import TEN_MINUTE_RECORDS, evaluated_split, load_all, readme_with_measured, time_phases

RESULTS = Path(__file__).resolve().parent / "results"


def load(folder: Path = RESULTS, kind: str = "epochs") -> list[dict]:
    """Every record in ``folder`` of the given kind (:func:`helpers.records.load_all`)."""
    return load_all(folder, kind)


def _hardware(r: dict) -> str:
    return ", ".join(r["hardware"]["gpus"]) or f"{r['hardware']['cpu']} × {r['hardware']['cpu_count']}"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def recipes_table(results: list[dict]) -> str:
    """One row per recipe and machine: medians over its runs (time to 80% in whole-process wall time)."""
    groups: dict[tuple[str, int, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["recipe"], r["epochs_planned"], _hardware(r)), []).append(r)
    lines = [
        "| recipe | hardware | runs | params | epochs | median images/s | median final test acc | "
        "median time to 80% | reached 80% |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (recipe, _, hardware), runs in groups.items():
        hits = [r["summary"]["time_to"]["80%"]["wall_s"] for r in runs if r["summary"]["time_to"].get("80%")]
        to80 = _median(hits)
        lines.append(
            f"| {recipe} | {hardware} | {len(runs)} | {runs[0]['params']:,} | "
            f"{_median([r['summary']['epochs_done'] for r in runs]):g} | "
            f"{_median([r['summary']['median_images_per_s'] for r in runs]):,.0f} | "
            f"{_median([r['summary']['final_test_accuracy'] for r in runs]):.3f} | "
            f"{'—' if to80 is None else f'{to80 / 60:.1f} min'} | {len(hits)} of {len(runs)} |"
        )
    return "\n".join(lines)


#: The airbench tricks in the order the ablation adds them (benchmarks.train --tricks).
TRICK_ORDER = ("whiten", "freeze", "dirac", "bnbias", "lookahead")


def tricks_table(results: list[dict]) -> str:
    """The tricks' ablation (issue 27): fast-recipe runs with ``--validation --tta-level 2``, one row
    per set of tricks (each row adds to the one above), over seeds: the final validation accuracy
    (no TTA, mirror, mirror + translations), the difference from the row above with its standard
    error (:func:`helpers.training.mean_difference`) and exact permutation p, whole-process time and
    training speed, and the test set's one evaluation (TTA level 2). Empty when there are none."""
    from helpers.training import mean_difference, permutation_p_value  # noqa: PLC0415

    groups: dict[tuple[str, ...], list[dict]] = {}
    for r in results:
        if r["recipe"] != "fast-cnn" or "tta2_val_accuracy" not in r or r["epochs_planned"] != 8:
            continue
        key = tuple(name for name in TRICK_ORDER if name in r.get("tricks", {}))
        groups.setdefault(key, []).append(r)
    if not groups:
        return ""
    lines = [
        "| tricks (each row adds to the one above) | seeds | val acc, mean (min–max) | + mirror TTA | "
        "+ mirror & shift TTA | Δ val acc vs the row above | whole process (median) | images/s | "
        "test, TTA 2 (mean, once each) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    previous = None
    for key in sorted(groups, key=len):
        runs = groups[key]
        final = [r["summary"]["final_val_accuracy"] for r in runs]
        tta1 = [r["tta1_val_accuracy"] for r in runs]
        tta2 = [r["tta2_val_accuracy"] for r in runs]
        tests = [r["tta2_test_accuracy"] for r in runs if "tta2_test_accuracy" in r]
        delta = "—"
        if previous is not None and len(final) > 1 and len(previous) > 1:
            gap, error = mean_difference(final, previous)
            delta = f"{gap:+.2f} ± {error:.2f} points, p = {permutation_p_value(final, previous):.2f}"
        previous = final
        lines.append(
            f"| {' + '.join(('fast recipe', *key))} | {len(runs)} | "
            f"{statistics.mean(final):.4f} ({min(final):.4f}–{max(final):.4f}) | "
            f"{statistics.mean(tta1):.4f} | {statistics.mean(tta2):.4f} | {delta} | "
            f"{_median([r['process_s'] for r in runs]) / 60:.1f} min | "
            f"{_median([r['summary']['median_images_per_s'] for r in runs]):,.0f} | "
            f"{statistics.mean(tests):.4f} |"
        )
    return "\n".join(lines)


def ten_minute_table(results: list[dict]) -> str:
    """The ≥ 85% runs (issue 27 §2, :data:`helpers.records.TEN_MINUTE_RECORDS`): one row per seed
    and a median row: validation (plain, TTA 2), the test set's one evaluation (plain, TTA 2) and
    where the whole-process time went (:func:`helpers.records.time_phases`). Empty when none."""
    runs = sorted((r for r in results if r["file"].startswith(TEN_MINUTE_RECORDS)), key=lambda r: r["seed"])
    if not runs:
        return ""
    columns = ("data", "build", "training", "compile", "validation", "evaluation", "process")
    lines = [
        "| seed | val acc | val, TTA 2 | test (once) | test, TTA 2 (once) | data + imports | "
        "build + whitening | training (of which compile) | validation each epoch | evaluation at the end | "
        "whole process |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def compile_text(seconds: float) -> str:
        # the first epoch's time less the median epoch's: below zero it is lost in the noise
        return f"{seconds:.1f} s" if seconds > 0 else "within the noise"

    def row(label: str, values: list[float], phases: dict[str, float]) -> str:
        accuracies = " | ".join(f"{v:.2%}" for v in values)
        return (
            f"| {label} | {accuracies} | {phases['data']:.1f} s | {phases['build']:.1f} s | "
            f"{phases['training']:.0f} s ({compile_text(phases['compile'])}) | "
            f"{phases['validation']:.1f} s | {phases['evaluation']:.1f} s | "
            f"**{phases['process'] / 60:.2f} min** |"
        )

    def values(r: dict) -> list[float]:
        later = ("tta2_val_accuracy", "test_accuracy", "tta2_test_accuracy")
        return [r["summary"]["final_val_accuracy"], *(r[key] for key in later)]

    all_phases = [time_phases(r) for r in runs]
    for r, phases in zip(runs, all_phases, strict=True):
        lines.append(row(str(r["seed"]), values(r), phases))
    medians = [statistics.median(column) for column in zip(*(values(r) for r in runs), strict=True)]
    median_phases = {c: statistics.median(p[c] for p in all_phases) for c in columns}
    lines.append(row("median", medians, median_phases))
    return "\n".join(lines)


def pipeline_table(results: list[dict]) -> str:
    """Images/s of the tf.data pipeline vs the naive NumPy path (data only, and training)."""
    lines = ["| file | hardware | measurement | path | median images/s |", "|---|---|---|---|---|"]
    for r in results:
        for section in ("data_only", "training"):
            for path, numbers in r[section].items():
                lines.append(
                    f"| {r['file']} | {_hardware(r)} | {section.replace('_', ' ')} "
                    f"(batch {r['batch_size']}) | {path} | {numbers['median_images_per_s']:,.0f} |"
                )
    return "\n".join(lines)


def _best(summary: dict) -> str:
    """The best per-epoch accuracy: of the test set, or (``--validation`` records, whose test set
    is read once at the end) of the validation split, marked ``val``."""
    if summary.get("best_test_accuracy") is not None:
        return f"{summary['best_test_accuracy']:.3f}"
    return f"{summary['best_val_accuracy']:.3f} (val)"


def table(results: list[dict]) -> str:
    lines = [
        "| file | recipe | hardware | params | epochs | median images/s | final test acc | best | "
        "time to 75% | time to 79% | time to 80% | time to 94% | wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["summary"]
        hardware = _hardware(r)

        def reached(key: str, summary: dict = s) -> str:
            hit = summary["time_to"].get(key)
            return f"{hit['wall_s'] / 60:.1f} min (epoch {hit['epoch']})" if hit else "—"

        lines.append(
            f"| {r['file']} | {r['recipe']} | {hardware} | {r['params']:,} | {s['epochs_done']} | "
            f"{s['median_images_per_s']} | {s['final_test_accuracy']:.3f} | {_best(s)} | "
            f"{reached('75%')} | {reached('79%')} | {reached('80%')} | {reached('94%')} | "
            f"{s['wall_s'] / 60:.1f} min |"
        )
    return "\n".join(lines)


def grading_table(results: list[dict]) -> str:
    """Wall time of grading copies of a homework notebook, per setup (``--jobs`` in older records)."""
    lines = [
        "| file | hardware | mode | notebook | sandbox | submissions | setup | wall | median per submission "
        "| median reference s | statuses |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for b in r["batches"]:
            setup = b.get("setup") or f"--jobs {b['jobs']}"
            lines.append(
                f"| {r['file']} | {_hardware(r)} | {r['mode']} | {r.get('notebook', 'solution')} | "
                f"{r['sandbox']} | {r['copies']} | {setup} | {b['wall_s']} s | "
                f"{b['median_submission_s']} s | {b.get('median_reference_s', '–')} | "
                f"{', '.join(b['statuses'])} |"
            )
    return "\n".join(lines)


#: Assumed, not measured here (no GPU with TensorFlow was available): a GPU worker grades a
#: full-mode submission this many times faster than a 2-core CPU worker.
ASSUMED_GPU_SPEEDUP = 10.0
CLASS_SIZE = 200


def projection_table(results: list[dict]) -> str:
    """A class of :data:`CLASS_SIZE` in full mode on K workers, from the measured full-mode time
    of one submission (per notebook) and the measured efficiency of 2 workers on one machine."""
    full = [
        (r.get("notebook", "solution"), b["median_submission_s"])
        for r in results
        if r["mode"] == "full"
        for b in r["batches"]
    ]
    walls = {b.get("setup"): b["wall_s"] for r in results if r["mode"] == "smoke" for b in r["batches"]}
    efficiency = None
    if walls.get("serial") and walls.get("cluster2"):
        efficiency = walls["serial"] / (2 * walls["cluster2"])
    lines = [
        f"A class of {CLASS_SIZE} in full mode, every worker a 2-core CPU machine of its own grading one "
        "submission at a time (or a GPU worker). **Measured**: the full-mode time of one submission (row); "
        "two `dask worker` processes sharing one 2-core machine on the smoke batch ran at "
        + (f"{efficiency:.0%} of twice the serial rate" if efficiency else "(not measured yet)")
        + f". **Assumed**: a GPU worker {ASSUMED_GPU_SPEEDUP:g}× a 2-core CPU worker (not measured here); "
        "workers on separate machines scale linearly; scheduling overhead is negligible next to minutes "
        "per submission.",
        "",
        "| notebook | one submission (CPU) | 1 CPU | 10 CPU | 40 CPU | 4 GPU (assumed) | 10 GPU (assumed) "
        "| CPU workers for ≤ 1 h |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for notebook, seconds in full:

        def hours(workers: int, speed: float = 1.0, t: float = seconds) -> str:
            return f"{-(-CLASS_SIZE // workers) * t / speed / 3600:.1f} h"

        needed = -(-CLASS_SIZE * seconds // 3600)
        lines.append(
            f"| {notebook} | {seconds / 60:.1f} min | {hours(1)} | {hours(10)} | {hours(40)} | "
            f"{hours(4, ASSUMED_GPU_SPEEDUP)} | {hours(10, ASSUMED_GPU_SPEEDUP)} | {needed:.0f} |"
        )
    return "\n".join(lines)


def plot(results: list[dict], out: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only the plot needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(10, 4.5))
    colors: dict[str, Any] = {}
    palette = plt.get_cmap("tab20").colors
    for r in results:
        minutes = [e["wall_s"] / 60 for e in r["epochs"]]
        split = evaluated_split(r["epochs"])
        tricks = [name for name in TRICK_ORDER if name in r.get("tricks", {})]
        group = r["recipe"] + (f" + {' + '.join(tricks)}" if tricks else "")
        group += f", {r['epochs_planned']} ep" + (", validation" if split == "val" else "")
        first = group not in colors
        colors.setdefault(group, palette[len(colors) % len(palette)])
        ax.plot(
            minutes,
            [e[f"{split}_accuracy"] for e in r["epochs"]],
            color=colors[group],
            marker="." if split == "test" else "x",
            linestyle="-" if split == "test" else ":",
            label=group if first else None,  # one legend entry per recipe and setting (its seeds alike)
        )
    ax.set_xlabel("wall time (minutes)")
    ax.set_ylabel("test accuracy (validation: dotted)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> int:
    results = load()
    pipelines = load(kind="data_only")
    text = (
        "# Benchmark results\n\nRegenerated by `python -m benchmarks.summary` from the JSON files here. "
        "Times are whole-process wall time (data loading included); medians over runs. Records made "
        "with `--validation` (the course's way) evaluate the validation split after each epoch and the "
        "test set once, at the end: their *final test acc* is that one evaluation, their *best* and "
        "*time to* columns read the validation split (marked val).\n\n"
        "## Recipes\n\n"
        + recipes_table(results)
        + "\n\n## Every run\n\n"
        + table(results)
        + "\n\n![accuracy vs wall time](summary.png)\n"
    )
    tricks = tricks_table(results)
    if tricks:
        text += (
            "\n## The airbench tricks, one at a time (`python -m benchmarks.train fast-cnn --validation "
            "--epochs 8 --tta-level 2 --tricks …`)\n\n"
            "Choices read on the validation split (5,000 images held out of the training set); the test "
            "set is evaluated once per run, at the end. Δ is the difference of the mean final validation "
            "accuracy (no TTA) from the row above, ± its standard error, with the exact permutation p; "
            "with 3 seeds against 3 the smallest possible p is 0.10.\n\n" + tricks + "\n"
        )
    ten = ten_minute_table(results)
    if ten:
        runs = [r for r in results if r["file"].startswith(TEN_MINUTE_RECORDS)]
        text += (
            f"\n## ≥ 85% in 10 minutes on a 2-core CPU (`python -m benchmarks.train fast-cnn --validation "
            f"--epochs {runs[0]['epochs_planned']} --tricks whiten,freeze --tta-level 2`)\n\n"
            "The fast recipe with the two tricks that did not lose in the ablation above (the whitened "
            "stem, its bias frozen after 3 epochs), on 45,000 images with the validation split evaluated "
            f"after each epoch; the epochs are as many as fit 10 minutes with a margin "
            f"({runs[0]['epochs_planned']} × about 35 s, set before these runs), "
            "TTA level 2 was chosen on the validation split (the ablation's rows), and the test set is "
            "evaluated once per run at the end (plain and with TTA 2; nothing chosen on it). Times in "
            "seconds of whole-process wall time; the interpreter's start before the script (about 1 s) "
            "is not in them. Hardware: "
            + _hardware(runs[0])
            + " (other hosts of this project's kind differ: compare times within one machine); the "
            "machine is noisy: one epoch took "
            + f"{min(e['epoch_total_s'] for r in runs for e in r['epochs']):.0f}–"
            + f"{max(e['epoch_total_s'] for r in runs for e in r['epochs']):.0f} s across these runs; "
            "data: the offline JPEG copy (accuracies read a little lower than on the original).\n\n"
            + ten
            + "\n"
        )
    notes = [f"- `{r['file']}`: {r['notes']}" for r in results if r.get("notes")]
    if notes:
        text += "\n## Notes\n\n" + "\n".join(notes) + "\n"
    if pipelines:
        text += "\n## Input pipeline (`python -m benchmarks.pipeline`)\n\n" + pipeline_table(pipelines) + "\n"
    gradings = load(kind="batches")
    if gradings:
        text += "\n## Grader (`python -m benchmarks.grading`)\n\n" + grading_table(gradings) + "\n"
        text += "\n### A class of 200 on a cluster (projection)\n\n" + projection_table(gradings) + "\n"
    (RESULTS / "SUMMARY.md").write_text(text, encoding="utf-8")
    plot(results, RESULTS / "summary.png")
    print(f"wrote {RESULTS / 'SUMMARY.md'} and summary.png ({len(results)} results)")
    readme = RESULTS.parent.parent / "README.md"
    readme.write_text(readme_with_measured(readme.read_text(encoding="utf-8"), RESULTS), encoding="utf-8")
    print(f"wrote the measured results in {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
