"""Sentence-BERT's classification objective: softmax over [u; v; |u − v|], cosine at test time.

The head is sentence-transformers' ``SoftmaxLoss`` shape (a linear layer on the concatenation,
2 classes). Graded scores train on their binarised label (above the middle of the range), as
bojone/CoSENT's ``sbert.py`` does for STS-B (label > 2.5). 8847's point is that this trains a
classifier, not the cosine that evaluation then uses.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.matching.base import MatchingMethod, Targets, cross_entropy


def sbert_features(u: Any, v: Any) -> Any:
    """[u; v; |u − v|] along the last dimension."""
    import torch

    return torch.cat([u, v, (u - v).abs()], dim=-1)


@register
class SentenceBERT(MatchingMethod):
    """Sentence-BERT: softmax on [u; v; |u−v|] (2 classes), cosine of u, v at test time."""

    name: ClassVar[str] = "sbert"
    version: ClassVar[str] = "1"

    def head(self, dim: int) -> Any:
        from torch import nn

        return nn.Linear(3 * dim, 2)

    def loss(self, u: Any, v: Any, targets: Targets, head: Any) -> Any:
        return cross_entropy(head(sbert_features(u, v)), targets.binary)
