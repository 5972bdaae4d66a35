"""Long-tail figures: per-class accuracy against training-class frequency, and τ sweeps.

Drawn from stored records and per-example predictions only (``harness plot``); PNG and SVG.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import registry
from harness.metrics import per_class_accuracy
from harness.api import SCALES

if TYPE_CHECKING:
    pass


def _largest_scale(frame: Any) -> str:
    return next(s for s in reversed(SCALES) if s in set(frame["scale"]))  # the largest scale present


def _save(fig: Any, outdir: Path, stem: str) -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"{stem}.png", outdir / f"{stem}.svg"]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight")
    return paths


def per_class_figure(task: str, records: Any, store: Any, outdir: Path) -> list[Path]:
    """One line per method (default params): mean per-class accuracy over seeds vs class size."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = _largest_scale(records)
    rows = records[(records["scale"] == scale)].drop_duplicates("cell_key")
    task_obj = registry.get_task(task)()
    counts = task_obj.load(scale).counts
    order = np.argsort(-counts)
    fig, ax = plt.subplots(figsize=(7, 4))
    for method, group in rows.groupby("method"):
        defaults = registry.get_method(method)().p
        group = group[[json.loads(p)["method"] == defaults for p in group["params_json"]]]
        per_seed = []
        for key in group["cell_key"]:
            preds = store.load_predictions(key)
            if preds is not None:
                per_seed.append(per_class_accuracy(preds["y"].to_numpy(), preds["pred"].to_numpy(), len(counts)))
        if per_seed:
            with warnings.catch_warnings():  # a class absent from the test set stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(np.stack(per_seed), axis=0)
            ax.plot(np.arange(len(counts)), mean[order], marker="o", ms=3, label=f"{method} (n={len(per_seed)})")
    ax.set_xlabel("classes, most to least frequent in training")
    ax.set_ylabel("test accuracy of the class")
    twin = ax.twinx()
    twin.bar(np.arange(len(counts)), counts[order], color="grey", alpha=0.15)
    twin.set_ylabel("training images per class")
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title(f"{task}: per-class accuracy vs class frequency ({scale})")
    ax.legend(fontsize=7)
    paths = _save(fig, outdir, f"longtail_{task}_per_class")
    plt.close(fig)
    return paths


def tau_sweep_figure(task: str, records: Any, outdir: Path) -> list[Path]:
    """Balanced accuracy against τ for the τ-parametrised methods, mean ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = records[(records["metric"] == "balanced_accuracy") & records["method"].isin(["logit_adjust", "logit_adjust_posthoc"])]
    rows = rows[rows["scale"] == _largest_scale(rows)] if len(rows) else rows
    taus = rows.assign(tau=[json.loads(p)["method"].get("tau") for p in rows["params_json"]])
    if taus.empty or taus["tau"].nunique() < 3:
        return []
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, group in taus.groupby("method"):
        stats = group.groupby("tau")["value"].agg(["mean", "std"]).reset_index()
        ax.errorbar(stats["tau"], stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=3, label=method)
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set_xlabel("τ")
    ax.set_ylabel("balanced accuracy")
    ax.set_title(f"{task}: τ sweep")
    ax.legend()
    paths = _save(fig, outdir, f"longtail_{task}_tau_sweep")
    plt.close(fig)
    return paths


def plot_longtail(records: Any, store: Any, outdir: Path) -> list[Path]:
    paths: list[Path] = []
    for task, group in records.groupby("task"):
        paths += per_class_figure(str(task), group, store, outdir)
        paths += tau_sweep_figure(str(task), group, outdir)
    return paths


registry.register_plotter("longtail", plot_longtail)
