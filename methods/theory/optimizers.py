"""Methods of ``batchsize-lr``: the update rules whose optimal learning rate the article derives."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from harness.api import register
from methods.theory.base import TheoryMethod

TASKS = ("batchsize-lr",)


@register
class SGDRule(TheoryMethod):
    """SGD, φ(g̃_B) = g̃_B: η* = η_max/(1 + B_noise/B), B_noise = tr(ΣH)/gᵀHg."""

    name: ClassVar[str] = "sgd-quadratic"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    kind: ClassVar[str] = "sgd"

    def direction(self, g_batch: Any) -> Any:
        return g_batch

    def eta_star(self, problem: Any, batch: float) -> float:
        from methods.theory._quadratic import sgd_eta_star

        return sgd_eta_star(problem, batch)

    def b_noise(self, problem: Any) -> float:
        from methods.theory._quadratic import sgd_b_noise

        return sgd_b_noise(problem)

    def peak_b(self, problem: Any) -> float:
        return math.inf


@register
class SignSGDRule(TheoryMethod):
    """SignSGD, φ(g̃_B) = sign(g̃_B) (Adam's first step, or Adam with β₁ = β₂ = 0): η* with E[φ] = erf(·)."""

    name: ClassVar[str] = "signsgd-quadratic"
    tasks: ClassVar[tuple[str, ...]] = TASKS
    kind: ClassVar[str] = "sign"

    def direction(self, g_batch: Any) -> Any:
        import numpy as np

        return np.sign(g_batch)

    def eta_star(self, problem: Any, batch: float) -> float:
        from methods.theory._quadratic import sign_eta_star, sign_mean

        return sign_eta_star(problem, sign_mean(problem, batch))

    def b_noise(self, problem: Any) -> float:
        from methods.theory._quadratic import sign_b_noise2

        return sign_b_noise2(problem)

    def peak_b(self, problem: Any) -> float:
        from methods.theory._quadratic import sign_b_noise

        return sign_b_noise(problem)
