"""Methods of ``weissi-invariance``: L2 and the weight-scale-shift-invariant Σ log‖Wₗ‖."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.theory.base import TheoryMethod

TASKS = ("weissi-invariance",)


@register
class L2Penalty(TheoryMethod):
    """Σ‖Wₗ‖²: its minimum over the rescaling orbit is L·(Π‖Wₗ‖)^{2/L} (AM–GM), at equal layer norms."""

    name: ClassVar[str] = "reg-l2"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    balanced_minimiser: ClassVar[bool] = True

    def regulariser(self, norms: Any) -> float:
        return float((norms**2).sum())

    def orbit_minimum(self, norms: Any) -> float:
        import numpy as np

        return float(len(norms) * np.exp(2 * np.mean(np.log(norms))))


@register
class LogNormPenalty(TheoryMethod):
    """WEISSI's invariant Σ log‖Wₗ‖ = log Π‖Wₗ‖: constant on the orbit, so its minimum there is itself."""

    name: ClassVar[str] = "reg-log-norm"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    balanced_minimiser: ClassVar[bool] = False

    def regulariser(self, norms: Any) -> float:
        import numpy as np

        return float(np.log(norms).sum())

    def orbit_minimum(self, norms: Any) -> float:
        return self.regulariser(norms)
