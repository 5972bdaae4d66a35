"""The metric registry every family shares: names, direction, and the functions that compute them.

A metric is declared once (:class:`Metric`: its name, whether higher is better, what it
measures), so records, tables, claims and references agree on its direction. The common
metrics of the families are computed here — accuracy, balanced accuracy, macro-F1,
Spearman ρ, Kendall τ-b — so a family never reaches into another
family to find one. Families register their own (``register_metric``) in their task modules.

The functions are written in NumPy by hand rather than taken from scipy/sklearn because they
run inside every cell and inside bootstrap loops (thousands of resamples): the hand-written
versions avoid importing scipy/sklearn in a worker and are tested against them. NumPy is imported
inside the functions, so that ``harness --help`` does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any



@dataclass(frozen=True)
class Metric:
    """One metric, declared once for every stage: records, tables, verdicts, references, report.

    ``name`` may end in ``*`` to declare a family of names at once (``f1_*``: the F1 of each
    entity type, ``spearman_vs_*``). ``higher_is_better`` is None for a number with no better
    side (a count, a chosen threshold, a best epoch): it is stored and shown, never bolded.
    """

    name: str
    higher_is_better: bool | None = True
    description: str = ""
    measures_time: bool = False  # a speed or a duration: it varies with the machine, so no numeric reference holds it


_metrics: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    known = _metrics.get(metric.name)
    if known is not None and known != metric:
        raise RuntimeError(f"metric {metric.name!r} registered twice with different declarations")
    _metrics[metric.name] = metric
    return metric


def find_metric(name: str) -> Metric | None:
    """The declaration of ``name``: its own, else the longest ``prefix*`` pattern it matches."""
    if name in _metrics:
        return _metrics[name]
    patterns = [m for key, m in _metrics.items() if key.endswith("*") and name.startswith(key[:-1])]
    return max(patterns, key=lambda m: len(m.name)) if patterns else None


def metrics() -> dict[str, Metric]:
    return dict(sorted(_metrics.items()))


def unregistered(names: object) -> list[str]:
    """The names among ``names`` that no declaration covers (a cell reporting one fails)."""
    return sorted(n for n in names if find_metric(n) is None)  # type: ignore[attr-defined]


def measures_time(name: str) -> bool:
    """True for a metric registered as a speed or duration (kept out of ``harness check``)."""
    metric = find_metric(name)
    return metric is not None and metric.measures_time


def higher_is_better(name: str) -> bool | None:
    """The registered direction of ``name`` (None: no better side, or not declared): the one
    place every stage reads it from; a direction stored in an old record is not trusted."""
    metric = find_metric(name)
    return None if metric is None else metric.higher_is_better


for _m in (
    Metric("accuracy", True, "fraction of test examples predicted correctly"),
    Metric("balanced_accuracy", True, "mean over classes of the per-class recall"),
    Metric("macro_f1", True, "mean over classes of the per-class F1"),
    Metric("spearman", True, "Spearman's rank correlation between scores and labels"),
    Metric("kendall_tau", True, "Kendall's τ-b between two rankings"),
    Metric("precision", True, "precision on the test split"),
    Metric("recall", True, "recall on the test split"),
    Metric("f1", True, "F1 on the test split"),
    Metric("best_epoch", None, "the epoch (1-based) the selection rule kept"),
):
    register_metric(_m)


# -- classification ------------------------------------------------------------------------
def per_class_accuracy(y: Any, pred: Any, n_classes: int) -> Any:
    """Recall of each class on the test set; NaN for a class absent from it."""
    import numpy as np

    hits = np.bincount(y[pred == y], minlength=n_classes).astype(float)
    totals = np.bincount(y, minlength=n_classes).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / totals, np.nan)


def accuracy(y: Any, pred: Any) -> float:
    import numpy as np

    return float(np.mean(np.asarray(pred) == np.asarray(y)))


def balanced_accuracy(y: Any, pred: Any, n_classes: int | None = None) -> float:
    """Mean recall over the classes present in ``y`` (as sklearn's balanced_accuracy_score)."""
    import numpy as np

    y, pred = np.asarray(y), np.asarray(pred)
    n = int(max(y.max(initial=-1), pred.max(initial=-1)) + 1) if n_classes is None else n_classes
    acc = per_class_accuracy(y, pred, n)
    return float(np.nanmean(acc)) if np.any(~np.isnan(acc)) else float("nan")


def macro_f1(y: Any, pred: Any, n_classes: int | None = None) -> float:
    """Mean F1 over the classes present in ``y`` or ``pred`` (as sklearn's f1_score(average='macro'))."""
    import numpy as np

    y, pred = np.asarray(y), np.asarray(pred)
    n = int(max(y.max(initial=-1), pred.max(initial=-1)) + 1) if n_classes is None else n_classes
    tp = np.bincount(y[pred == y], minlength=n).astype(float)
    support, predicted = np.bincount(y, minlength=n).astype(float), np.bincount(pred, minlength=n).astype(float)
    present = (support + predicted) > 0
    f1 = np.divide(2 * tp, support + predicted, out=np.zeros(n), where=present)
    return float(f1[present].mean()) if present.any() else float("nan")


# -- correlations --------------------------------------------------------------------------
def average_ranks(x: Any) -> Any:
    """Ranks 1..n, ascending, ties get the mean of their positions (as scipy.stats.rankdata)."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def spearman(x: Any, y: Any) -> float | None:
    """Spearman's ρ: Pearson correlation of average ranks; None when undefined (n < 2 or a constant side)."""
    import numpy as np

    if len(x) < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else None


def kendall_tau_b(x: Any, y: Any) -> float | None:
    """Kendall's τ-b (tie-corrected, as scipy.stats.kendalltau); None when undefined. O(n²):
    meant for rankings of at most a few thousand items."""
    import numpy as np

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 2:
        return None
    iu = np.triu_indices(n, 1)
    dx = np.sign(x[:, None] - x[None, :])[iu]
    dy = np.sign(y[:, None] - y[None, :])[iu]
    pairs = len(dx)
    denom = np.sqrt(float(pairs - (dx == 0).sum()) * float(pairs - (dy == 0).sum()))
    return float((dx * dy).sum() / denom) if denom > 0 else None
