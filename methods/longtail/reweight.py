"""``reweight``: cross-entropy re-weighted by inverse class frequency.

    w_c = N / (C · n_c)        (so w_c ∝ 1/n_c and Σ_c w_c · n_c / N = 1)
    L   = (1/B) Σ_i w_{y_i} · (−log softmax(f(x_i))_{y_i})

``n_c`` are the training counts, ``N = Σ_c n_c``, ``C`` the number of classes, ``B`` the batch
size. The normalisation makes the expected weight of a training example exactly 1, so the
loss stays on the scale of plain cross-entropy and the learning rate means the same thing;
the batch mean divides by ``B`` (not by Σ_i w_{y_i} as ``torch.nn.functional.cross_entropy``
with ``weight=`` does), so the weights act as importance weights turning the empirical risk on
the long-tailed training distribution into the risk on a class-balanced one. The weight
multiplies the loss *outside* the log; it never changes the softmax (contrast
``logit_adjust``, which shifts the logits inside it; kexue.fm/archives/7708).
"""

from __future__ import annotations

from typing import Any

from harness.api import register
from methods.longtail.hooks import LongTailMethod


def inverse_frequency_weights(counts: Any) -> Any:
    """w_c = N / (C · n_c) for a tensor of class counts (tensor methods only)."""
    return counts.sum() / (counts.numel() * counts)


def weighted_cross_entropy(logits: Any, y: Any, weights: Any) -> Any:
    """(1/B) Σ_i w_{y_i} · CE_i: per-class weights outside the log, plain batch mean."""
    ce = -logits.log_softmax(-1).gather(1, y[:, None]).squeeze(1)
    return (weights.to(ce.dtype)[y] * ce).mean()


@register
class Reweight(LongTailMethod):
    """Inverse-frequency weighted cross-entropy, w_c = N/(C·n_c)."""

    name = "reweight"
    aliases = ("inverse_frequency", "rw")

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        return weighted_cross_entropy(logits, y, inverse_frequency_weights(ctx.counts))
