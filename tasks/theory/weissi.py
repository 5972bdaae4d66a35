"""``weissi-invariance``: kexue.fm/archives/7681 (L2正则没有想象那么好？可能是“权重尺度偏移”惹的祸, 2020-08-14).

A ReLU is positively homogeneous, so scaling layer l's weights by γₗ > 0 and its bias by Π_{i≤l} γᵢ,
with Π γₗ = 1, leaves the network's function unchanged ("weight scale shifting"), while the L2
penalty Σ‖Wₗ‖² changes: it is not a function of the model. By AM–GM, over that orbit
Σ‖γₗWₗ‖² ≥ L·(Π‖Wₗ‖)^{2/L}, with equality when every ‖γₗWₗ‖ = (Π‖Wₗ‖)^{1/L}; the invariant the
article (after the WEISSI paper) regularises instead is Π‖Wₗ‖, i.e. Σ log‖Wₗ‖.

The task draws random ReLU MLPs (Frobenius norms, as the article's ‖W‖₂), rescales them by random
γ with Π γ = 1, and reports the largest change of the outputs, of the method's regulariser, and
the gap between the regulariser's numerical minimum over the orbit (BFGS over log γ) and the
method's closed form — for L2, the AM–GM value, and the minimiser's norms against (Π‖Wₗ‖)^{1/L}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import WeightRegulariser
from tasks.theory.common import ExactTask, exact_metric

GRID = {"smoke": ((2, 3, 5), 3, 4), "small": ((2, 3, 5, 8), 6, 8), "full": ((2, 3, 5, 8, 12), 12, 16)}  # depths, networks, rescalings

WS = {
    "out": exact_metric("ws_output_max_rel_change", "largest relative change of the ReLU network's outputs under a rescaling with Π γₗ = 1 (7681: 0)"),
    "reg": exact_metric("ws_reg_max_rel_change", "largest change of the method's regulariser under those rescalings, relative to max(|R|, 1) (L2: changes; Σ log‖Wₗ‖: 0)", None),
    "orbit": exact_metric("ws_orbit_min_rel_error", "largest relative gap between the regulariser's numerical minimum over the orbit and the method's closed form (L2: AM–GM)"),
    "norms": exact_metric("ws_minimiser_norm_rel_error", "largest relative gap between the numerical minimiser's layer norms and (Π‖Wₗ‖)^{1/L}"),
}


def relu_mlp(weights: list[Any], biases: list[Any], x: Any) -> Any:
    """ReLU after every layer but the last (the rescaling argument needs only positive homogeneity)."""
    import numpy as np

    h = x
    for l, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w.T + b
        if l < len(weights) - 1:
            h = np.maximum(h, 0.0)
    return h


def rescale(weights: list[Any], biases: list[Any], gamma: Any) -> tuple[list[Any], list[Any]]:
    """Wₗ → γₗWₗ, bₗ → (Π_{i≤l} γᵢ)bₗ."""
    import numpy as np

    cumulative = np.cumprod(gamma)
    return [g * w for g, w in zip(gamma, weights)], [c * b for c, b in zip(cumulative, biases)]


def unit_product(log_gamma: Any) -> Any:
    """γ = exp(u − mean u): positive, Π γ = 1."""
    import numpy as np

    return np.exp(log_gamma - np.mean(log_gamma))


def orbit_minimum(regulariser: Any, norms: Any) -> tuple[float, Any]:
    """(min over γ > 0, Π γ = 1 of R(γ·norms), the norms at the minimiser), by BFGS over log γ."""
    import numpy as np
    from scipy.optimize import minimize

    res = minimize(lambda u: regulariser(unit_product(u) * norms), np.zeros(len(norms)), method="BFGS", options={"gtol": 1e-12})
    return float(res.fun), unit_product(res.x) * norms


@register
class WeissiInvariance(ExactTask):
    """7681: rescalings with Π γₗ = 1 keep a ReLU MLP's outputs; L2 changes, Σ log‖Wₗ‖ does not; the AM–GM minimum."""

    name: ClassVar[str] = "weissi-invariance"
    hook = WeightRegulariser
    params = (Param("width", "int", 16, "hidden units per layer", minimum=1),
              Param("log_gamma_std", "float", 1.0, "spread of log γ", minimum=0.0))
    scales: ClassVar[Mapping[str, str]] = {s: f"depths {GRID[s][0]}, {GRID[s][1]} networks × {GRID[s][2]} rescalings each" for s in GRID}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.05, "small": 0.15, "full": 2.0}
    primary_metric: ClassVar[str] = WS["reg"]
    table_metrics: ClassVar[tuple[str, ...]] = (WS["reg"], WS["out"], WS["orbit"], WS["norms"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import numpy as np

        depths, networks, rescalings = GRID[scale]
        rng = np.random.default_rng(7681)
        width = self.p["width"]
        out_change = reg_change = orbit_gap = norm_gap = 0.0
        for depth in depths:
            dims = [width] * depth + [1]
            for _ in range(networks):
                weights = [rng.standard_normal((o, i)) * rng.uniform(0.2, 3.0) / math.sqrt(i) for i, o in zip([width] + dims, dims)]
                biases = [0.5 * rng.standard_normal(o) for o in dims]
                x = rng.standard_normal((32, width))
                y = relu_mlp(weights, biases, x)
                norms = np.array([np.linalg.norm(w) for w in weights])
                r0 = method.regulariser(norms)  # type: ignore[attr-defined]
                for _ in range(rescalings):
                    gamma = unit_product(self.p["log_gamma_std"] * rng.standard_normal(len(weights)))
                    w2, b2 = rescale(weights, biases, gamma)
                    out_change = max(out_change, float(np.max(np.abs(relu_mlp(w2, b2, x) - y)) / np.max(np.abs(y))))
                    r1 = method.regulariser(np.array([np.linalg.norm(w) for w in w2]))  # type: ignore[attr-defined]
                    reg_change = max(reg_change, abs(r1 - r0) / max(abs(r0), 1.0))
                found, at = orbit_minimum(method.regulariser, norms)  # type: ignore[attr-defined]
                closed = method.orbit_minimum(norms)  # type: ignore[attr-defined]
                orbit_gap = max(orbit_gap, abs(found - closed) / max(abs(closed), 1e-300))
                geometric = float(np.exp(np.mean(np.log(norms))))
                norm_gap = max(norm_gap, float(np.max(np.abs(at / geometric - 1))))
        out = {WS["out"]: out_change, WS["reg"]: reg_change, WS["orbit"]: orbit_gap}
        if method.balanced_minimiser:  # type: ignore[attr-defined]
            out[WS["norms"]] = norm_gap
        return out
