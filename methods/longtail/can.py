"""``can``: Classification with Alternating Normalization, a post-hoc correction of unconfident predictions.

Jia et al., “When in Doubt: Improving Classification Performance with Alternating
Normalization” (Findings of EMNLP 2021), as explained and coded in 苏剑林, “CAN:借助先验分布提升
分类性能的简单后处理技巧”, kexue.fm/archives/8728 (2021-10-22). Followed here: the article's
reference NumPy code (the block ``y_pred_topk = np.sort(y_pred, axis=1)[:, -k:]`` …
``for i, y in enumerate(y_pred_unconfident)``; the bojone/CAN repository was not reachable
from here, the article code was read in public copies of it), step by step:

1. p = softmax(f(x)) of the base model (``base``: a trained ``erm`` or ``logit_adjust`` cell,
   whose stored test logits are reused).
2. Uncertainty of a row = top-k entropy: the k largest probabilities, renormalised to sum to
   1, entropy / log k (k is capped at C). Rows with uncertainty < τ are *confident* (the
   matrix A₀, one row each); the others are unconfident.
3. Each unconfident row b is corrected *separately* against the original A₀ (corrections are
   not fed back): L = [A₀; b], and ``iters`` times
       S ← L^α                          (elementwise power)
       S ← S / (column sums of S) · q   (columns now sum to the prior q)
       L ← S / (row sums of S)          (rows are distributions again)
   The corrected probabilities of b are the last row of L. Confident rows keep p.
   (The article divides by the column *sum*; some copies use the column mean — the same up to
   a constant that the row step removes.)

The prior q is the training prior π = exp(log_prior), as in the article (“从训练集统计先验分
布”) and the default ``prior = train``. On a long-tail task the test set is balanced, so the
column constraint then pulls unconfident rows towards the *head* classes; ``prior = uniform``
uses q = 1/C, the label distribution of the balanced test set. Both are offered and neither is
tuned: the choice of q is the question a claim must settle.

Vectorised: with one round (the default), the unconfident rows only interact with A₀ through
its column sums, so every row is corrected at once (column sums = colsum(A₀^α) + b^α). With
``iters`` > 1 the A₀ part of each stacked matrix evolves differently for every b, so the
rows are processed in chunks of (chunk, |A₀|+1, C) arrays.

``postprocess`` returns probabilities (argmax = prediction); ``diagnostics`` reports the base
model's accuracy on the confident and unconfident subsets, the unconfident fraction and the
fraction of test predictions CAN changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.api import Dependency, Metric, Param, UserError, register, register_metric
from methods.longtail.hooks import LongTailMethod

if TYPE_CHECKING:
    import numpy as np

_TINY = 1e-300  # guards 0/0 when a whole column (or row) underflowed to zero
_CHUNK_ELEMENTS = 4_000_000  # bound on the (chunk, |A0|+1, C) array of the iters > 1 path


def softmax(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    z = logits.astype(np.float64)
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def topk_entropy(p: np.ndarray, k: int) -> np.ndarray:
    """Entropy of the k largest entries of each row, renormalised, divided by log k (in [0, 1])."""
    import numpy as np

    k = min(k, p.shape[1])
    top = np.sort(p, axis=1)[:, -k:]
    top = top / np.maximum(top.sum(1, keepdims=True), _TINY)
    plogp = np.where(top > 0, top * np.log(np.where(top > 0, top, 1.0)), 0.0)
    return -plogp.sum(1) / np.log(k)


def confident_mask(p: np.ndarray, k: int, tau: float) -> np.ndarray:
    return topk_entropy(p, k) < tau


def alternating_normalization(a0: np.ndarray, b: np.ndarray, q: np.ndarray, alpha: float, iters: int) -> np.ndarray:
    """Corrected rows: for each row of ``b``, the last row of ``iters`` rounds on [a0; that row]."""
    import numpy as np

    if len(b) == 0:
        return b.copy()
    if iters == 1:
        sa = a0**alpha
        sb = b**alpha
        col = sa.sum(0)[None, :] + sb  # (u, C): each stacked matrix's column sums
        s = sb / np.maximum(col, _TINY) * q[None, :]
        return s / np.maximum(s.sum(1, keepdims=True), _TINY)
    m, c = a0.shape
    chunk = max(1, _CHUNK_ELEMENTS // ((m + 1) * c))
    out = np.empty_like(b)
    for start in range(0, len(b), chunk):
        rows = b[start : start + chunk]
        stack = np.concatenate([np.broadcast_to(a0, (len(rows), m, c)), rows[:, None, :]], axis=1)
        for _ in range(iters):
            s = stack**alpha
            s = s / np.maximum(s.sum(1, keepdims=True), _TINY) * q[None, None, :]
            stack = s / np.maximum(s.sum(2, keepdims=True), _TINY)
        out[start : start + chunk] = stack[:, -1, :]
    return out


for _metric in (
    Metric("can_unconfident_fraction", None, "fraction of test examples CAN counts as unconfident (and re-normalises)"),
    Metric("can_changed", None, "fraction of test predictions CAN changed"),
    Metric("can_confident_accuracy", True, "the base model's accuracy on the examples CAN counts as confident"),
    Metric("can_unconfident_accuracy", True, "the base model's accuracy on the examples CAN counts as unconfident"),
):
    register_metric(_metric)

@register
class CAN(LongTailMethod):
    """CAN post-processing (kexue.fm/archives/8728): re-normalise unconfident rows against the prior."""

    name = "can"
    params = (
        Param("base", "str", "erm", "trained cell whose test logits are corrected", choices=("erm", "logit_adjust")),
        Param("k", "int", 3, "top-k of the uncertainty entropy (capped at C)", minimum=2),
        Param("tau", "float", 0.9, "uncertainty threshold: < τ is confident", minimum=0.0, maximum=1.0),
        Param("alpha", "float", 1.0, "power α of the column step", minimum=0.0, bounds="(]"),
        Param("iters", "int", 1, "rounds of alternating normalisation", minimum=1),
        Param("prior", "str", "train", "column target q: training prior or uniform", choices=("train", "uniform")),
    )

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        if not self.p["alpha"] > 0.0:
            raise UserError(f"parameter can.alpha must be > 0, got {self.p['alpha']!r}")

    def dependency(self) -> Dependency:
        return Dependency(self.p["base"])

    def _prior(self, log_prior: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.p["prior"] == "uniform":
            return np.full(len(log_prior), 1.0 / len(log_prior))
        q = np.exp(log_prior.astype(np.float64))
        return q / q.sum()

    def postprocess(self, logits: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
        p = softmax(logits)
        confident = confident_mask(p, self.p["k"], self.p["tau"])
        out = p.copy()
        out[~confident] = self.correct(p[confident], p[~confident], self._prior(log_prior))
        return out

    def correct(self, a0: np.ndarray, b: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The article's way: every unconfident row against A₀ alone (rows never see each other)."""
        return alternating_normalization(a0, b, q, self.p["alpha"], self.p["iters"])

    def diagnostics(self, logits: np.ndarray, scores: np.ndarray, log_prior: np.ndarray, y: np.ndarray) -> dict[str, float]:
        import numpy as np

        confident = confident_mask(softmax(logits), self.p["k"], self.p["tau"])
        hit = logits.argmax(1) == y
        out = {
            "can_unconfident_fraction": float(np.mean(~confident)),
            "can_changed": float(np.mean(scores.argmax(1) != logits.argmax(1))),
        }
        if confident.any():
            out["can_confident_accuracy"] = float(np.mean(hit[confident]))
        if (~confident).any():
            out["can_unconfident_accuracy"] = float(np.mean(hit[~confident]))
        return out


@register
class CANBatch(CAN):
    """CAN with the unconfident rows corrected together: one stack [A₀; B] (the batch variant 8728 argues against)."""

    name = "can_batch"

    def correct(self, a0: np.ndarray, b: np.ndarray, q: np.ndarray) -> np.ndarray:
        """All unconfident rows stacked under A₀ at once, ``iters`` rounds; the last |B| rows."""
        import numpy as np

        if len(b) == 0:
            return b.copy()
        stack = np.concatenate([a0, b])
        for _ in range(self.p["iters"]):
            s = stack ** self.p["alpha"]
            s = s / np.maximum(s.sum(0, keepdims=True), _TINY) * q[None, :]
            stack = s / np.maximum(s.sum(1, keepdims=True), _TINY)
        return stack[len(a0):]
