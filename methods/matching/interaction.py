"""Interaction (cross-encoder) matching, kexue.fm/archives/8860: one encoder reads the pair.

The encoder sees ``[CLS] a [SEP] b [SEP]``; a linear softmax head on the pooled vector gives
P(similar), which is the pair's score. Graded scores train on their binarised label, like
Sentence-BERT. Every test pair needs its own forward pass (no cached sentence vectors): that
is the speed the bi-encoders' caching buys, and what 8860 weighs against accuracy.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.matching.base import MatchingMethod, Targets, cross_entropy


@register
class Interaction(MatchingMethod):
    """Cross-encoder over [CLS] a [SEP] b [SEP]; softmax head, score = P(similar) (8860)."""

    name: ClassVar[str] = "interaction"
    version: ClassVar[str] = "1"
    cross: ClassVar[bool] = True

    def head(self, dim: int) -> Any:
        from torch import nn

        return nn.Linear(dim, 2)

    def loss(self, u: Any, v: Any, targets: Targets, head: Any) -> Any:
        return cross_entropy(head(u), targets.binary)

    def score(self, h: Any, head: Any) -> Any:
        return head(h).softmax(-1)[:, 1]
