"""Methods of ``fgm-gp``: FGM's input perturbation and the gradient penalty it is said to equal."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import register
from methods.theory.base import TheoryMethod

TASKS = ("fgm-gp",)


@register
class FGMPlain(TheoryMethod):
    """Δx = ε∇ₓL; penalty (ε/2)‖∇ₓL‖²."""

    name: ClassVar[str] = "fgm-plain"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def perturbation(self, grad_x: Any, eps: float) -> Any:
        return eps * grad_x

    def penalty(self, grad_x: Any, eps: float) -> Any:
        return 0.5 * eps * grad_x.square().sum()


@register
class FGMNormalised(TheoryMethod):
    """Δx = ε∇ₓL/‖∇ₓL‖ (norm over the whole input matrix, as FGM on an embedding matrix); penalty ε‖∇ₓL‖."""

    name: ClassVar[str] = "fgm-normalised"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def perturbation(self, grad_x: Any, eps: float) -> Any:
        return eps * grad_x / grad_x.norm()

    def penalty(self, grad_x: Any, eps: float) -> Any:
        return eps * grad_x.norm()
