"""The experiments' figure: linear-probe accuracy against the pre-training batch size, InfoNCE
beside FlatNCE (``flatnce-digits``), mean ± sample std over the seeds stored at the largest scale.

Registered as one of the family's plotters, beside ``tasks/theory/plots.py``'s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.api import SCALE_ORDER, register_plotter, registry

TASK = "flatnce-digits"


def batch_size_figure(records: Any, outdir: Path) -> list[Path]:
    """Probe accuracy at batch 8, 32, 256 per method (default params), or nothing when no cell is stored."""
    import matplotlib.pyplot as plt

    from tasks.theory.experiments.contrastive import BATCH_SIZES, PROBE
    from tasks.theory.plots import save_figure

    rows = records[(records["task"] == TASK) & records["metric"].isin(list(PROBE.values()))] if len(records) else records
    if not len(rows):
        return []
    scale = next(s for s in SCALE_ORDER if s in set(rows["scale"]))
    defaults = registry.get_task(TASK)().p
    rows = rows[rows["scale"] == scale]
    rows = rows[[json.loads(p)["task"] == defaults and not json.loads(p)["method"] for p in rows["params_json"]]]  # default params only
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for method, marker in (("infonce", "o"), ("flatnce", "s")):
        sel = rows[rows["method"] == method]
        if not len(sel):
            continue
        per_b = [sel[sel["metric"] == PROBE[b]]["value"].to_numpy() for b in BATCH_SIZES]
        mean = [v.mean() for v in per_b]
        sd = [v.std(ddof=1) if len(v) > 1 else 0.0 for v in per_b]
        ax.errorbar(BATCH_SIZES, mean, yerr=sd, marker=marker, capsize=3, label=f"{method} (n={min(len(v) for v in per_b)} seeds)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(BATCH_SIZES, [str(b) for b in BATCH_SIZES])
    ax.set_xlabel("pre-training batch size (same number of steps)")
    ax.set_ylabel("5-shot linear-probe accuracy")
    ax.set_title(f"8586 on sklearn digits: probe accuracy by batch size ({scale})", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, outdir, f"theory_{TASK}_batch_size", rows)


def experiment_figures(records: Any, store: Any, outdir: Path) -> list[Path]:
    return batch_size_figure(records, outdir)


register_plotter("theory", experiment_figures, captions={
    "batch_size": "linear-probe accuracy against the pre-training batch size, InfoNCE beside FlatNCE (mean ± sd over seeds)",
})
