"""``flatnce-numerics``: kexue.fm/archives/8586 (FlatNCE：小批次对比学习效果差的原因竟是浮点误差？, 2021-07-26).

With scores s₁…s_K and the positive t, the contrastive cross-entropy is log(1 + ξ), ξ = Σ_{i≠t} e^{sᵢ−s_t}.
Once the positive wins by a wide gap, ξ → 0 and, the article says (after the FlatNCE paper),
floating-point error swamps ξ, then log(1 + ξ), then the gradient. FlatNCE optimises ξ/sg(ξ),
whose gradient is that of log ξ = logsumexp_{i≠t} sᵢ − s_t.

The task puts the positive at s_t = ``s_pos`` (a cosine over a temperature: 1/0.05 = 20) and the
K − 1 negatives at s_t − gap − uᵢ (uᵢ uniform on [0, 1), fixed), for gaps 10 → 40 (ξ from 10⁻⁴ to
10⁻¹⁷), evaluates the method's loss form in float32 and float64 with torch autodiff, and compares
value and gradient (w.r.t. the scores) with the exact target computed analytically in float64 from
the same float32 scores: log(1 + ξ) via log1p, or log ξ for the FlatNCE forms. It also reports the
float32 error of ξ itself, and the positive and negative components of the gradient apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import ContrastiveLoss
from tasks.theory.common import ExactTask, exact_metric

NAMED_GAPS = (10, 20, 30, 40)
GAPS = {"smoke": NAMED_GAPS, "small": tuple(range(5, 46, 5)), "full": tuple(range(5, 46))}


def scores(gap: float, k: int, s_pos: float) -> Any:
    """float32 scores: s₀ = s_pos (the positive), the K − 1 negatives at s_pos − gap − uᵢ."""
    import numpy as np

    u = np.random.default_rng(8586).random(k - 1)
    return np.concatenate([[s_pos], s_pos - gap - u]).astype(np.float32)


def exact_target(s: Any, target: str) -> tuple[float, Any]:
    """(value, gradient) of log(1 + ξ) (``log1p_xi``) or log ξ (``log_xi``) at the scores ``s``
    (positive first), analytically in float64."""
    import numpy as np

    s = np.asarray(s, np.float64)
    e = np.exp(s[1:] - s[0])
    xi = float(e.sum())
    if target == "log1p_xi":
        return math.log1p(xi), np.concatenate([[-xi / (1 + xi)], e / (1 + xi)])
    return math.log(xi), np.concatenate([[-1.0], e / xi])


def evaluate(loss: Any, s: Any, dtype: Any) -> tuple[float, Any]:
    """(value, gradient) of ``loss(scores, 0)`` in ``dtype`` with torch autodiff."""
    import torch

    x = torch.tensor(s, dtype=dtype, requires_grad=True)
    value = loss(x, 0)
    (grad,) = torch.autograd.grad(value, x)
    return float(value.detach()), grad.double().numpy()


def rel(a: Any, b: Any) -> float:
    import numpy as np

    return float(np.linalg.norm(np.asarray(a, float) - b) / np.linalg.norm(b))


def xi_float32_error(s: Any) -> float:
    """Relative float32 error of ξ = Σ e^{sᵢ − s_t} itself."""
    import numpy as np

    xi32 = float(np.exp(s[1:] - s[0]).sum(dtype=np.float32))
    xi64 = float(np.exp(s[1:].astype(np.float64) - float(s[0])).sum())
    return abs(xi32 - xi64) / xi64


FN = {g: exact_metric(f"fn_grad_rel_error_gap{g}", f"float32 ‖∇ − ∇_exact‖/‖∇_exact‖ of the method's loss at s_t − sᵢ ≈ {g}") for g in NAMED_GAPS}
FN.update({("loss", g): exact_metric(f"fn_loss_rel_error_gap{g}", f"float32 |loss − exact|/|exact| at s_t − sᵢ ≈ {g}") for g in NAMED_GAPS})
FN.update({
    "max": exact_metric("fn_max_grad_rel_error", "largest float32 relative gradient error over the scale's gaps"),
    "max64": exact_metric("fn_max_grad_rel_error_fp64", "largest float64 relative gradient error over the gaps (for ξ/sg(ξ): its gap to ∇log ξ, 8586's identity)"),
    "pos": exact_metric("fn_pos_grad_rel_error_gap40", "float32 relative error of the positive score's gradient component at gap 40"),
    "neg": exact_metric("fn_neg_grad_rel_error_gap40", "float32 relative error of the negatives' gradient components at gap 40"),
    "xi": exact_metric("fn_xi_rel_error_gap40", "float32 relative error of ξ = Σe^{sᵢ−s_t} itself at gap 40"),
    "xi_value": exact_metric("fn_xi_gap40", "ξ at gap 40 (float64)", None),
})


@register
class FlatNCENumerics(ExactTask):
    """8586: float32 error of contrastive-loss forms (value and gradient) as ξ → 0, and ∇(ξ/sg ξ) = ∇log ξ."""

    name: ClassVar[str] = "flatnce-numerics"
    hook = ContrastiveLoss
    uses_torch = True
    precision = "fp32 vs fp64"
    params = (Param("k", "int", 8, "scores per row: the positive and K − 1 negatives (a small batch)", minimum=2),
              Param("s_pos", "float", 20.0, "the positive's score (cosine 1 over temperature 0.05)"))
    scales: ClassVar[Mapping[str, str]] = {s: f"gaps s_t − sᵢ ∈ {{{', '.join(map(str, GAPS[s][:4]))}{', …' if len(GAPS[s]) > 4 else ''}}} ({len(GAPS[s])})" for s in GAPS}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.01, "small": 0.01, "full": 0.1}
    primary_metric: ClassVar[str] = FN["max"]
    table_metrics: ClassVar[tuple[str, ...]] = (FN["max"], FN[("loss", 40)], FN[10], FN[40], FN["pos"], FN["neg"], FN["max64"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import torch

        target, has_value = method.target, method.has_value  # type: ignore[attr-defined]
        out: dict[str, float] = {}
        grad_errors, grad_errors64 = [], []
        for gap in GAPS[scale]:
            s = scores(gap, self.p["k"], self.p["s_pos"])
            value, grad = exact_target(s, target)
            v32, g32 = evaluate(method.loss, s, torch.float32)  # type: ignore[attr-defined]
            _, g64 = evaluate(method.loss, s, torch.float64)  # type: ignore[attr-defined]
            grad_errors.append(rel(g32, grad))
            grad_errors64.append(rel(g64, grad))
            if gap in NAMED_GAPS:
                out[FN[gap]] = grad_errors[-1]
                if has_value:
                    out[FN[("loss", gap)]] = abs(v32 - value) / abs(value)
            if gap == 40:
                out[FN["pos"]] = abs(g32[0] - grad[0]) / abs(grad[0])
                out[FN["neg"]] = rel(g32[1:], grad[1:])
                out[FN["xi"]] = xi_float32_error(s)
                out[FN["xi_value"]] = math.exp(exact_target(s, "log_xi")[0])
        out[FN["max"]], out[FN["max64"]] = max(grad_errors), max(grad_errors64)
        return out
