"""The hooks the seeded ``theory`` experiments call on their methods (``tasks/theory/experiments``).

Each experiment task trains a small model and hands the method one thing to decide; the method
is the variant the article compares. A method subclasses :class:`ExperimentMethod`, names its
one task in ``tasks`` and implements that task's protocol, nothing else. Tensors are torch
(imported by the callers, never here).

====================  ================================  =======================================
task                  protocol                          what the method supplies
====================  ================================  =======================================
``flatnce-digits``    :class:`ContrastiveObjective`     the loss of a batch of similarity rows
``adv-iflytek``,      :class:`AdversarialObjective`     the training loss of a batch of texts,
``adv-tnews``                                           given its embeddings (FGM, a penalty…)
``sgd-digits``        :class:`SGDRule`                  the settings it is selected among and
                                                        the parameter update of one mini-batch
====================  ================================  =======================================
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from harness.api import Method, UserError

FAMILY = "theory"


class ExperimentMethod(Method):
    """Base of the experiment methods: family ``theory``, one task (or task pair) each."""

    families: ClassVar[tuple[str, ...]] = (FAMILY,)


@runtime_checkable
class ContrastiveObjective(Protocol):
    def contrastive_loss(self, scores: Any, positive: Any) -> Any:
        """Mean loss over the rows of ``scores`` (n × n similarities over the temperature, the
        diagonal already −inf); ``positive[i]`` is the column of row i's positive."""


@runtime_checkable
class EmbeddingBatch(Protocol):
    """One mini-batch of texts for :class:`AdversarialObjective` (built by the task).

    The embedding matrix E enters the model only through the bag embeddings ``h = A·E_U``, where
    U are the rows (n-grams) the batch touches and A holds each text's n-gram frequencies. So a
    perturbation δ of E's rows moves h by A·δ (:meth:`shift`), and ∂L/∂E_U = Aᵀ·∂L/∂h
    (:meth:`row_gradient`): FGM on the embedding matrix needs no copy of the matrix."""

    h: Any  # (texts × dim) bag embeddings, differentiable with respect to E

    def loss(self, h: Any) -> Any:
        """Mean cross-entropy of the classifier (dropout, linear head) on embeddings ``h``."""

    def row_gradient(self, grad_h: Any) -> Any:
        """∂L/∂E_U (rows × dim) from ∂L/∂h: the gradient on the embedding matrix's touched rows."""

    def shift(self, delta_rows: Any) -> Any:
        """A·δ: how h moves when the touched rows of E move by ``delta_rows``."""

    def positions(self) -> Any:
        """The number of n-gram occurrences (token positions) of each text, as floats."""


@runtime_checkable
class AdversarialObjective(Protocol):
    def objective(self, batch: EmbeddingBatch) -> tuple[Any, Any]:
        """(the loss to descend on, the clean loss L(h) without graph) for one mini-batch."""


@runtime_checkable
class SGDBatch(Protocol):
    """One mini-batch of the ``sgd-digits`` MLP (built by the task)."""

    params: list[Any]  # every parameter, updated in place by the method
    weights: list[Any]  # the weight matrices W₁…W_L (no biases)
    lr: float  # the task's learning rate ε

    def loss(self) -> Any:
        """Mean cross-entropy of the model on the mini-batch at the current parameters."""


@runtime_checkable
class SGDRule(Protocol):
    def settings(self) -> list[float]:
        """The strengths trained in each cell; the one with the best validation accuracy is kept
        (a single value: nothing to select)."""

    def step(self, batch: SGDBatch, strength: float) -> float:
        """Update ``batch.params`` in place for one mini-batch; return its loss before the update."""


def sgd_update(params: list[Any], loss: Any, lr: float, create_graph: bool = False) -> None:
    """θ ← θ − lr·∇_θ loss, in place (lr < 0 ascends)."""
    import torch

    grads = torch.autograd.grad(loss, params, create_graph=create_graph)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(lr * g)


def parse_grid(text: str, what: str) -> list[float]:
    """``"0,0.01,0.1"`` → [0.0, 0.01, 0.1]: a method's validation grid, as a string param."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what}: cannot read {text!r} as comma-separated numbers") from None
    if not values or any(v < 0 for v in values):
        raise UserError(f"{what}: the grid must hold at least one number >= 0, got {text!r}")
    return values
