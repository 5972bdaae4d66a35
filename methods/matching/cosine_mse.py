"""Optimise the cosine directly: mean squared error between cos(u, v) and the label in [0, 1].

8847 discusses this as the obvious alternative to Sentence-BERT and argues it is worse than
CoSENT: it asks every positive pair for cos = 1 and every negative for cos = 0, an absolute
target, where only the ranking matters. (sentence-transformers' ``CosineSimilarityLoss``.)
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.matching.base import MatchingMethod, Targets, cosine


@register
class CosineMSE(MatchingMethod):
    """cos-MSE: regress cos(u, v) onto the label mapped to [0, 1] (8847's 'optimise cos directly')."""

    name: ClassVar[str] = "cosine_mse"
    version: ClassVar[str] = "1"

    def loss(self, u: Any, v: Any, targets: Targets, head: Any) -> Any:
        return ((cosine(u, v) - targets.unit) ** 2).mean()
