"""Methods of ``sgd-digits``: regularisers of a ReLU MLP trained by plain SGD at learning rate ε.

kexue.fm/archives/7681 (WEISSI):

* ``sgd-l2`` — L + λ·Σₗ‖Wₗ‖² (weights only; under SGD, weight decay);
* ``sgd-weissi`` — L + λ₁·Σₗ log‖Wₗ‖ + λ₂·Σₗ‖Wₗ/‖Wₗ‖‖₁: invariant under Wₗ → γₗWₗ with Πγₗ = 1,
  which leaves a ReLU network's function unchanged (its biases rescaled by the running
  products), while the L2 term changes.

kexue.fm/archives/7643 (flooding):

* ``sgd-flooding`` — |L − b| + b: below the flood level b the step ascends;
* ``sgd-alternating`` — the article's variant without b: on each mini-batch, descend by
  ε₁ = ε/(1 − ρ) then ascend by ε₂ = ρε₁ (ε₁ > ε₂, ρ = ε₂/ε₁). To second order the pair is one step
  of ε₁ − ε₂ = ε on L + λ‖∇_θL‖² with λ = ε₁ε₂/(2(ε₁ − ε₂)) = ρε/(2(1 − ρ)²);
* ``sgd-grad-penalty`` — that penalty made explicit: one step of ε on L + λ‖∇_θL‖², the same λ,
  so that it has the alternating variant's strength and drift.

The strengths λ, λ₁ and b are chosen per cell on the validation split from the grid each
method declares (b's grid contains 0, i.e. plain SGD); ρ is fixed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Param, UserError, register
from methods.theory.experiments import ExperimentMethod, SGDBatch, parse_grid, sgd_update

TASKS = ("sgd-digits",)


def l2_penalty(weights: list[Any]) -> Any:
    return sum(w.square().sum() for w in weights)


def weissi_penalty(weights: list[Any], lambda1: float, lambda2: float) -> Any:
    """λ₁·Σ log‖Wₗ‖ + λ₂·Σ‖Wₗ/‖Wₗ‖‖₁ (Frobenius norms)."""
    total = 0.0
    for w in weights:
        norm = w.norm()
        total = total + lambda1 * norm.log() + (lambda2 * (w / norm).abs().sum() if lambda2 else 0.0)
    return total


def flooded(loss: Any, b: float) -> Any:
    """|L − b| + b (Ishida et al. 2020); b = 0 is L itself."""
    return (loss - b).abs() + b


def alternating_steps(lr: float, rho: float) -> tuple[float, float]:
    """(ε₁, ε₂) = (ε/(1 − ρ), ρε/(1 − ρ)): a descent and an ascent whose difference is ε."""
    return lr / (1 - rho), rho * lr / (1 - rho)


def matched_penalty(lr: float, rho: float) -> float:
    """λ = ε₁ε₂/(2(ε₁ − ε₂)) of the alternating pair: the parameter-gradient penalty it implies."""
    e1, e2 = alternating_steps(lr, rho)
    return e1 * e2 / (2 * (e1 - e2))


def grid_param(default: str, what: str) -> Param:
    return Param("grid", "str", default, f"comma-separated {what}, chosen per cell on validation")


class _PenaltyRule(ExperimentMethod):
    """One SGD step on L + penalty(strength); the grid is the ``grid`` param."""

    tasks: ClassVar[tuple[str, ...]] = TASKS

    def settings(self) -> list[float]:
        return parse_grid(self.p["grid"], f"{self.name}.grid")

    def objective(self, batch: SGDBatch, loss: Any, strength: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, batch: SGDBatch, strength: float) -> float:
        loss = batch.loss()
        sgd_update(batch.params, self.objective(batch, loss, strength), batch.lr)
        return float(loss.detach())


@register
class PlainSGD(ExperimentMethod):
    """Plain SGD on the mean cross-entropy (no regulariser)."""

    name: ClassVar[str] = "sgd-plain"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def settings(self) -> list[float]:
        return [0.0]

    def step(self, batch: SGDBatch, strength: float) -> float:
        loss = batch.loss()
        sgd_update(batch.params, loss, batch.lr)
        return float(loss.detach())


@register
class L2(_PenaltyRule):
    """L2 regularisation λΣ‖Wₗ‖² (weights only), λ chosen on validation."""

    name: ClassVar[str] = "sgd-l2"
    params = (grid_param("0.001,0.003,0.01", "λ of λΣ‖Wₗ‖²"),)

    def objective(self, batch: SGDBatch, loss: Any, strength: float) -> Any:
        return loss + strength * l2_penalty(batch.weights)


@register
class WEISSI(_PenaltyRule):
    """WEISSI: λ₁Σ log‖Wₗ‖ (+ λ₂Σ‖Wₗ/‖Wₗ‖‖₁), λ₁ chosen on validation."""

    name: ClassVar[str] = "sgd-weissi"
    params = (
        grid_param("0.03,0.1,0.3", "λ₁ of λ₁Σ log‖Wₗ‖"),
        Param("lambda2", "float", 0.0, "λ₂ of the L1 penalty on the directions Wₗ/‖Wₗ‖ (0: none)", minimum=0.0),
    )

    def objective(self, batch: SGDBatch, loss: Any, strength: float) -> Any:
        return loss + weissi_penalty(batch.weights, strength, self.p["lambda2"])


@register
class Flooding(_PenaltyRule):
    """Flooding |L − b| + b on the mini-batch mean, b chosen on validation from a grid holding 0."""

    name: ClassVar[str] = "sgd-flooding"
    params = (grid_param("0,0.01,0.03,0.1", "flood levels b (0: plain SGD)"),)

    def objective(self, batch: SGDBatch, loss: Any, strength: float) -> Any:
        return flooded(loss, strength)


RHO = Param("rho", "float", 0.5, "ε₂/ε₁ of the alternating pair (0 ≤ ρ < 1)", minimum=0.0)


def _rho(method: ExperimentMethod) -> list[float]:
    if method.p["rho"] >= 1:
        raise UserError(f"{method.name}.rho must be < 1 (the descent must outweigh the ascent), got {method.p['rho']}")
    return [method.p["rho"]]


@register
class Alternating(ExperimentMethod):
    """The article's flooding variant: on each mini-batch descend by ε/(1−ρ), then ascend by ρε/(1−ρ)."""

    name: ClassVar[str] = "sgd-alternating"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    params = (RHO,)

    def settings(self) -> list[float]:
        return _rho(self)

    def step(self, batch: SGDBatch, strength: float) -> float:
        e1, e2 = alternating_steps(batch.lr, strength)
        loss = batch.loss()
        sgd_update(batch.params, loss, e1)
        sgd_update(batch.params, batch.loss(), -e2)
        return float(loss.detach())


@register
class GradPenalty(ExperimentMethod):
    """Explicit penalty L + λ‖∇_θL‖² with λ = ρε/(2(1−ρ)²), the alternating variant's strength."""

    name: ClassVar[str] = "sgd-grad-penalty"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    params = (RHO,)

    def settings(self) -> list[float]:
        return _rho(self)

    def step(self, batch: SGDBatch, strength: float) -> float:
        import torch

        loss = batch.loss()
        grads = torch.autograd.grad(loss, batch.params, create_graph=True)
        penalty = sum(g.square().sum() for g in grads)
        sgd_update(batch.params, loss + matched_penalty(batch.lr, strength) * penalty, batch.lr)
        return float(loss.detach())
