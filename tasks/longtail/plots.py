"""Long-tail figures: per-class accuracy by training-class frequency, and τ sweeps.

Drawn from stored records and per-example predictions only (``harness plot``); PNG and SVG.

* Per class, a heat map (one row per method at its default params, one column per class,
  classes from most to least frequent in training, the value written in every cell) with the
  training count of each class as labelled bars above it. A heat map on a fixed 0–1 colour
  scale neither truncates an axis nor lets nine near-identical lines hide each other. Past
  ``MANY_CLASSES`` classes (CLINC150, IFLYTEK) single columns are unreadable, so the figure shows
  the classes grouped into frequency bands (mean accuracy of each band) and, beside them, the
  classes the baseline gets most wrong.
* The τ sweep: one line per (method, base) — the LA loss trained at each τ, post-hoc adjustment
  of an ``erm`` base, and of a ``logit_adjust`` base — so no point of one base joins another's
  line.

Each figure tells ``harness.report.figures`` the cells it was drawn from, so that ``harness plot``
can refuse to replace a committed figure with one drawn from fewer cells.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from harness.api import registry
from harness.api import SCALES, figure_sources as record_sources, per_class_accuracy

MANY_CLASSES = 20  # above this, classes are grouped into frequency bands
BANDS = 6  # frequency bands of the many-class figure
WORST = 10  # classes of the baseline's worst shown beside the bands


def _largest_scale(frame: Any) -> str:
    return next(s for s in reversed(SCALES) if s in set(frame["scale"]))  # the largest scale present


def _params(frame: Any, part: str) -> list[dict[str, Any]]:
    return [json.loads(p)[part] for p in frame["params_json"]]


def _default_task_params(task: str, records: Any) -> Any:
    """Only records of the task at its default params: one class profile per figure."""
    defaults = registry.get_task(task)().p
    return records[[p == defaults for p in _params(records, "task")]] if len(records) else records


def _save(fig: Any, outdir: Path, stem: str) -> list[Path]:
    """PNG and SVG; the same records give the same bytes (no date, fixed SVG ids), so a redraw
    of unchanged figures leaves ``git status`` clean."""
    import matplotlib

    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"{stem}.png", outdir / f"{stem}.svg"]
    with matplotlib.rc_context({"svg.hashsalt": stem}):
        for path in paths:
            fig.savefig(path, dpi=130, bbox_inches="tight", metadata={"Date": None} if path.suffix == ".svg" else None)
    return paths


def per_class_matrix(task: str, records: Any, store: Any) -> tuple[str, list[str], Any, Any, Any] | None:
    """(scale, row labels, accuracy matrix methods × classes, training counts, rows drawn from).

    One row per method at its default params, the mean over seeds of each class's test accuracy
    (NaN for a class absent from the test set), at the largest scale that has stored
    predictions; the baseline first, then by name. None when no cell has predictions.
    """
    import numpy as np

    records = _default_task_params(task, records)
    task_cls = registry.get_task(task)
    for scale in [s for s in reversed(SCALES) if s in set(records["scale"])]:
        rows = records[records["scale"] == scale].drop_duplicates("cell_key")
        labels, matrix, used = [], [], []
        n_classes = None
        methods = sorted(set(rows["method"]), key=lambda m: (m != task_cls.baseline, m))
        for method in methods:
            group = rows[rows["method"] == method]
            defaults = registry.get_method(method)().p
            group = group[[p == defaults for p in _params(group, "method")]]
            per_seed, keys = [], []
            for key in group["cell_key"]:
                preds = store.load_predictions(key)
                if preds is None:
                    continue
                if n_classes is None:
                    counts = task_cls().load(scale).counts
                    n_classes = len(counts)
                per_seed.append(per_class_accuracy(preds["y"].to_numpy(), preds["pred"].to_numpy(), n_classes))
                keys.append(key)
            if per_seed:
                with warnings.catch_warnings():  # a class absent from the test set stays NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    matrix.append(np.nanmean(np.stack(per_seed), axis=0))
                labels.append(f"{method} (n={len(per_seed)})")
                used += keys
        if matrix:
            return scale, labels, np.stack(matrix), counts, rows[rows["cell_key"].isin(used)]
    return None


def frequency_bands(counts: Any, bands: int = BANDS) -> list[Any]:
    """Class indices split into ``bands`` groups of consecutive training frequency, most
    frequent first; classes with the same count never straddle two bands."""
    import numpy as np

    order = np.argsort(-counts, kind="stable")
    groups: list[list[int]] = []
    target = len(order) / bands
    for c in order:
        if groups and (len(groups[-1]) < target or counts[c] == counts[groups[-1][-1]]):
            groups[-1].append(int(c))
        else:
            groups.append([int(c)])
    return [np.array(g) for g in groups]


def _heatmap(ax: Any, matrix: Any, rows: list[str], columns: list[str]) -> Any:
    import numpy as np

    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xticks(range(len(columns)), columns, fontsize=7)
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5, color="black" if value > 0.6 else "white")
        else:  # no test example of the class (IFLYTEK's test set is long-tailed too)
            ax.text(j, i, "no test\nexample", ha="center", va="center", fontsize=5, color="grey")
    return image


def per_class_figure(task: str, records: Any, store: Any, outdir: Path) -> list[Path]:
    """Heat map of per-class test accuracy (methods × classes by training frequency); none when
    the store holds no predictions of the task (a store of records only, like results/store)."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = per_class_matrix(task, records, store)
    if found is None:
        return []
    scale, rows, matrix, counts, used = found
    title = f"{task}: test accuracy per class, classes from most to least frequent in training (scale {scale}, mean over n seeds)"
    if len(counts) <= MANY_CLASSES:
        order = np.argsort(-counts, kind="stable")
        width = max(6.0, 0.62 * len(order) + 2.5)
        fig, (top, ax) = plt.subplots(2, 1, figsize=(width, 1.6 + 0.34 * len(rows)), sharex=True,
                                      gridspec_kw={"height_ratios": [1, max(2.0, 0.34 * len(rows))]})
        bars = top.bar(range(len(order)), counts[order], color="grey", alpha=0.6)
        top.bar_label(bars, fontsize=7)
        top.set_ylabel("training\nexamples", fontsize=8)
        top.set_ylim(0, counts.max() * 1.3)
        top.spines[["top", "right"]].set_visible(False)
        image = _heatmap(ax, matrix[:, order], rows, [f"class {c}" for c in order])
        ax.tick_params(axis="x", labelrotation=45 if len(order) > 6 else 0)
        ax.set_xlabel("classes, most to least frequent in training", fontsize=8)
        top.set_title(title, fontsize=9)
        colour_axes = [top, ax]
    else:
        bands = frequency_bands(counts)
        with warnings.catch_warnings():  # a band of classes all absent from the test set stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            band_acc = np.stack([np.nanmean(matrix[:, g], axis=1) for g in bands], axis=1)
        band_names = [f"{counts[g].max()}–{counts[g].min()}\n({len(g)} cl.)" if counts[g].max() != counts[g].min()
                      else f"{counts[g].max()}\n({len(g)} cl.)" for g in bands]
        worst = np.argsort(matrix[0], kind="stable")[:WORST]  # row 0 is the baseline when stored
        fig, (left, ax) = plt.subplots(1, 2, figsize=(13, 1.4 + 0.34 * len(rows)), sharey=True,
                                       gridspec_kw={"width_ratios": [len(bands), len(worst)]})
        _heatmap(left, band_acc, rows, band_names)
        left.set_xlabel("training examples per class (band, most to least frequent)", fontsize=8)
        left.set_title("mean accuracy of the classes in each frequency band", fontsize=8)
        image = _heatmap(ax, matrix[:, worst], rows, [f"class {c}\nn={counts[c]}" for c in worst])
        ax.set_title(f"the {len(worst)} classes {rows[0].split(' ')[0]} gets most wrong (n = training examples)", fontsize=8)
        fig.suptitle(title, fontsize=9)
        colour_axes = [left, ax]
    fig.colorbar(image, ax=colour_axes, fraction=0.03, pad=0.02, label="test accuracy")
    paths = _save(fig, outdir, f"longtail_{task}_per_class")
    plt.close(fig)
    record_sources(paths, used)
    return paths


def tau_series(records: Any) -> tuple[str, dict[str, Any]]:
    """(scale, series label → rows) of balanced accuracy against τ: the LA loss, and post-hoc
    adjustment per base, at the largest scale stored, the task's default params."""
    rows = records[(records["metric"] == "balanced_accuracy") & records["method"].isin(["logit_adjust", "logit_adjust_posthoc"])]
    if not len(rows):
        return "", {}
    scale = _largest_scale(rows)
    rows = rows[rows["scale"] == scale]
    method_params = _params(rows, "method")
    rows = rows.assign(tau=[p.get("tau") for p in method_params], base=[p.get("base", "") for p in method_params])
    series = {}
    for (method, base), group in rows.groupby(["method", "base"], sort=True):
        label = "LA loss (τ in training)" if method == "logit_adjust" else f"post-hoc, base={base}"
        series[label] = group
    return scale, series


def tau_sweep_figure(task: str, records: Any, outdir: Path) -> list[Path]:
    """Balanced accuracy against τ, one line per (method, base), mean ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    scale, series = tau_series(_default_task_params(task, records))
    if not series or pd.concat(list(series.values()))["tau"].nunique() < 3:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (label, group), marker in zip(series.items(), "osD^v"):
        stats = group.groupby("tau")["value"].agg(["mean", "std", "count"]).reset_index()
        n = sorted(set(stats["count"]))
        ax.errorbar(stats["tau"], stats["mean"], yerr=stats["std"].fillna(0), marker=marker, capsize=3,
                    ls="-" if len(stats) > 1 else "none", label=f"{label} (n={'/'.join(map(str, n))})")
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set_xlabel("τ (post-hoc: argmax f − τ·log π; loss: CE(f + τ·log π))")
    ax.set_ylabel("balanced accuracy")
    ax.set_title(f"{task}: τ sweep (scale {scale}; mean ± sd over seeds)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    paths = _save(fig, outdir, f"longtail_{task}_tau_sweep")
    plt.close(fig)
    record_sources(paths, pd.concat(list(series.values())))
    return paths


def plot_longtail(records: Any, store: Any, outdir: Path) -> list[Path]:
    paths: list[Path] = []
    for task, group in records.groupby("task"):
        paths += per_class_figure(str(task), group, store, outdir)
        paths += tau_sweep_figure(str(task), group, outdir)
    return paths


registry.register_plotter("longtail", plot_longtail, captions={
    "per_class": "test accuracy per class (heat map: a row per method, classes ordered by training frequency; frequency bands past 20 classes)",
    "tau_sweep": "balanced accuracy against τ of post-hoc logit adjustment",
})
