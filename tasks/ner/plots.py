"""NER figure (``harness plot``): test F1 against training speed, one panel per corpus.

Each point is one head: mean test F1 over seeds (±1 sample std as an error bar) against mean
training sentences per CPU second, at the largest scale stored for the corpus. It shows the
two axes the articles trade off — accuracy and training cost — side by side. PNG and SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.api import SCALE_ORDER, figure_sources, register_plotter
from tasks.ner.page import bilstm_cells

TASKS = ("peoples-daily", "cluener", "conll2003", "wnut17")
COLOURS = {"crf": "#1f77b4", "softmax": "#7f7f7f", "globalpointer": "#d62728", "globalpointer_norope": "#ff9896", "efficient_globalpointer": "#2ca02c"}


def f1_vs_speed(records: Any, store: Any, outdir: Path) -> list[Path]:
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if t in set(records["task"])]
    if not tasks:
        return []
    records = bilstm_cells(records)  # a pretrained encoder is another protocol, not another point of this panel
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.2), squeeze=False)
    drawn = []
    for ax, task in zip(axes[0], tasks):
        rows = records[records["task"] == task]
        scale = next(s for s in SCALE_ORDER if s in set(rows["scale"]))
        rows = rows[rows["scale"] == scale]
        drawn.append(rows[rows["method"].isin(list(COLOURS))])
        for method, colour in COLOURS.items():
            sel = rows[rows["method"] == method]
            f1 = sel[sel["metric"] == "f1"].groupby("seed")["value"].last() * 100
            speed = sel[sel["metric"] == "train_sents_per_cpu_s"].groupby("seed")["value"].last()
            if not len(f1) or not len(speed):
                continue
            ax.errorbar(speed.mean(), f1.mean(), yerr=f1.std(ddof=1) if len(f1) > 1 else 0, fmt="o", color=colour, label=method, capsize=3)
        ax.set_title(f"{task} ({scale})", fontsize=10)
        ax.set_xlabel("training sentences / CPU s")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test F1 (×100)")
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / "ner_f1_vs_speed.png", outdir / "ner_f1_vs_speed.svg"]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    figure_sources(paths, pd.concat(drawn))
    return paths


register_plotter("ner", f1_vs_speed, captions={
    "f1_vs_speed": "exact-span F1 against training speed, one point per head and task (from-scratch encoder)",
})
