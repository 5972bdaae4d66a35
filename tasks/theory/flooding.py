"""``flooding-order``: kexue.fm/archives/7643 (我们真的需要把训练集的损失降低到零吗？, 2020-07-31).

Flooding alternates, once the loss is below the flood level, a descent step and an ascent step.
With θ₁ = θ − ε₁∇L(θ) and θ₂ = θ₁ + ε₂∇L(θ₁), a Taylor expansion gives
θ₂ = θ − (ε₁ − ε₂)∇L − (ε₁ε₂/2)∇‖∇L‖² + O(ε³): for ε₁ = ε₂ = ε, one step of gradient descent on
(ε²/2)‖∇L‖², a gradient penalty. The task draws small tanh classifiers (float64), takes the two
steps with torch autodiff, and fits the order p of ‖θ₂ − prediction‖ ≈ C·εᵖ over a sweep of ε
(article: 3), beside the order of the displacement ‖θ₂ − θ‖ itself (2 for equal steps).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import AlternatingSteps
from tasks.theory._mlp import as_pairs, flat_norm, forward, random_mlp
from tasks.theory.common import ExactTask, exact_metric, log_slope

SWEEP = {"smoke": ((-3.0, -1.0, 5), 2), "small": ((-4.0, -1.0, 7), 4), "full": ((-4.5, -1.0, 15), 8)}  # log10 ε range, models

FL = {
    "order": exact_metric("flood_order", "median over models of the fitted p in ‖θ₂ − (θ − (ε₁−ε₂)∇L − (ε₁ε₂/2)∇‖∇L‖²)‖ ≈ C·εᵖ (7643: 3)", None),
    "order_min": exact_metric("flood_order_min", "smallest fitted p over the models", None),
    "move": exact_metric("flood_displacement_order", "median fitted order of ‖θ₂ − θ‖ (2 when ε₁ = ε₂: the two steps nearly cancel)", None),
    "ratio": exact_metric("flood_residual_over_displacement", "at the smallest ε, the largest ratio residual/displacement over models (→ 0)"),
}


def two_steps(params: list[Any], loss: Any, eps1: float, eps2: float) -> tuple[list[Any], list[Any], list[Any]]:
    """(θ, θ₂ after a descent of ε₁ and an ascent of ε₂, the second-order prediction of θ₂)."""
    import torch

    theta = [p.detach().clone().requires_grad_(True) for p in params]
    grad = torch.autograd.grad(loss(theta), theta, create_graph=True)
    grad_sq = torch.autograd.grad(sum(g.square().sum() for g in grad), theta)  # ∇‖∇L‖² = 2H∇L
    theta1 = [(t - eps1 * g).detach().requires_grad_(True) for t, g in zip(theta, grad)]
    grad1 = torch.autograd.grad(loss(theta1), theta1)
    theta2 = [t1.detach() + eps2 * g1 for t1, g1 in zip(theta1, grad1)]
    predicted = [t.detach() - (eps1 - eps2) * g.detach() - 0.5 * eps1 * eps2 * gs for t, g, gs in zip(theta, grad, grad_sq)]
    return [t.detach() for t in theta], theta2, predicted


@register
class FloodingOrder(ExactTask):
    """7643: a descent then an ascent step is a step on (ε₁ε₂/2)‖∇L‖² (plus (ε₁−ε₂) of descent) up to O(ε³)."""

    name: ClassVar[str] = "flooding-order"
    hook = AlternatingSteps
    uses_torch = True
    params = (
        Param("examples", "int", 32, "training examples", minimum=1),
        Param("features", "int", 6, "input features", minimum=1),
        Param("hidden", "int", 12, "hidden units (two tanh layers)", minimum=1),
        Param("classes", "int", 3, "output classes", minimum=2),
    )
    scales: ClassVar[Mapping[str, str]] = {s: f"ε = 10^[{SWEEP[s][0][0]:g}, {SWEEP[s][0][1]:g}] ({SWEEP[s][0][2]} points), {SWEEP[s][1]} random models" for s in SWEEP}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.02, "small": 0.03, "full": 0.5}
    primary_metric: ClassVar[str] = FL["order"]
    table_metrics: ClassVar[tuple[str, ...]] = (FL["order"], FL["order_min"], FL["move"], FL["ratio"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import numpy as np
        import torch
        import torch.nn.functional as F

        (lo, hi, points), models = SWEEP[scale]
        eps_grid = np.logspace(lo, hi, points)
        p = self.p
        gen = torch.Generator().manual_seed(7643)
        orders, moves, ratios = [], [], []
        for _ in range(models):
            params = [t for layer in random_mlp([p["features"], p["hidden"], p["hidden"], p["classes"]], gen) for t in layer]
            x = torch.randn(p["examples"], p["features"], generator=gen, dtype=torch.float64)
            y = torch.randint(p["classes"], (p["examples"],), generator=gen)

            def loss(theta: list[Any], x: Any = x, y: Any = y) -> Any:
                return F.cross_entropy(forward(as_pairs(theta), torch.tanh, x, last_act=False)[-1], y)

            residual, move = [], []
            for eps in eps_grid:
                e1, e2 = method.step_sizes(float(eps))  # type: ignore[attr-defined]
                theta, theta2, predicted = two_steps(params, loss, e1, e2)
                residual.append(flat_norm(a - b for a, b in zip(theta2, predicted)))
                move.append(flat_norm(a - b for a, b in zip(theta2, theta)))
            orders.append(log_slope(eps_grid, residual))
            moves.append(log_slope(eps_grid, move))
            ratios.append(residual[0] / move[0])
        return {FL["order"]: float(np.median(orders)), FL["order_min"]: min(orders),
                FL["move"]: float(np.median(moves)), FL["ratio"]: max(ratios)}
