"""Matching figures (``harness plot``): test Spearman and accuracy per task and method, from stored
records only; PNG and SVG under ``results/figures/matching_<metric>.*``. The articles' BERT values
are another protocol and are not drawn beside these bars. Nothing here imports torch."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness.api import registry
from tasks.matching.page import FAMILY, METHODS, default_records

ORDER = ("atec", "bq", "lcqmc", "pawsx", "stsb-zh", "afqmc", "stsb-en", "mrpc")


def metric_figure(records: Any, metric: str, outdir: Path) -> list[Path]:
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
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel(f"test {metric} × 100")
    ax.set_title(f"{metric}: from-scratch 1-layer encoder, scale small (mean ± sd over seeds)", fontsize=9)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.09))
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"matching_{metric}.png", outdir / f"matching_{metric}.svg"]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return paths


def plot_matching(records: Any, store: Any, outdir: Path) -> list[Path]:
    scale = "small" if "small" in set(records["scale"]) else sorted(set(records["scale"]))[0]
    chosen = default_records(records, scale)
    return [p for metric in ("spearman", "accuracy") for p in metric_figure(chosen, metric, outdir)]


registry.register_plotter(FAMILY, plot_matching, captions={
    "accuracy": "test accuracy × 100 at the threshold chosen on valid, per task: bars mean ± sd over seeds (from-scratch encoder)",
    "spearman": "test Spearman × 100 per task: bars mean ± sd over seeds (from-scratch encoder)",
})
