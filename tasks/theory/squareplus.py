"""``squareplus`` and ``squareplus-speed``: kexue.fm/archives/8833 (SquarePlus, 2021-12-29).

SquarePlus_b(x) = (x + √(x² + b))/2 against SoftPlus(x) = log(1 + eˣ). The article proves
SquarePlus_b ≥ SoftPlus for every x iff b ≥ max_x 4·log(1+eˣ)·log(1+e⁻ˣ) = 4·ln²2 (the maximum is
at x = 0, by Jensen on the concave log log(1+eˣ)), and fits the b that minimises the largest
gap, min_b max_x |SquarePlus_b − SoftPlus|, numerically: b = 1.52382103…, max error 0.075931….

``squareplus`` measures the bound by maximising the right-hand side numerically (not from the
closed form) and runs the method's min–max search; every b is then scored on one common
reference grid, and the gap's largest positive and negative excursions are reported (at the
min–max b they are equal: the fit equioscillates). ``squareplus-speed`` times both functions on
10⁷ float32 values in one backend, interleaving the two so that the machine's noise falls on
both, and reports the ratio per repeat (the paper's "~6× faster on a CPU" depends on it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import ArrayBackend, MinMaxSolver
from tasks.theory.common import ExactTask, exact_metric

LN2_BOUND = 4.0 * 0.6931471805599453**2  # 4·ln²2, for reference only: the task measures it

REFERENCE_GRID = {"smoke": 1e-4, "small": 2e-5, "full": 1e-5}  # step of the common grid on [-30, 30]


def squareplus(x: Any, b: float) -> Any:
    import numpy as np

    return 0.5 * (x + np.sqrt(x * x + b))


def softplus(x: Any) -> Any:
    import numpy as np

    return np.logaddexp(0.0, x)


def bound_rhs(x: Any) -> Any:
    """4·log(1+eˣ)·log(1+e⁻ˣ): SquarePlus_b(x) ≥ SoftPlus(x) ⇔ b ≥ this."""
    return 4.0 * softplus(x) * softplus(-x)


def gap(x: Any, b: float) -> Any:
    """SquarePlus_b − SoftPlus."""
    return squareplus(x, b) - softplus(x)


def max_gap(b: float, xs: Any) -> float:
    import numpy as np

    return float(np.max(np.abs(gap(xs, b))))


def reference_grid(scale: str) -> Any:
    import numpy as np

    step = REFERENCE_GRID[scale]
    return np.linspace(-30.0, 30.0, round(60.0 / step) + 1)


def measured_bound() -> tuple[float, float]:
    """(max_x of the bound's right-hand side, where), by a bounded scalar search."""
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda x: -float(bound_rhs(x)), bounds=(-5.0, 5.0), method="bounded", options={"xatol": 1e-12})
    return float(-res.fun), float(res.x)


SP = {
    "bound": exact_metric("sp_bound_b", "max over x of 4·log(1+eˣ)·log(1+e⁻ˣ), found numerically: the least b with SquarePlus_b ≥ SoftPlus (8833: 4·ln²2)", None),
    "where": exact_metric("sp_bound_argmax_abs", "|x| at which that maximum is reached (8833: x = 0)"),
    "min_at": exact_metric("sp_min_gap_at_bound", "min over the reference grid of SquarePlus_b − SoftPlus at that b (≥ 0 ⇔ the bound holds)", None),
    "min_below": exact_metric("sp_min_gap_below_bound", "the same at 0.999 × that b (< 0: the bound is tight)", None),
    "b": exact_metric("sp_minmax_b", "the method's b of min_b max_x |SquarePlus_b − SoftPlus| (8833: 1.52382103…)", None),
    "err": exact_metric("sp_minmax_error", "max over the common reference grid [-30, 30] of |SquarePlus_b − SoftPlus| at the method's b (8833: 0.075931…)"),
    "osc": exact_metric("sp_equioscillation_gap", "|max gap + min gap| at the method's b: 0 when the largest positive and negative errors are equal"),
}


@register
class SquarePlusFit(ExactTask):
    """8833: the bound b ≥ 4·ln²2 for SquarePlus ≥ SoftPlus, and the min–max fit of b."""

    name: ClassVar[str] = "squareplus"
    hook = MinMaxSolver
    scales: ClassVar[Mapping[str, str]] = {s: f"min–max search, scored on [-30, 30] step {REFERENCE_GRID[s]:g}" for s in REFERENCE_GRID}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.5, "small": 0.6, "full": 1.5}
    primary_metric: ClassVar[str] = SP["b"]
    table_metrics: ClassVar[tuple[str, ...]] = (SP["b"], SP["err"], SP["osc"], SP["bound"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import numpy as np

        xs = reference_grid(scale)
        bound, where = measured_bound()
        b = method.solve(max_gap, scale)  # type: ignore[attr-defined]
        d = gap(xs, b)
        return {
            SP["bound"]: bound,
            SP["where"]: abs(where),
            SP["min_at"]: float(np.min(gap(xs, bound))),
            SP["min_below"]: float(np.min(gap(xs, 0.999 * bound))),
            SP["b"]: b,
            SP["err"]: float(np.max(np.abs(d))),
            SP["osc"]: abs(float(np.max(d) + np.min(d))),
        }


SPEED_REPEATS = {"smoke": 5, "small": 11, "full": 31}

SPD = {
    "soft": exact_metric("spd_softplus_ms", "median milliseconds of SoftPlus on the inputs", measures_time=True),
    "square": exact_metric("spd_squareplus_ms", "median milliseconds of SquarePlus on the inputs", measures_time=True),
    "ratio": exact_metric("spd_ratio", "median over repeats of time(SoftPlus)/time(SquarePlus): how many times faster SquarePlus is (8833: ~6× on a CPU)", True, measures_time=True),
    "lo": exact_metric("spd_ratio_min", "smallest per-repeat time ratio SoftPlus/SquarePlus", True, measures_time=True),
    "hi": exact_metric("spd_ratio_max", "largest per-repeat time ratio SoftPlus/SquarePlus", True, measures_time=True),
}


@register
class SquarePlusSpeed(ExactTask):
    """8833: how many times faster SquarePlus is than SoftPlus on 10⁷ float32 values (one CPU thread)."""

    name: ClassVar[str] = "squareplus-speed"
    hook = ArrayBackend
    uses_torch = True  # the torch backend; one thread (max_threads), so numpy and torch compare alike
    precision = "fp32"
    params = (
        Param("n", "int", 10_000_000, "float32 inputs per call", minimum=1000),
        Param("b", "float", 1.52382103, "SquarePlus's b (the min–max fit)", minimum=0.0),
    )
    scales: ClassVar[Mapping[str, str]] = {s: f"{SPEED_REPEATS[s]} interleaved repeats after one warm-up" for s in SPEED_REPEATS}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 2.5, "small": 3.0, "full": 8.0}
    primary_metric: ClassVar[str] = SPD["ratio"]
    table_metrics: ClassVar[tuple[str, ...]] = (SPD["ratio"], SPD["lo"], SPD["hi"], SPD["soft"], SPD["square"])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        import numpy as np

        x = method.values(self.p["n"], seed=0)  # type: ignore[attr-defined]
        b = self.p["b"]
        method.softplus(x), method.squareplus(x, b)  # type: ignore[attr-defined] # warm-up
        soft, square = [], []
        for _ in range(SPEED_REPEATS[scale]):
            soft.append(_seconds(method.softplus, x))  # type: ignore[attr-defined]
            square.append(_seconds(lambda v: method.squareplus(v, b), x))  # type: ignore[attr-defined]
        ratios = np.array(soft) / np.array(square)
        return {
            SPD["soft"]: 1e3 * float(np.median(soft)),
            SPD["square"]: 1e3 * float(np.median(square)),
            SPD["ratio"]: float(np.median(ratios)),
            SPD["lo"]: float(ratios.min()),
            SPD["hi"]: float(ratios.max()),
        }


def _seconds(fn: Any, x: Any) -> float:
    t0 = time.perf_counter()
    fn(x)
    return time.perf_counter() - t0
