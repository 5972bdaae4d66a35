"""Logit adjustment (Menon et al. 2021; kexue.fm/archives/7615).

* ``logit_adjust`` (loss): L = −log softmax(f(x) + τ·log π)_y, predict argmax f(x).
* ``logit_adjust_posthoc``: train with cross-entropy, predict argmax f(x) − τ·log π.
  With ``base=logit_adjust`` it post-processes a model trained with the LA loss instead; then
  τ = −1 gives argmax f(x) + log π, the prediction the article recommends for plain accuracy on
  data distributed like the training set.

π is the empirical training prior. With τ = 1 both target the balanced error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.api import Dependency, Metric, Param, register, register_metric
from methods.longtail.hooks import LongTailMethod, cross_entropy

if TYPE_CHECKING:
    import numpy as np

TAU = Param("tau", "float", 1.0, "adjustment strength τ")


register_metric(Metric("la_margin_identity_error", False, "max |LA loss − CE with the additive margins τ·log(π_j/π_y)| (7708: ≈ 0)"))
register_metric(Metric("la_reweight_ratio_spread", None, "largest within-class spread of LA_i/CE_i (> 0: no per-class weight reproduces LA)"))

@register
class LogitAdjustLoss(LongTailMethod):
    """Logit-adjusted cross-entropy: CE(f(x) + τ·log prior, y)."""

    name = "logit_adjust"
    aliases = ("la", "la_loss")
    params = (TAU,)

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        return cross_entropy(logits + self.p["tau"] * ctx.log_prior, y)

    def diagnostics(self, logits: np.ndarray, scores: np.ndarray, log_prior: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """The identities of kexue.fm/archives/7708, evaluated on this model's test logits.

        * ``la_margin_identity_error``: max |CE(z + τ log π, y) − log(1 + Σ_{j≠y} exp(z_j − z_y + τ log(π_j/π_y)))|,
          i.e. the LA loss is CE with an additive margin τ·log(π_j/π_y) on every wrong class (≈ 0).
        * ``la_reweight_ratio_spread``: the largest within-class spread of LA_i / CE_i. Re-weighting
          multiplies each example's CE by w_y (outside the log: a constant ratio per class), so a
          spread > 0 shows that no per-class weight reproduces LA, which acts inside the log.
        """
        import numpy as np

        return la_identities(logits.astype(np.float64), y, log_prior, self.p["tau"])


@register
class LogitAdjustPosthoc(LongTailMethod):
    """Post-hoc logit adjustment of an ERM model: argmax f(x) − τ·log prior."""

    name = "logit_adjust_posthoc"
    aliases = ("la_posthoc",)
    params = (TAU, Param("base", "str", "erm", "the trained cell whose logits are adjusted", choices=("erm", "logit_adjust")))

    def dependency(self) -> Dependency:
        return Dependency(self.p["base"])

    def postprocess(self, logits: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
        return logits - self.p["tau"] * log_prior


def _ce(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    import numpy as np

    shifted = z - z.max(1, keepdims=True)
    return np.log(np.exp(shifted).sum(1)) - shifted[np.arange(len(y)), y]


def la_identities(z: np.ndarray, y: np.ndarray, log_prior: np.ndarray, tau: float) -> dict[str, float]:
    import numpy as np

    rows = np.arange(len(y))
    la = _ce(z + tau * log_prior, y)
    margins = z - z[rows, y][:, None] + tau * (log_prior[None, :] - log_prior[y][:, None])
    margins[rows, y] = -np.inf  # the sum runs over j ≠ y
    top = np.maximum(margins.max(1), 0.0)
    via_margin = top + np.log(np.exp(-top) + np.exp(margins - top[:, None]).sum(1))
    ratio = la / np.maximum(_ce(z, y), 1e-12)
    spread = max((np.ptp(ratio[y == c]) for c in np.unique(y) if np.sum(y == c) > 1), default=0.0)
    return {"la_margin_identity_error": float(np.max(np.abs(la - via_margin))), "la_reweight_ratio_spread": float(spread)}
