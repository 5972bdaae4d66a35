"""Methods of ``squareplus`` (two min–max searches) and ``squareplus-speed`` (two backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from harness.api import Param, register
from methods.theory.base import TheoryMethod


@register
class PowellGrid(TheoryMethod):
    """Su's procedure: b = a², Powell from a = 0, max over x ∈ [lo, hi) with a fixed step."""

    name: ClassVar[str] = "powell-grid"
    tasks: ClassVar[tuple[str, ...]] = ("squareplus",)
    params = (
        Param("lo", "float", -2.0, "left end of the x grid"),
        Param("hi", "float", 4.0, "right end of the x grid (excluded)"),
        Param("step", "float", 1e-4, "x grid step", minimum=1e-7),
    )

    def solve(self, max_gap: Callable[[float, Any], float], scale: str) -> float:
        import numpy as np
        from scipy.optimize import minimize

        xs = np.arange(self.p["lo"], self.p["hi"], self.p["step"])
        res = minimize(lambda a: max_gap(float(a[0]) ** 2, xs), np.zeros(1), method="Powell",
                       options={"xtol": 1e-10, "ftol": 1e-10, "maxiter": 100000})
        return float(res.x[0]) ** 2


@register
class BoundedSearch(TheoryMethod):
    """Cross-check: a bounded scalar search of b ∈ [b_lo, b_hi], max over x ∈ [-30, 30]."""

    name: ClassVar[str] = "bounded-search"
    tasks: ClassVar[tuple[str, ...]] = ("squareplus",)
    params = (
        Param("b_lo", "float", 0.5, "smallest b searched", minimum=0.0),
        Param("b_hi", "float", 3.0, "largest b searched", minimum=0.0, bounds="(]"),
        Param("step", "float", 1e-4, "x grid step on [-30, 30]", minimum=1e-7),
    )

    def solve(self, max_gap: Callable[[float, Any], float], scale: str) -> float:
        import numpy as np
        from scipy.optimize import minimize_scalar

        xs = np.linspace(-30.0, 30.0, round(60.0 / self.p["step"]) + 1)
        res = minimize_scalar(lambda b: max_gap(b, xs), bounds=(self.p["b_lo"], self.p["b_hi"]), method="bounded",
                              options={"xatol": 1e-12})
        return float(res.x)


@register
class NumpyBackend(TheoryMethod):
    """NumPy float32: SoftPlus as ``np.logaddexp(0, x)``, SquarePlus as ``0.5·(x + √(x·x + b))``."""

    name: ClassVar[str] = "numpy-cpu"
    tasks: ClassVar[tuple[str, ...]] = ("squareplus-speed",)

    def values(self, n: int, seed: int) -> Any:
        import numpy as np

        return (3.0 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)

    def softplus(self, x: Any) -> Any:
        import numpy as np

        return np.logaddexp(np.float32(0.0), x)

    def squareplus(self, x: Any, b: float) -> Any:
        import numpy as np

        return np.float32(0.5) * (x + np.sqrt(x * x + np.float32(b)))


@register
class TorchBackend(TheoryMethod):
    """torch float32 on the CPU: ``F.softplus(x)`` against ``0.5·(x + √(x·x + b))``."""

    name: ClassVar[str] = "torch-cpu"
    tasks: ClassVar[tuple[str, ...]] = ("squareplus-speed",)

    def values(self, n: int, seed: int) -> Any:
        import torch

        return torch.from_numpy(NumpyBackend().values(n, seed))

    def softplus(self, x: Any) -> Any:
        import torch.nn.functional as F

        return F.softplus(x)

    def squareplus(self, x: Any, b: float) -> Any:
        return 0.5 * (x + (x * x + b).sqrt())
