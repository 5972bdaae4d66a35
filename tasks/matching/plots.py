"""Matching figures (``harness plot``): test Spearman and accuracy per task and method, from stored
records only; PNG and SVG under ``results/figures/matching_<metric>.*``. The articles' BERT values
are another protocol and are not drawn beside these bars. Nothing here imports torch."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness.api import figure_sources, registry
from tasks.matching.page import FAMILY, METHODS, default_records

ORDER = ("atec", "bq", "lcqmc", "pawsx", "stsb-zh", "afqmc", "stsb-en", "mrpc")


def metric_figure(records: Any, metric: str, outdir: Path, name: str, floor: str | None = None) -> list[Path]:
    """Bars of ``metric`` per task and method into ``matching_<name>.*``; ``floor`` names a metric
    drawn as a dashed line over each task's bars (the majority-class rate: a bar at that line
    learned nothing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = records[records["metric"] == metric]
    tasks = [t for t in ORDER if t in set(rows["task"])]
    if not tasks:
        return []
    fig, ax = plt.subplots(figsize=(1.3 * len(tasks) + 2, 3.6))
    width = 0.8 / len(METHODS)
    for k, method in enumerate(METHODS):
        xs, means, errs = [], [], []
        for i, task in enumerate(tasks):
            v = [float(x) for x in rows[(rows["task"] == task) & (rows["method"] == method)]["value"]]
            if v:
                xs.append(i + (k - (len(METHODS) - 1) / 2) * width)
                means.append(statistics.fmean(v))
                errs.append(statistics.stdev(v) if len(v) > 1 else 0.0)
        ax.bar(xs, means, width, yerr=errs, capsize=2, label=method)
    if floor is not None:
        base = records[records["metric"] == floor]
        for i, task in enumerate(tasks):
            v = [float(x) for x in base[base["task"] == task]["value"]]
            if v:
                ax.hlines(statistics.fmean(v), i - 0.45, i + 0.45, colors="black", linestyles="dashed",
                          linewidth=1, label="majority class" if i == 0 else None)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel(f"test {name} × 100")
    ax.set_title(f"{metric}: from-scratch 1-layer encoder, scale small (mean ± sd over seeds)", fontsize=9)
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.09))
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"matching_{name}.png", outdir / f"matching_{name}.svg"]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    figure_sources(paths, rows[rows["task"].isin(tasks) & rows["method"].isin(METHODS)])
    return paths


def plot_matching(records: Any, store: Any, outdir: Path) -> list[Path]:
    scale = "small" if "small" in set(records["scale"]) else sorted(set(records["scale"]))[0]
    chosen = default_records(records, scale)
    return [*metric_figure(chosen, "spearman", outdir, "spearman"),
            *metric_figure(chosen, "accuracy_acc_selected", outdir, "accuracy", floor="majority_accuracy")]


registry.register_plotter(FAMILY, plot_matching, captions={
    "accuracy": "test accuracy × 100, every model at its best-valid-accuracy epoch and threshold (8860's selection), per task: bars mean ± sd over seeds (from-scratch encoder); dashed: the majority-class rate",
    "spearman": "test Spearman × 100 per task: bars mean ± sd over seeds (from-scratch encoder)",
})
