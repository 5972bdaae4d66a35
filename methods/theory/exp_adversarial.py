"""Methods of ``adv-iflytek`` / ``adv-tnews`` (kexue.fm/archives/7234): no adversarial training, FGM
on the embedding matrix, and the gradient penalty the article derives from it.

* ``adv-fgm`` — the article's Keras ``adversarial_training``: the gradient of the loss with
  respect to the whole embedding matrix E (rows the batch does not touch have a zero gradient),
  Δ = ε·∇_E L/‖∇_E L‖ with the norm over the whole matrix (ε = 0.5 in the article's call), then
  one descent step on L(E + Δ) with Δ held fixed: the update uses the perturbed loss only.
* ``adv-gp`` — the article's ``loss_with_gradient_penalty``: L + ½ε·Σ‖g‖² (ε = 1), where the
  sum runs over ``K.gradients(loss, [embeddings])[0].values``: TensorFlow's sparse gradient of an
  embedding lookup holds one row per token position, unsummed, so the penalty is the squared
  gradient norm with respect to the embedded input sequence, ½ε‖∇ₓL‖², as in the article's
  derivation. In the bag model each of a text's m n-gram occurrences enters the mean with
  weight 1/m, so its position gradient is ∂L/∂h/m and Σ over positions = Σ_texts ‖∂L/∂h‖²/m.

The article's ε values were chosen for BERT; the size of the perturbation relative to the
embeddings is a property of the model, so each cell also reports how much the regulariser
changes the loss (``adv_regulariser_share``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Param, register
from methods.theory.experiments import EmbeddingBatch, ExperimentMethod

TASKS = ("adv-iflytek", "adv-tnews")


def fgm_delta(row_gradient: Any, eps: float) -> Any:
    """Δ = ε·g/‖g‖ over the whole matrix (the article's ``epsilon * grads / (norm + 1e-8)``)."""
    return eps * row_gradient / (row_gradient.norm() + 1e-8)


def position_penalty(grad_h: Any, positions: Any) -> Any:
    """Σ over token positions of ‖∂L/∂x_pos‖² = Σ_texts ‖∂L/∂h‖²/m (m positions, each weighted 1/m)."""
    return (grad_h.square().sum(1) / positions).sum()


@register
class NoAdversarial(ExperimentMethod):
    """Plain training: the mean cross-entropy of the batch."""

    name: ClassVar[str] = "adv-none"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def objective(self, batch: EmbeddingBatch) -> tuple[Any, Any]:
        loss = batch.loss(batch.h)
        return loss, loss.detach()


@register
class FGM(ExperimentMethod):
    """FGM on the embedding matrix: descend on L(E + ε∇_E L/‖∇_E L‖), the norm over the whole matrix."""

    name: ClassVar[str] = "adv-fgm"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    params = (Param("eps", "float", 0.5, "perturbation norm ε over the whole embedding matrix (article: 0.5)", minimum=0.0),)

    def objective(self, batch: EmbeddingBatch) -> tuple[Any, Any]:
        import torch

        h = batch.h.detach().requires_grad_(True)
        clean = batch.loss(h)
        (grad_h,) = torch.autograd.grad(clean, h)
        delta = fgm_delta(batch.row_gradient(grad_h), self.p["eps"])
        return batch.loss(batch.h + batch.shift(delta)), clean.detach()


@register
class GradientPenalty(ExperimentMethod):
    """L + ½ε·‖∇ₓL‖², x the embedded token positions (the article's Keras penalty, ε = 1)."""

    name: ClassVar[str] = "adv-gp"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    params = (Param("eps", "float", 1.0, "penalty weight ε of ½ε‖∇ₓL‖² (article: 1)", minimum=0.0),)

    def objective(self, batch: EmbeddingBatch) -> tuple[Any, Any]:
        import torch

        clean = batch.loss(batch.h)
        (grad_h,) = torch.autograd.grad(clean, batch.h, create_graph=True)
        return clean + 0.5 * self.p["eps"] * position_penalty(grad_h, batch.positions()), clean.detach()
