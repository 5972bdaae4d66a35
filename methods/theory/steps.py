"""Methods of ``flooding-order``: the step sizes of flooding's descent/ascent pair."""

from __future__ import annotations

from typing import ClassVar

from harness.api import Param, register
from methods.theory.base import TheoryMethod

TASKS = ("flooding-order",)


@register
class EqualSteps(TheoryMethod):
    """Flooding below the flood level: descend by ε, ascend by ε (the article's case)."""

    name: ClassVar[str] = "descent-ascent"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def step_sizes(self, eps: float) -> tuple[float, float]:
        return eps, eps


@register
class UnequalSteps(TheoryMethod):
    """The alternating variant with ε₁ > ε₂: descend by ε, ascend by ρε."""

    name: ClassVar[str] = "descent-ascent-unequal"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    params = (Param("rho", "float", 0.5, "ε₂/ε₁", minimum=0.0),)

    def step_sizes(self, eps: float) -> tuple[float, float]:
        return eps, self.p["rho"] * eps
