"""``gradnorm-bound``: kexue.fm/archives/8796 (输入梯度惩罚与参数梯度惩罚的一个不等式, 2021-12-11).

For an l-layer MLP h⁽ᵗ⁺¹⁾ = g(W⁽ᵗ⁾h⁽ᵗ⁾ + b⁽ᵗ⁾), h⁽¹⁾ = x, and any scalar f of h⁽ˡ⁺¹⁾, the article
(after "The Geometric Occam's Razor Implicit in Deep Learning") proves

    ‖∇ₓf‖² · Σₜ (1 + ‖h⁽ᵗ⁾‖²) / (‖W⁽ᵗ⁾‖² ‖∇ₓh⁽ᵗ⁾‖²)  ≤  ‖∇_θ f‖²,

one term per layer: ‖∇_{W⁽ᵗ⁾,b⁽ᵗ⁾} f‖² = ‖∂f/∂z⁽ᵗ⁺¹⁾‖²(1 + ‖h⁽ᵗ⁾‖²) and ‖∇ₓf‖ ≤ ‖∂f/∂z⁽ᵗ⁺¹⁾‖‖W⁽ᵗ⁾‖‖∇ₓh⁽ᵗ⁾‖,
with spectral norms for W and the Jacobian ∇ₓh⁽ᵗ⁾. The task draws random MLPs (depths × widths,
several draws, several inputs), computes every side with torch autodiff in float64, and counts
violations of the total and of each per-layer form. A layer whose Jacobian ∇ₓh⁽ᵗ⁾ is 0 (every
ReLU unit before it dead at that input) makes its term 0/0: it is skipped and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import Activation
from tasks.theory._mlp import as_pairs, forward, random_mlp
from tasks.theory.common import ExactTask, exact_metric

GRID = {  # depths, widths, networks per (depth, width), inputs per network
    "smoke": ((2, 4, 6), (4, 16), 3, 4),
    "small": ((2, 3, 4, 6, 8), (4, 16, 64), 5, 8),
    "full": ((2, 3, 4, 6, 8, 12), (4, 16, 64, 128), 10, 16),
}
RTOL = 1e-9  # a violation: lhs > rhs·(1 + RTOL)

GN = {
    "cases": exact_metric("gn_cases", "(network, input) pairs checked", None),
    "terms": exact_metric("gn_layer_terms", "per-layer inequalities checked", None),
    "dead": exact_metric("gn_dead_layers_skipped", "per-layer terms skipped as 0/0 (∇ₓh⁽ᵗ⁾ = 0: every unit before the layer dead)", None),
    "viol": exact_metric("gn_violations", "cases where ‖∇ₓf‖²·Σₜ(1+‖h⁽ᵗ⁾‖²)/(‖W⁽ᵗ⁾‖²‖∇ₓh⁽ᵗ⁾‖²) > ‖∇_θf‖² (8796: none)"),
    "lviol": exact_metric("gn_layer_violations", "layers where ‖∇ₓf‖²(1+‖h⁽ᵗ⁾‖²)/(‖W⁽ᵗ⁾‖²‖∇ₓh⁽ᵗ⁾‖²) > ‖∇_{W⁽ᵗ⁾,b⁽ᵗ⁾}f‖² (8796: none)"),
    "max": exact_metric("gn_max_ratio", "largest left/right ratio of the total inequality (≤ 1 when it holds)", None),
    "median": exact_metric("gn_median_ratio", "median left/right ratio of the total inequality: how tight the bound is", None),
    "lmax": exact_metric("gn_max_layer_ratio", "largest left/right ratio of a per-layer inequality (≤ 1 when it holds)", None),
}


def sides(layers: list[tuple[Any, Any]], act: Any, x: Any, c: Any) -> tuple[list[float], list[float], int]:
    """Per layer t: (left term ‖∇ₓf‖²(1+‖h⁽ᵗ⁾‖²)/(‖W⁽ᵗ⁾‖²‖∇ₓh⁽ᵗ⁾‖²), right term ‖∇_{W⁽ᵗ⁾,b⁽ᵗ⁾}f‖²) for the
    layers kept, and the number of 0/0 layers skipped; f = ⟨c, h⁽ˡ⁺¹⁾⟩."""
    import torch

    params = [p.clone().requires_grad_(True) for layer in layers for p in layer]
    pairs = as_pairs(params)
    x = x.clone().requires_grad_(True)
    hs = forward(pairs, act, x)
    f = (c * hs[-1]).sum()
    grads = torch.autograd.grad(f, [x, *params])
    gx2 = float(grads[0].square().sum())
    jacobians = torch.func.jacrev(lambda v: tuple(forward(pairs, act, v)[1:-1]))(x.detach()) if len(pairs) > 1 else ()
    left, right, skipped = [], [], 0
    for t, (w, _) in enumerate(pairs):
        jac_norm = 1.0 if t == 0 else float(torch.linalg.matrix_norm(jacobians[t - 1].detach(), ord=2))
        if jac_norm == 0.0:
            skipped += 1
            continue
        w_norm = float(torch.linalg.matrix_norm(w.detach(), ord=2))
        h2 = float(hs[t].detach().square().sum())
        left.append(gx2 * (1 + h2) / (w_norm**2 * jac_norm**2))
        right.append(float(grads[1 + 2 * t].square().sum() + grads[2 + 2 * t].square().sum()))
    return left, right, skipped


@register
class GradientNormBound(ExactTask):
    """8796: ‖∇ₓf‖²·Σₜ(1+‖h⁽ᵗ⁾‖²)/(‖W⁽ᵗ⁾‖²‖∇ₓh⁽ᵗ⁾‖²) ≤ ‖∇_θ f‖² on random MLPs, with autodiff."""

    name: ClassVar[str] = "gradnorm-bound"
    hook = Activation
    uses_torch = True
    params = (
        Param("d_in", "int", 8, "input dimension", minimum=1),
        Param("gain", "float", 1.5, "weight scale: W ~ N(0, gain²/fan_in)", minimum=0.0),
        Param("bias_std", "float", 0.5, "bias scale: b ~ N(0, bias_std²)", minimum=0.0),
    )
    scales: ClassVar[Mapping[str, str]] = {s: f"depths {GRID[s][0]}, widths {GRID[s][1]}, {GRID[s][2]} networks × {GRID[s][3]} inputs each" for s in GRID}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.5, "small": 1.5, "full": 30.0}
    primary_metric: ClassVar[str] = GN["viol"]
    table_metrics: ClassVar[tuple[str, ...]] = (GN["viol"], GN["lviol"], GN["max"], GN["median"], GN["dead"], GN["cases"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import numpy as np
        import torch

        depths, widths, networks, inputs = GRID[scale]
        gen = torch.Generator().manual_seed(8796)
        ratios, layer_ratios, dead, violations, layer_violations = [], [], 0, 0, 0
        for depth in depths:
            for width in widths:
                for _ in range(networks):
                    layers = random_mlp([self.p["d_in"]] + [width] * depth, gen, self.p["gain"], self.p["bias_std"])
                    c = torch.randn(width, generator=gen, dtype=torch.float64)
                    for _ in range(inputs):
                        x = torch.randn(self.p["d_in"], generator=gen, dtype=torch.float64)
                        left, right, skipped = sides(layers, method.activation, x, c)  # type: ignore[attr-defined]
                        dead += skipped
                        total_left, total_right = sum(left), sum(right)
                        violations += total_left > total_right * (1 + RTOL)
                        ratios.append(total_left / total_right if total_right > 0 else 0.0)
                        for lo, hi in zip(left, right):
                            layer_violations += lo > hi * (1 + RTOL)
                            layer_ratios.append(lo / hi if hi > 0 else 0.0)
        return {
            GN["cases"]: len(ratios), GN["terms"]: len(layer_ratios), GN["dead"]: dead,
            GN["viol"]: violations, GN["lviol"]: layer_violations,
            GN["max"]: max(ratios), GN["median"]: float(np.median(ratios)), GN["lmax"]: max(layer_ratios),
        }
