"""Methods of ``flatnce-numerics``: five ways to write the contrastive loss of one row of scores."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.theory.base import TheoryMethod

TASKS = ("flatnce-numerics",)


def negatives(s: Any, t: int) -> Any:
    import torch

    return torch.cat([s[:t], s[t + 1:]])


@register
class NaiveLog(TheoryMethod):
    """Cross-entropy written as log(1 + Σ_{i≠t} e^{sᵢ−s_t}): the 1 + ξ rounds to 1 once ξ < 2⁻²⁴."""

    name: ClassVar[str] = "ce-naive-log"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    target: ClassVar[str] = "log1p_xi"
    has_value: ClassVar[bool] = True

    def loss(self, scores: Any, positive: int) -> Any:
        return (1 + (negatives(scores, positive) - scores[positive]).exp().sum()).log()


@register
class CrossEntropy(TheoryMethod):
    """Cross-entropy as everyone computes it: logsumexp(s) − s_t (``F.cross_entropy``); its gradient is
    softmax(s) − onehot(t), whose positive component 1/(1+ξ) − 1 cancels."""

    name: ClassVar[str] = "ce-logsumexp"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    target: ClassVar[str] = "log1p_xi"
    has_value: ClassVar[bool] = True

    def loss(self, scores: Any, positive: int) -> Any:
        import torch.nn.functional as F

        return F.cross_entropy(scores[None], scores.new_tensor([positive]).long())


@register
class Log1p(TheoryMethod):
    """Cross-entropy as log1p(ξ): the same function, computed without forming 1 + ξ."""

    name: ClassVar[str] = "ce-log1p"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    target: ClassVar[str] = "log1p_xi"
    has_value: ClassVar[bool] = True

    def loss(self, scores: Any, positive: int) -> Any:
        return (negatives(scores, positive) - scores[positive]).exp().sum().log1p()


@register
class FlatNCELogsumexp(TheoryMethod):
    """FlatNCE as the article rewrites it: log ξ = logsumexp_{i≠t} sᵢ − s_t."""

    name: ClassVar[str] = "flatnce-logsumexp"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    target: ClassVar[str] = "log_xi"
    has_value: ClassVar[bool] = True

    def loss(self, scores: Any, positive: int) -> Any:
        return negatives(scores, positive).logsumexp(0) - scores[positive]


@register
class FlatNCEStopGradient(TheoryMethod):
    """FlatNCE as the paper writes it: ξ/sg(ξ) (value ≡ 1; only its gradient, ∇ξ/ξ, means anything)."""

    name: ClassVar[str] = "flatnce-stopgrad"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    target: ClassVar[str] = "log_xi"
    has_value: ClassVar[bool] = False

    def loss(self, scores: Any, positive: int) -> Any:
        xi = (negatives(scores, positive) - scores[positive]).exp().sum()
        return xi / xi.detach()
