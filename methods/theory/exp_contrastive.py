"""Methods of ``flatnce-digits`` (kexue.fm/archives/8586): InfoNCE and FlatNCE on SimCLR batches.

With scores s (cosine similarity over the temperature) and row i's positive t,

    InfoNCE  = logsumexp_j s_ij − s_it = log(1 + ξ),    ξ = Σ_{j≠t} e^{s_ij − s_it}
    FlatNCE  = logsumexp_{j≠t} s_ij − s_it = log ξ

FlatNCE is the article's rewrite of the paper's ξ/sg(ξ): the two have the same gradient ∇ξ/ξ.
Compared with cross-entropy it only drops the positive from the logsumexp; its value can be
negative, and its gradient does not fade as ξ → 0 (the article: at small batch ξ is tiny and
log(1+ξ)'s gradient drowns in float error).
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.theory.experiments import ExperimentMethod

TASKS = ("flatnce-digits",)


def _positive_scores(scores: Any, positive: Any) -> Any:
    import torch

    return scores[torch.arange(scores.shape[0]), positive]


@register
class InfoNCE(ExperimentMethod):
    """InfoNCE (SimCLR's NT-Xent): cross-entropy of each row's positive, logsumexp(s) − s_t."""

    name: ClassVar[str] = "infonce"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def contrastive_loss(self, scores: Any, positive: Any) -> Any:
        return (scores.logsumexp(1) - _positive_scores(scores, positive)).mean()


@register
class FlatNCE(ExperimentMethod):
    """FlatNCE as the article writes it: logsumexp over the negatives only, minus s_t (= log ξ)."""

    name: ClassVar[str] = "flatnce"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def contrastive_loss(self, scores: Any, positive: Any) -> Any:
        import torch

        rows = torch.arange(scores.shape[0])
        negatives = scores.index_put((rows, positive), scores.new_tensor(float("-inf")))
        return (negatives.logsumexp(1) - scores[rows, positive]).mean()
