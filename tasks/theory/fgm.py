"""``fgm-gp``: kexue.fm/archives/7234 (对抗训练浅谈：意义、方法和思考, 2020-03-01).

FGM perturbs the input by Δx = ε∇ₓL and then descends on L(x + Δx) with Δx held fixed. Expanding,
∇_θL(x + Δx) = ∇_θL + ⟨∇_θ∇ₓL, Δx⟩ + O(ε²) = ∇_θ(L + (ε/2)‖∇ₓL‖²) + O(ε²): FGM is a gradient penalty
to first order in ε. With the normalised perturbation Δx = ε∇ₓL/‖∇ₓL‖ the penalty is ε‖∇ₓL‖.

The task draws small tanh classifiers (float64; x is a whole (examples × features) matrix, as
FGM on an embedding matrix normalises over the whole matrix), computes both parameter gradients
with torch autodiff (double backprop for the penalty) over a sweep of ε, and fits the order p of
‖∇_θL(x+Δx) − ∇_θ(L + penalty)‖ ≈ C·εᵖ (article: 2), beside the order of the effect itself,
‖∇_θL(x+Δx) − ∇_θL‖ (1: the penalty is the leading effect of FGM).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import InputPerturbation
from tasks.theory._mlp import as_pairs, flat_norm, forward, random_mlp
from tasks.theory.common import ExactTask, exact_metric, log_slope

SWEEP = {"smoke": ((-3.0, -1.0, 5), 2), "small": ((-4.0, -1.0, 7), 4), "full": ((-5.0, -1.0, 13), 8)}  # log10 ε range, models

FG = {
    "order": exact_metric("fgm_order", "median over models of the fitted p in ‖∇_θL(x+Δx) − ∇_θ(L + penalty)‖ ≈ C·εᵖ (7234: 2)", None),
    "order_min": exact_metric("fgm_order_min", "smallest fitted p over the models", None),
    "effect": exact_metric("fgm_effect_order", "median fitted order of ‖∇_θL(x+Δx) − ∇_θL‖, FGM's effect itself (1)", None),
    "ratio": exact_metric("fgm_residual_over_effect", "at the smallest ε, the largest ratio residual/effect over models (→ 0: the penalty carries FGM's effect)"),
}


def parameter_gradients(params: list[Any], x: Any, y: Any, method: Any, eps: float) -> tuple[Any, Any, Any]:
    """(∇_θL(x), ∇_θL(x + sg(Δx)), ∇_θ(L(x) + penalty(∇ₓL))) as lists of tensors."""
    import torch
    import torch.nn.functional as F

    def loss(inp: Any) -> Any:
        return F.cross_entropy(forward(as_pairs(params), torch.tanh, inp, last_act=False)[-1], y)

    xg = x.clone().requires_grad_(True)
    base = loss(xg)
    grads = torch.autograd.grad(base, [xg, *params], create_graph=True)
    grad_x, grad_theta = grads[0], grads[1:]
    delta = method.perturbation(grad_x.detach(), eps)
    adv = torch.autograd.grad(loss(x + delta), params)
    penalised = torch.autograd.grad(base + method.penalty(grad_x, eps), params)
    return [g.detach() for g in grad_theta], adv, penalised


@register
class FGMGradientPenalty(ExactTask):
    """7234: FGM's parameter gradient equals a gradient penalty's to O(ε²) (plain: (ε/2)‖∇ₓL‖², normalised: ε‖∇ₓL‖)."""

    name: ClassVar[str] = "fgm-gp"
    hook = InputPerturbation
    uses_torch = True
    params = (
        Param("examples", "int", 16, "rows of the input matrix", minimum=1),
        Param("features", "int", 8, "columns of the input matrix", minimum=1),
        Param("hidden", "int", 16, "hidden units (two tanh layers)", minimum=1),
        Param("classes", "int", 4, "output classes", minimum=2),
    )
    scales: ClassVar[Mapping[str, str]] = {s: f"ε = 10^[{SWEEP[s][0][0]:g}, {SWEEP[s][0][1]:g}] ({SWEEP[s][0][2]} points), {SWEEP[s][1]} random models" for s in SWEEP}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.02, "small": 0.03, "full": 0.4}
    primary_metric: ClassVar[str] = FG["order"]
    table_metrics: ClassVar[tuple[str, ...]] = (FG["order"], FG["order_min"], FG["effect"], FG["ratio"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import numpy as np
        import torch

        (lo, hi, points), models = SWEEP[scale]
        eps_grid = np.logspace(lo, hi, points)
        p = self.p
        gen = torch.Generator().manual_seed(7234)
        orders, effects, ratios = [], [], []
        for _ in range(models):
            params = [t for layer in random_mlp([p["features"], p["hidden"], p["hidden"], p["classes"]], gen) for t in layer]
            params = [t.requires_grad_(True) for t in params]
            x = torch.randn(p["examples"], p["features"], generator=gen, dtype=torch.float64)
            y = torch.randint(p["classes"], (p["examples"],), generator=gen)
            residual, effect = [], []
            for eps in eps_grid:
                g0, adv, pen = parameter_gradients(params, x, y, method, float(eps))
                residual.append(flat_norm(a - b for a, b in zip(adv, pen)))
                effect.append(flat_norm(a - b for a, b in zip(adv, g0)))
            orders.append(log_slope(eps_grid, residual))
            effects.append(log_slope(eps_grid, effect))
            ratios.append(residual[0] / effect[0])
        return {FG["order"]: float(np.median(orders)), FG["order_min"]: min(orders),
                FG["effect"]: float(np.median(effects)), FG["ratio"]: max(ratios)}
