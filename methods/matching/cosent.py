"""CoSENT (kexue.fm/archives/8847): a ranking loss on the cosines of a batch.

    L = log(1 + Σ_{(i, j): y_i > y_j} exp(λ (cos_j − cos_i)))

over every ordered pair of batch pairs whose labels differ, λ = 20. It only asks that a pair
labelled more similar gets a larger cosine than a pair labelled less similar, so the same loss
trains on binary labels and on graded scores, and it optimises exactly what is used at test
time (the cosine), which Sentence-BERT's softmax head does not.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Param, register
from methods.matching.base import MatchingMethod, Targets, cosine


def cosent_loss(cos: Any, labels: Any, scale: float = 20.0) -> Any:
    """The CoSENT loss of a batch: ``cos`` ``[B]`` cosines, ``labels`` ``[B]`` (binary or graded).

    ``diff[i, j] = λ (cos_j − cos_i)`` is kept where ``labels[i] > labels[j]``; a zero is
    prepended for the ``1 +`` inside the log, and logsumexp keeps it stable. With no ordered
    pair in the batch (all labels equal) the loss is log 1 = 0.
    """
    import torch

    s = cos * scale
    diff = s[None, :] - s[:, None]
    keep = labels[:, None] > labels[None, :]
    terms = diff[keep]
    return torch.logsumexp(torch.cat([s.new_zeros(1), terms]), dim=0)


@register
class CoSENT(MatchingMethod):
    """CoSENT: log(1 + Σ_{y_i > y_j} exp(λ(cos_j − cos_i))) over the batch, λ = 20 (8847)."""

    name: ClassVar[str] = "cosent"
    version: ClassVar[str] = "1"
    params = (Param("scale", "float", 20.0, "λ: the cosine scale inside the exponent (8847: 20)", minimum=0.0, bounds="(]"),)

    def loss(self, u: Any, v: Any, targets: Targets, head: Any) -> Any:
        return cosent_loss(cosine(u, v), targets.raw, self.p["scale"])
