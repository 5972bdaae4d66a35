"""Figures of the exact ``theory`` cells (``harness plot``), PNG and SVG, where a curve says more
than a number:

* ``theory_squareplus_fit`` — SquarePlus at the min–max b and at b = 4·ln²2 against SoftPlus and
  ReLU, and the gap SquarePlus_b − SoftPlus with the min–max error band;
* ``theory_wordvec-dim_entropy`` — h_n against n, the stored table, the fitted slope, and where
  log N² + h_n crosses 0 for the two vocabularies;
* ``theory_batchsize-lr_surge`` — the one-step optimal η against B, simulated and from the
  article's formulas, on the problems with β_noise < 1 (surge) and > 1 (none), from the curves
  each cell stored;
* ``theory_flatnce-numerics_float32`` — the float32 relative error of each loss form and of its
  gradient against ξ.

Constants come from the stored cells (the largest scale present, default params); smooth curves
are recomputed with the tasks' own pure functions. Each figure notes the cells it shows
(``figure_sources``). Matplotlib and NumPy are imported inside the functions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness.api import SCALES, figure_sources, register_plotter, registry

FAMILY = "theory"


def _rows(records: Any, task: str) -> Any:
    """The task's records at its largest stored scale, task and method params at their defaults."""
    rows = records[records["task"] == task]
    if not len(rows):
        return rows
    scale = next(s for s in reversed(SCALES) if s in set(rows["scale"]))
    rows = rows[rows["scale"] == scale]
    defaults = registry.get_task(task)().p
    keep = []
    for params, method in zip(rows["params_json"], rows["method"]):
        p = json.loads(params)
        keep.append(p["task"] == defaults and p["method"] == registry.get_method(method)().p)
    return rows[keep]


def _value(rows: Any, method: str, metric: str) -> float | None:
    sel = rows[(rows["method"] == method) & (rows["metric"] == metric)]
    return float(sel["value"].iloc[-1]) if len(sel) else None


def save_figure(fig: Any, outdir: Path, stem: str, shown: Any) -> list[Path]:
    """PNG and SVG, byte-stable (no date, fixed SVG ids), and the note of the cells shown."""
    import matplotlib
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"{stem}.png", outdir / f"{stem}.svg"]
    with matplotlib.rc_context({"svg.hashsalt": stem}):
        for path in paths:
            fig.savefig(path, dpi=130, bbox_inches="tight", metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)
    figure_sources(paths, shown)
    return paths


def squareplus_figure(records: Any, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np

    from tasks.theory.squareplus import gap, softplus, squareplus

    rows = _rows(records, "squareplus")
    method = next((m for m in ("powell-grid", "bounded-search") if _value(rows, m, "sp_minmax_b") is not None), None)
    if method is None:
        return []
    b_fit, b_bound = _value(rows, method, "sp_minmax_b"), _value(rows, method, "sp_bound_b")
    error = _value(rows, method, "sp_minmax_error")
    x = np.linspace(-4, 4, 801)
    wide = np.linspace(-8, 8, 1601)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(x, np.maximum(x, 0), color="#7f7f7f", lw=1, label="ReLU")
    left.plot(x, softplus(x), color="black", lw=2, label="SoftPlus")
    left.plot(x, squareplus(x, b_fit), color="#d62728", lw=1.5, label=f"SquarePlus, b = {b_fit:.8f} (min–max)")
    left.plot(x, squareplus(x, b_bound), color="#1f77b4", lw=1.5, ls="--", label=f"SquarePlus, b = {b_bound:.6f} (4·ln²2)")
    left.set(xlabel="x", ylabel="value", title="SquarePlus against SoftPlus")
    left.legend(fontsize=8, frameon=False)
    right.plot(wide, gap(wide, b_fit), color="#d62728", lw=1.5, label="min–max b")
    right.plot(wide, gap(wide, b_bound), color="#1f77b4", lw=1.5, ls="--", label="b = 4·ln²2 (≥ 0 everywhere)")
    for level in (error, -error):
        right.axhline(level, color="#d62728", lw=0.8, ls=":")
    right.axhline(0, color="black", lw=0.6)
    right.text(wide[0], error, f" max error {error:.6f}", va="bottom", fontsize=8, color="#d62728")
    right.set(xlabel="x", ylabel="SquarePlus_b − SoftPlus", title=f"gap ({method}, {rows['scale'].iloc[0]})")
    right.set_ylim(top=0.14)
    right.legend(fontsize=8, frameon=False, loc="upper center", ncol=2)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, outdir, "theory_squareplus_fit", rows[rows["method"] == method])


def wordvec_figure(records: Any, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np

    from methods.theory._entropy import h_bessel
    from tasks.theory.wordvec import LIMIT, TABLE_N

    rows = _rows(records, "wordvec-dim")
    method = next((m for m in ("quadrature", "bessel-closed-form") if _value(rows, m, "wv_slope") is not None), None)
    if method is None:
        return []
    ns = np.arange(4, 601)
    h = np.array([h_bessel(float(n)) for n in ns])
    table = np.array([_value(rows, method, f"wv_h{n}") for n in TABLE_N])
    slope = _value(rows, method, "wv_slope")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(ns, h, color="black", lw=1.5, label="h_n (closed form)")
    left.plot(TABLE_N, table, "o", color="#d62728", label=f"stored table ({method})")
    for vocab, metric, colour in ((1e5, "wv_dim_1e5", "#2ca02c"), (5e6, "wv_dim_5e6", "#9467bd")):
        level = -2 * math.log(vocab)
        n_cross = _value(rows, method, metric)
        left.axhline(level, color=colour, lw=0.8, ls=":")
        left.plot([n_cross], [level], "s", color=colour, label=f"N = {vocab:.0e}: −log N² = h_n at n = {n_cross:.2f}")
    left.set(xlabel="dimension n", ylabel="h_n", title="h_n, and where H = log N² + h_n turns negative")
    right.plot(ns, h / ns, color="black", lw=1.5, label="h_n / n")
    right.plot(TABLE_N, table / np.array(TABLE_N), "o", color="#d62728", label="stored table / n")
    right.axhline(LIMIT, color="#1f77b4", lw=1, ls="--", label=f"−½·ln φ = {LIMIT:.6f}")
    right.axhline(slope, color="#ff7f0e", lw=1, ls=":", label=f"fitted slope {slope:.8f}")
    right.axhline(-0.24, color="#7f7f7f", lw=0.8, ls="-.", label="article's −0.24 (→ 8.33 = 2/0.24)")
    right.set(xscale="log", xlabel="dimension n", ylabel="h_n / n", title=f"h_n / n approaches −½·ln φ ({rows['scale'].iloc[0]})")
    for ax in (left, right):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, outdir, "theory_wordvec-dim_entropy", rows[rows["method"] == method])


def batchsize_figure(records: Any, store: Any, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from methods.theory._quadratic import beta_noise, sign_b_noise, sign_eta_beta_form

    rows = _rows(records, "batchsize-lr")
    styles = {"sgd-quadratic": ("#1f77b4", "SGD"), "signsgd-quadratic": ("#d62728", "SignSGD")}
    curves, shown = {}, []
    for method in styles:
        keys = rows[rows["method"] == method]["cell_key"].unique()
        stored = store.load_predictions(keys[-1]) if len(keys) and store is not None else None
        if stored is not None:
            curves[method] = stored
            shown.append(rows[rows["cell_key"] == keys[-1]])
    if not curves:
        return []
    problems = dict(zip(("low", "high"), registry.get_task("batchsize-lr")().problems()))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, (problem, q) in zip(axes, problems.items()):
        for method, frame in curves.items():
            colour, label = styles[method]
            part = frame[frame["problem"] == problem]
            every = max(1, len(part) // 33)  # at most ~33 markers, so the lines stay visible
            ax.plot(part["batch"].iloc[::every], part["eta_simulated"].iloc[::every], "o", ms=4, mfc="none", color=colour,
                    label=f"{label}: grid-searched η (Monte Carlo)")
            formula = "η_max/(1 + B_noise/B)" if method == "sgd-quadratic" else "Σμg/(ΣHᵢᵢ + ΣμᵢμⱼHᵢⱼ), μ = erf(·)"
            ax.plot(part["batch"], part["eta_article"], color=colour, lw=1.5, label=f"{label}: article's η* = {formula}")
            if method == "signsgd-quadratic":
                batches = np.logspace(0, 4, 200)
                ax.plot(batches, [sign_eta_beta_form(q, b) for b in batches], color=colour, lw=1, ls="--",
                        label="SignSGD: mean-field η_max/(½(β_noise/β + β/β_noise))")
                peak = sign_b_noise(q)
                if math.isfinite(peak):
                    ax.axvline(peak, color=colour, lw=0.8, ls=":", label=f"SignSGD B_noise = {peak:.1f}")
        beta = beta_noise(q)
        ax.set(xscale="log", yscale="log", xlabel="batch size B",
               title=f"β_noise = {beta:.3f}: {'surge expected' if beta < 1 else 'no surge expected'}")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("one-step optimal learning rate")
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label.split(" = ")[0] if label.startswith("SignSGD B_noise") else label, handle)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=3, fontsize=8, frameon=False)
    return save_figure(fig, outdir, "theory_batchsize-lr_surge", pd.concat(shown))


def flatnce_figure(records: Any, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from tasks.theory.flatnce import evaluate, exact_target, rel, scores

    rows = _rows(records, "flatnce-numerics")
    methods = sorted(set(rows["method"]))
    if not methods:
        return []
    p = registry.get_task("flatnce-numerics")().p
    gaps = np.arange(2.0, 45.01, 0.5)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6.4), sharex=True)
    xis = []
    for gap in gaps:
        xis.append(math.exp(exact_target(scores(gap, p["k"], p["s_pos"]), "log_xi")[0]))
    for method in methods:
        m = registry.get_method(method)()
        loss_err, grad_err = [], []
        for gap in gaps:
            s = scores(gap, p["k"], p["s_pos"])
            value, grad = exact_target(s, m.target)
            v32, g32 = evaluate(m.loss, s, torch.float32)
            grad_err.append(max(rel(g32, grad), 1e-10))
            loss_err.append(max(abs(v32 - value) / abs(value), 1e-10))
        top.plot(xis, grad_err, lw=1.5, label=method)
        if m.has_value:
            bottom.plot(xis, loss_err, lw=1.5, label=method)
    for ax, what in ((top, "gradient"), (bottom, "loss value")):
        ax.axvline(2.0**-24, color="#7f7f7f", lw=0.8, ls=":")
        ax.set(xscale="log", yscale="log", ylabel=f"float32 relative error of the {what}")
        ax.grid(alpha=0.3, which="both")
        ax.invert_xaxis()
    top.text(2.0**-24, 1e-9, " ξ = 2⁻²⁴", fontsize=8, color="#7f7f7f")
    bottom.set_xlabel(f"ξ = Σ e^(sᵢ − s_t)  (K = {p['k']}, s_t = {p['s_pos']:g}; the positive wins by more to the left)")
    top.legend(fontsize=8, frameon=False)
    top.set_title(f"float32 error against ξ (errors below 1e-10 drawn at 1e-10; cells: {rows['scale'].iloc[0]})")
    return save_figure(fig, outdir, "theory_flatnce-numerics_float32", rows)


def plot_theory(records: Any, store: Any, outdir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    return (squareplus_figure(records, outdir) + wordvec_figure(records, outdir)
            + batchsize_figure(records, store, outdir) + flatnce_figure(records, outdir))


register_plotter(FAMILY, plot_theory, captions={
    "fit": "SquarePlus at the min–max b and at b = 4·ln²2 against SoftPlus, and the min–max error band",
    "entropy": "h_n against the dimension n (quadrature and the article's table), and h_n/n against −½·ln φ",
    "surge": "the one-step optimal learning rate against the batch size: simulated, and the article's closed forms",
    "float32": "float32 relative error of each loss form and of its gradient against the score gap",
})
