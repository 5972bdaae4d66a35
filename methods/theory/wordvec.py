"""Methods of ``wordvec-dim``: h_n by the article's numerical integration, and in closed form."""

from __future__ import annotations

from typing import ClassVar

from harness.api import register
from methods.theory.base import TheoryMethod


@register
class Quadrature(TheoryMethod):
    """The article's route: adaptive quadrature over the angle density ∝ sin^{n−2}θ."""

    name: ClassVar[str] = "quadrature"
    tasks: ClassVar[tuple[str, ...]] = ("wordvec-dim",)

    def h(self, n: float) -> float:
        from methods.theory._entropy import h_quadrature

        return h_quadrature(n)


@register
class BesselClosedForm(TheoryMethod):
    """Cross-check: h_n through modified Bessel functions I_{n/2−1}(n), I_{n/2}(n)."""

    name: ClassVar[str] = "bessel-closed-form"
    tasks: ClassVar[tuple[str, ...]] = ("wordvec-dim",)

    def h(self, n: float) -> float:
        from methods.theory._entropy import h_bessel

        return h_bessel(n)
