"""The hook interface between ``tasks.matching``'s protocol and a matching method.

A method declares whether it is a cross-encoder (``cross``), may add a trainable ``head`` on
top of the pooled vectors, and gives the training ``loss`` of one mini-batch:

* bi-encoder: ``loss(u, v, targets, head)`` with ``u``, ``v`` the pooled vectors of the two
  sides (tensors ``[B, d]``); at test time the pair's score is ``cos(u, v)``;
* cross-encoder: ``loss(h, None, targets, head)`` with ``h`` the pooled vector of the
  concatenated pair; at test time the score is ``score(h, head)``.

``targets`` carries the labels three ways (:class:`Targets`), so one method serves binary and
graded tasks. This module never imports torch (tensor methods only, or a local import).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from harness.api import Method


@dataclass(frozen=True)
class Targets:
    """Labels of a mini-batch: ``raw`` (as in the file, float), ``unit`` (mapped to [0, 1]),
    ``binary`` (long 0/1: graded scores split at the middle of their range)."""

    raw: Any
    unit: Any
    binary: Any


def cosine(u: Any, v: Any) -> Any:
    """Row-wise cosine similarity of two ``[B, d]`` tensors."""
    return (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1)).clamp_min(1e-12)


def cross_entropy(logits: Any, y: Any) -> Any:
    return -logits.log_softmax(-1).gather(1, y[:, None]).mean()


class MatchingMethod(Method):
    families: ClassVar[tuple[str, ...]] = ("matching",)
    cross: ClassVar[bool] = False

    def head(self, dim: int) -> Any:
        """A trainable module on top of the encoder (``None``: none)."""
        return None

    def loss(self, u: Any, v: Any, targets: Targets, head: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def score(self, h: Any, head: Any) -> Any:
        """Cross-encoders: the pair's score from its pooled vector."""
        raise NotImplementedError
