"""``class_balanced``: class-balanced loss (Cui et al., CVPR 2019), softmax cross-entropy.

    E_c = (1 − β^{n_c}) / (1 − β)                   effective number of samples of class c
    w_c = C · (1/E_c) / Σ_k (1/E_k)                 = (1−β)/(1−β^{n_c}), normalised to Σ_c w_c = C
    L   = (1/B) Σ_i w_{y_i} · (−log softmax(f(x_i))_{y_i})

As in the authors' code (``class_balanced_loss.py``: ``weights / sum(weights) * no_of_classes``,
then a per-example weighted mean). β → 0 gives w_c = 1 (cross-entropy); β → 1 gives
w_c ∝ 1/n_c (inverse frequency). Default β = 0.9999, a value the paper uses on long-tailed CIFAR.
"""

from __future__ import annotations

from typing import Any

from harness.api import Param, UserError, register
from methods.longtail.hooks import LongTailMethod
from methods.longtail.reweight import weighted_cross_entropy

BETA = Param("beta", "float", 0.9999, "β of the effective number (1−β^n)/(1−β); 0 = CE", minimum=0.0, maximum=1.0, bounds="[)")


def class_balanced_weights(counts: Any, beta: float) -> Any:
    """w_c = (1−β)/(1−β^{n_c}) normalised to sum to C (tensor methods; float64 inside)."""
    n = counts.double()
    raw = (1.0 - beta) / (1.0 - beta**n)
    return (raw / raw.sum() * counts.numel()).to(counts.dtype)


@register
class ClassBalanced(LongTailMethod):
    """Class-balanced CE: weights (1−β)/(1−β^n_c), normalised to sum to C."""

    name = "class_balanced"
    aliases = ("cb",)
    params = (BETA,)

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        if not self.p["beta"] < 1.0:
            raise UserError(f"parameter class_balanced.beta must be < 1, got {self.p['beta']!r}")

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        return weighted_cross_entropy(logits, y, class_balanced_weights(ctx.counts, self.p["beta"]))
