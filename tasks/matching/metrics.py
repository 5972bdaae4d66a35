"""Sentence-matching metrics as pure NumPy/SciPy functions (no torch).

* :func:`spearman100` — Spearman's ρ × 100 between scores and labels, the number the CoSENT
  articles report for every task (binary or graded).
* :func:`optimal_threshold` — the threshold bojone/CoSENT (``accuracy/*.py``) chooses on the valid
  split: Powell's method on ``t`` maximising accuracy of ``score > tanh(t)``, started at ``t = 1``.
  Powell on a step function can stop on a plateau short of the best threshold;
  :func:`exhaustive_threshold` scans every midpoint between sorted distinct scores and is the
  exact optimum (the tests compare the two).
* :func:`threshold_metrics` — accuracy × 100 and F1 × 100 at a fixed threshold (chosen on valid,
  applied to test).

Every function raises :class:`harness.common.errors.CellFailure` with one line rather than returning
NaN: a constant score vector, a split with one class, or mismatched lengths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.api import CellFailure, Metric, register_metric

for _metric in (
    Metric("accuracy_powell", True, "test accuracy at the threshold Powell's method finds on valid (bojone/CoSENT's rule)"),
    Metric("threshold", None, "the decision threshold chosen on valid"),
    Metric("valid_accuracy", True, "valid accuracy at the chosen threshold"),
    Metric("valid_spearman", True, "Spearman ρ on the valid split at the kept epoch"),
    Metric("valid_spearman_epoch1", True, "Spearman ρ on the valid split after the first epoch"),
    Metric("accuracy_acc_selected", True, "test accuracy of the epoch with the best valid accuracy (8860's selection for every model)"),
    Metric("majority_accuracy", None, "test accuracy of always answering the test split's majority class (the unlearned baseline)"),
    Metric("valid_spearman_fall", False, "valid Spearman lost at the last epoch against an earlier epoch with a higher training loss"),
):
    register_metric(_metric)


if TYPE_CHECKING:
    import numpy as np


def _check(scores: np.ndarray, labels: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if s.shape != y.shape:
        raise CellFailure(f"{what}: {len(s)} scores for {len(y)} labels")
    if len(s) < 2:
        raise CellFailure(f"{what}: needs at least 2 pairs, got {len(s)}")
    if not np.all(np.isfinite(s)):
        raise CellFailure(f"{what}: {int(np.sum(~np.isfinite(s)))} scores are NaN or infinite (diverged training?)")
    return s, y


def spearman100(scores: np.ndarray, labels: np.ndarray) -> float:
    """Spearman's rank correlation × 100 (average ranks for ties), as in the articles' tables."""
    import numpy as np
    from scipy.stats import spearmanr

    s, y = _check(scores, labels, "spearman")
    if np.ptp(s) == 0 or np.ptp(y) == 0:
        raise CellFailure("spearman: undefined, the scores or the labels are constant")
    return float(spearmanr(s, y).statistic * 100.0)


def _binary(labels: np.ndarray, what: str) -> np.ndarray:
    import numpy as np

    y = np.asarray(labels, dtype=np.float64).ravel()
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise CellFailure(f"{what}: labels must be 0/1 for a threshold, got values {sorted(set(y.tolist()))[:5]}")
    if len(np.unique(y)) < 2:
        raise CellFailure(f"{what}: the split has only class {int(y[0])}, so no threshold can be chosen on it")
    return y > 0.5


def accuracy_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Fraction of pairs with ``(score > threshold) == label``."""
    import numpy as np

    s, y = _check(scores, labels, "accuracy")
    return float(np.mean((s > threshold) == (y > 0.5)))


def optimal_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) by bojone/CoSENT's search: Powell on t, threshold = tanh(t), from t = 1.

    ``tanh`` keeps the threshold in (−1, 1), the range of a cosine; a cross-encoder's
    probabilities lie in (0, 1), inside it too.
    """
    import numpy as np
    from scipy.optimize import minimize

    s, _ = _check(scores, labels, "threshold search")
    positive = _binary(labels, "threshold search")

    def loss(t: np.ndarray) -> float:
        import numpy as np

        return -float(np.mean(positive == (s > np.tanh(float(np.ravel(t)[0])))))

    result = minimize(loss, np.array([1.0]), method="Powell")
    t = float(np.tanh(float(np.ravel(result.x)[0])))
    return t, -float(result.fun)


def exhaustive_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy of ``score > threshold`` over every cut point.

    Candidates: below the minimum, every midpoint between consecutive distinct scores, and the
    maximum. Ties go to the lowest threshold. O(n log n) through cumulative counts.
    """
    import numpy as np

    s, _ = _check(scores, labels, "threshold search")
    positive = _binary(labels, "threshold search")
    order = np.argsort(s, kind="stable")
    s_sorted, pos_sorted = s[order], positive[order]
    distinct, first = np.unique(s_sorted, return_index=True)
    # pairs at or below distinct[k] are predicted negative when threshold ∈ [distinct[k], distinct[k+1])
    neg_below = np.concatenate([[0], np.cumsum(~pos_sorted)])  # negatives among the first i sorted
    pos_total = int(pos_sorted.sum())
    pos_below = np.concatenate([[0], np.cumsum(pos_sorted)])
    cut = np.concatenate([first[1:], [len(s)]])  # number of pairs ≤ distinct[k]
    cuts = np.concatenate([[0], cut])
    correct = neg_below[cuts] + (pos_total - pos_below[cuts])
    thresholds = np.concatenate([[distinct[0] - 1.0], (distinct[:-1] + distinct[1:]) / 2, [distinct[-1]]])
    best = int(np.argmax(correct))
    return float(thresholds[best]), float(correct[best] / len(s))


def threshold_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy × 100 and F1 × 100 (positive class 1) of ``score > threshold``."""
    import numpy as np

    s, y = _check(scores, labels, "test metrics")
    pred, gold = s > threshold, y > 0.5
    tp = float(np.sum(pred & gold))
    denom = float(np.sum(pred) + np.sum(gold))
    return {
        "accuracy": float(np.mean(pred == gold) * 100.0),
        "f1": float(2 * tp / denom * 100.0) if denom > 0 else 0.0,
    }
