"""The hooks the exact ``theory`` tasks call on their methods.

Each exact task computes an article's constants with one variant of the thing the article
compares, and that variant is the method. A task declares the protocol its methods implement
(``ExactTask.hook``); a method subclasses :class:`TheoryMethod`, names its one task in
``tasks`` and implements that protocol, nothing else. Arrays are NumPy, tensors torch (float64
unless the task says otherwise); neither is imported here.

========================  ===============================  ======================================
task                      protocol                         what the method supplies
========================  ===============================  ======================================
``squareplus``            :class:`MinMaxSolver`            the x grid and search of min_b max_x
``squareplus-speed``      :class:`ArrayBackend`            softplus / squareplus on its arrays
``wordvec-dim``           :class:`EntropyIntegral`         h_n, the per-pair entropy term
``gradnorm-bound``        :class:`Activation`              the MLP's activation function
``batchsize-lr``          :class:`UpdateRule`              the update direction and its theory
``flatnce-numerics``      :class:`ContrastiveLoss`         a float form of the contrastive loss
``fgm-gp``                :class:`InputPerturbation`       FGM's Δx and its gradient penalty
``flooding-order``        :class:`AlternatingSteps`        the descent/ascent step sizes
``weissi-invariance``     :class:`WeightRegulariser`       R(‖W₁‖, …, ‖W_L‖) and its orbit minimum
========================  ===============================  ======================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol, runtime_checkable

from harness.api import Method

FAMILY = "theory"


class TheoryMethod(Method):
    """Base of the exact ``theory`` methods: family ``theory``, one task each (``tasks``)."""

    families: ClassVar[tuple[str, ...]] = (FAMILY,)


@runtime_checkable
class MinMaxSolver(Protocol):
    def solve(self, max_gap: Callable[[float, Any], float], scale: str) -> float:
        """The b minimising ``max_gap(b, xs)`` = max over the method's grid xs of
        |SquarePlus_b − SoftPlus|."""


@runtime_checkable
class ArrayBackend(Protocol):
    def values(self, n: int, seed: int) -> Any:
        """``n`` float32 inputs of this backend (standard normal times 3)."""

    def softplus(self, x: Any) -> Any: ...

    def squareplus(self, x: Any, b: float) -> Any: ...


@runtime_checkable
class EntropyIntegral(Protocol):
    def h(self, n: float) -> float:
        """h_n = log E[e^{n cos θ}] − E[n cos θ e^{n cos θ}]/E[e^{n cos θ}], θ the angle between two
        uniform directions in R^n."""


@runtime_checkable
class Activation(Protocol):
    def activation(self, z: Any) -> Any:
        """The elementwise activation g applied to a torch tensor."""


@runtime_checkable
class UpdateRule(Protocol):
    kind: ClassVar[str]  # "sgd" or "sign": which of the article's closed forms the task also checks

    def direction(self, g_batch: Any) -> Any:
        """The update direction φ(g̃_B) for mini-batch gradients (rows of an array)."""

    def eta_star(self, problem: Any, batch: float) -> float:
        """The article's one-step optimal learning rate η*(B) on a quadratic ``problem``."""

    def b_noise(self, problem: Any) -> float:
        """The batch size B_noise (SGD) or B_noise-2 (SignSGD) of the law ΔL = ΔL_max/(1 + B_noise/B)."""

    def peak_b(self, problem: Any) -> float:
        """The B at which the article's η*(B) peaks (inf: it rises monotonically)."""


@runtime_checkable
class ContrastiveLoss(Protocol):
    target: ClassVar[str]  # "log1p_xi": log(1 + ξ) (cross-entropy); "log_xi": log ξ (FlatNCE)
    has_value: ClassVar[bool]  # False when only the gradient is meaningful (ξ / sg(ξ) ≡ 1)

    def loss(self, scores: Any, positive: int) -> Any:
        """The loss of one row of scores (a torch vector) whose positive is ``positive``."""


@runtime_checkable
class InputPerturbation(Protocol):
    def perturbation(self, grad_x: Any, eps: float) -> Any:
        """FGM's Δx from ∇ₓL (over the whole input matrix)."""

    def penalty(self, grad_x: Any, eps: float) -> Any:
        """The gradient penalty whose θ-gradient Δx is said to match, as a scalar tensor."""


@runtime_checkable
class AlternatingSteps(Protocol):
    def step_sizes(self, eps: float) -> tuple[float, float]:
        """(ε₁, ε₂): one descent step of ε₁, then one ascent step of ε₂."""


@runtime_checkable
class WeightRegulariser(Protocol):
    balanced_minimiser: ClassVar[bool]  # the orbit minimiser has every ‖γₗWₗ‖ = (Π‖Wₗ‖)^{1/L}

    def regulariser(self, norms: Any) -> float:
        """R of the weight matrices' Frobenius norms ‖W₁‖, …, ‖W_L‖."""

    def orbit_minimum(self, norms: Any) -> float:
        """The article's closed form of min R(γ₁‖W₁‖, …, γ_L‖W_L‖) over γ > 0 with Π γₗ = 1."""
