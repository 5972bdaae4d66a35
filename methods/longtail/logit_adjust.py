"""Logit adjustment (Menon et al. 2021; kexue.fm/archives/7615).

* ``logit_adjust`` (loss): L = −log softmax(f(x) + τ·log π)_y, predict argmax f(x).
* ``logit_adjust_posthoc``: train with cross-entropy, predict argmax f(x) − τ·log π.
  With ``base=logit_adjust`` it post-processes a model trained with the LA loss instead; then
  τ = −1 gives argmax f(x) + log π, the prediction the article recommends for plain accuracy on
  data distributed like the training set.

π is the empirical training prior. With τ = 1 both target the balanced error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.params import Param
from harness.registry import register
from methods.longtail.base import LongTailMethod, cross_entropy

TAU = Param("tau", "float", 1.0, "adjustment strength τ")


@register
class LogitAdjustLoss(LongTailMethod):
    """Logit-adjusted cross-entropy: CE(f(x) + τ·log prior, y)."""

    name = "logit_adjust"
    aliases = ("la", "la_loss")
    params = (TAU,)

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        return cross_entropy(logits + self.p["tau"] * ctx.log_prior, y)


@register
class LogitAdjustPosthoc(LongTailMethod):
    """Post-hoc logit adjustment of an ERM model: argmax f(x) − τ·log prior."""

    name = "logit_adjust_posthoc"
    aliases = ("la_posthoc",)
    params = (TAU, Param("base", "str", "erm", "the trained cell whose logits are adjusted", choices=("erm", "logit_adjust")))

    @property
    def base(self) -> tuple[str, dict[str, Any]]:
        return (self.p["base"], {})

    def postprocess(self, logits: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
        return logits - self.p["tau"] * log_prior
