"""``focal``: focal loss (Lin et al. 2017), L = −(1 − p_y)^γ · log p_y, p = softmax(f(x)).

γ = 0 is exactly cross-entropy.
"""

from __future__ import annotations

from typing import Any

from harness.api import Param, register
from methods.longtail.hooks import LongTailMethod


@register
class Focal(LongTailMethod):
    """Focal loss −(1−p_y)^γ log p_y."""

    name = "focal"
    params = (Param("gamma", "float", 2.0, "focusing exponent γ (0 = cross-entropy)", minimum=0.0),)

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        log_p = logits.log_softmax(-1).gather(1, y[:, None]).squeeze(1)
        return (-((1.0 - log_p.exp()) ** self.p["gamma"]) * log_p).mean()
