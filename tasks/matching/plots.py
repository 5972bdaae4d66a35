"""Matching figures (``harness plot``): test Spearman and accuracy per task and method, with the
articles' BERT values as markers, from stored records only; PNG and SVG under
``results/figures/matching_<metric>.*``. Nothing here imports torch."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness.api import registry
from tasks.matching.page import FAMILY, METHODS, default_records, published_by_task

ORDER = ("atec", "bq", "lcqmc", "pawsx", "stsb-zh", "afqmc", "stsb-en", "mrpc")


def metric_figure(records: Any, metric: str, outdir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = records[records["metric"] == metric]
    tasks = [t for t in ORDER if t in set(rows["task"])]
    if not tasks:
        return []
    pub = published_by_task().get(metric, {})
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
        bars = ax.bar(xs, means, width, yerr=errs, capsize=2, label=f"{method} (ours)")
        for i, task in enumerate(tasks):
            if method in pub.get(task, {}):
                ax.plot(i + (k - (len(METHODS) - 1) / 2) * width, pub[task][method], marker="_", markersize=14,
                        color=bars.patches[0].get_facecolor() if bars.patches else "k", markeredgewidth=2.5)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel(f"test {metric} × 100")
    ax.set_title(f"{metric}: bars ours (from-scratch encoder, mean ± sd over seeds); dashes published BERT", fontsize=9)
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


registry.register_plotter(FAMILY, plot_matching)
