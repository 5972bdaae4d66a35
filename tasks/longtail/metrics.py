"""Long-tail metrics in NumPy: accuracy, balanced accuracy, macro-F1, prior-weighted accuracy (what
plain accuracy would be on a test set distributed like the training set), many/medium/few-shot
accuracy.

Shot groups follow the usual convention (Liu et al. 2019): a class is *many*-shot with more
than ``many`` training examples, *few*-shot with fewer than ``few``, *medium* otherwise. A group
with no class is left out rather than reported as NaN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.api import Metric, macro_f1, per_class_accuracy, register_metric

for _metric in (
    Metric("prior_weighted_accuracy", True, "Σ_c π_c·acc_c: the accuracy of a test set distributed like the training set"),
    Metric("many_shot_accuracy", True, "mean recall of the classes with more than 100 training examples"),
    Metric("medium_shot_accuracy", True, "mean recall of the classes with 20 to 100 training examples"),
    Metric("few_shot_accuracy", True, "mean recall of the classes with fewer than 20 training examples"),
    Metric("bayes_balanced_accuracy", None, "the Bayes-optimal balanced accuracy of the synthetic problem (analytic)"),
    Metric("bayes_rule_balanced_accuracy", None, "the Bayes-optimal balanced rule's balanced accuracy on this test set"),
    Metric("best_epoch_accuracy", True, "test accuracy of the best epoch (the published LDAM-DRW protocol reports it)"),
):
    register_metric(_metric)

if TYPE_CHECKING:
    import numpy as np


def longtail_metrics(y: np.ndarray, pred: np.ndarray, train_counts: np.ndarray, many: int = 100, few: int = 20) -> dict[str, float]:
    import numpy as np

    n_classes = len(train_counts)
    acc_c = per_class_accuracy(y, pred, n_classes)
    present = ~np.isnan(acc_c)
    prior = train_counts / train_counts.sum()
    metrics = {
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": float(np.mean(acc_c[present])),
        "macro_f1": macro_f1(y, pred, n_classes),
        # accuracy on test data distributed like the training set: Σ_c π_c·acc_c (classes present)
        "prior_weighted_accuracy": float(np.sum(prior[present] * acc_c[present]) / np.sum(prior[present])),
    }
    groups = {
        "many_shot_accuracy": train_counts > many,
        "medium_shot_accuracy": (train_counts >= few) & (train_counts <= many),
        "few_shot_accuracy": train_counts < few,
    }
    for name, mask in groups.items():
        if np.any(mask & present):
            metrics[name] = float(np.mean(acc_c[mask & present]))
    return metrics
