"""Methods of ``gradnorm-bound``: the MLP's activation (tanh, ReLU, SquarePlus)."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Param, register
from methods.theory.base import TheoryMethod

TASKS = ("gradnorm-bound",)


@register
class TanhActivation(TheoryMethod):
    """tanh: smooth, never dead."""

    name: ClassVar[str] = "act-tanh"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def activation(self, z: Any) -> Any:
        return z.tanh()


@register
class ReluActivation(TheoryMethod):
    """ReLU: a layer whose units are all off at an input has ∇ₓh = 0 above it (the 0/0 terms)."""

    name: ClassVar[str] = "act-relu"
    tasks: ClassVar[tuple[str, ...]] = TASKS

    def activation(self, z: Any) -> Any:
        return z.relu()


@register
class SquarePlusActivation(TheoryMethod):
    """SquarePlus (x + √(x² + b))/2 (kexue.fm/archives/8833)."""

    name: ClassVar[str] = "act-squareplus"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    params = (Param("b", "float", 1.52382103, "SquarePlus's b", minimum=0.0),)

    def activation(self, z: Any) -> Any:
        return 0.5 * (z + (z * z + self.p["b"]).sqrt())
