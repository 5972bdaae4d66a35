"""``ldam_drw``: label-distribution-aware margin loss with deferred re-weighting (Cao et al. 2019).

    Δ_c = max_margin · n_c^(−1/4) / max_k n_k^(−1/4)           (largest margin, rarest class)
    L   = CE_w( s · (f(x) − Δ_y · onehot(y)), y )

The margin is subtracted from the true-class logit only, then everything is scaled by ``s``.
Prediction is argmax f(x) (margins are a training device). Deferred re-weighting (DRW): while
training progress < ``drw_start`` the loss is the plain batch mean; from ``drw_start`` on it is
weighted by the class-balanced weights w_c = (1−β)/(1−β^{n_c}) normalised to Σ_c w_c = C
(β = 0.9999), and — as in the LDAM-DRW code, ``F.cross_entropy(s·output, target,
weight=per_cls_weights)`` — the weighted mean divides by Σ_i w_{y_i}:
CE_w = Σ_i w_{y_i} CE_i / Σ_i w_{y_i}. The official schedule switches at epoch 160 of 200,
hence ``drw_start = 0.8`` of ``ctx.progress``.

Head: as in the official code (``NormedLinear`` for LDAM in ``cifar_train.py``), f(x) are cosine
logits of a normalised last layer (``head=cosine``, :mod:`tasks.longtail._heads`), for which s = 30
and a margin of 0.5 are meant. ``head=linear`` keeps the backbone's plain ``Linear``: with s = 30
on unnormalised logits and SGD lr 0.1, CIFAR-10-LT diverged to chance (0.1000 on every seed).
"""

from __future__ import annotations

from typing import Any

from harness.api import Param, UserError, register
from methods.longtail.class_balanced import class_balanced_weights
from methods.longtail.hooks import LongTailMethod


def ldam_margins(counts: Any, max_margin: float) -> Any:
    """Δ_c ∝ n_c^(−1/4), scaled so that max_c Δ_c = max_margin (tensor methods only)."""
    m = counts.double() ** -0.25
    return (m * (max_margin / m.max())).to(counts.dtype)


@register
class LDAMDRW(LongTailMethod):
    """LDAM margins Δ_c ∝ n_c^−1/4 on the true logit, then class-balanced weights from drw_start."""

    name = "ldam_drw"
    aliases = ("ldam",)
    version = "2"  # 2: cosine head by default (was the backbone's Linear)
    params = (
        Param("head", "str", "cosine", "classifier head: cosine (NormedLinear, as the official code) or the backbone's linear", choices=("cosine", "linear")),
        Param("s", "float", 30.0, "logit scale s (> 0; the paper's 30, meant for cosine logits)", minimum=0.0, bounds="(]"),
        Param("max_margin", "float", 0.5, "largest margin (rarest class)", minimum=0.0),
        Param("drw_start", "float", 0.8, "training progress at which re-weighting starts (>1: never)", minimum=0.0),
        Param("beta", "float", 0.9999, "β of the class-balanced DRW weights", minimum=0.0, maximum=1.0, bounds="[)"),
    )

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        if not self.p["beta"] < 1.0:
            raise UserError(f"parameter ldam_drw.beta must be < 1, got {self.p['beta']!r}")
        if not self.p["s"] > 0.0:
            raise UserError(f"parameter ldam_drw.s must be > 0, got {self.p['s']!r}")

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        margins = ldam_margins(ctx.counts, self.p["max_margin"]).to(logits.dtype)
        onehot = logits.new_zeros(logits.shape).scatter_(1, y[:, None], 1.0)
        z = self.p["s"] * (logits - margins[y][:, None] * onehot)
        ce = -z.log_softmax(-1).gather(1, y[:, None]).squeeze(1)
        if ctx.progress < self.p["drw_start"]:
            return ce.mean()
        w = class_balanced_weights(ctx.counts, self.p["beta"]).to(ce.dtype)[y]
        return (w * ce).sum() / w.sum()
