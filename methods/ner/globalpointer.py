"""``globalpointer``, ``globalpointer_norope``, ``efficient_globalpointer``: span-matrix heads.

See :mod:`methods.ner._pointer` for the math. ``head_size`` d = 64 as in both articles.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from harness.api import Param, register
from methods.ner.base import NerMethod

HEAD_SIZE = Param("head_size", "int", 64, "q/k size d per type (GP) or shared (EGP)", minimum=2)


@register
class GlobalPointer(NerMethod):
    """GlobalPointer: per-type q/k with RoPE, multi-label CE, spans with score > 0 (nested allowed)."""

    name = "globalpointer"
    flat = False
    params = (HEAD_SIZE,)
    rope: ClassVar[bool] = True

    def head(self, hidden: int, types: Sequence[str]) -> Any:
        from methods.ner._pointer import GlobalPointerHead

        if self.p["head_size"] % 2:
            from harness.api import UserError

            raise UserError(f"{self.name}.head_size must be even for RoPE, got {self.p['head_size']}")
        return GlobalPointerHead(hidden, types, self.p["head_size"], use_rope=self.rope)


@register
class GlobalPointerNoRope(GlobalPointer):
    """GlobalPointer without RoPE (the article's ablation: position only through the encoder)."""

    name = "globalpointer_norope"
    rope = False


@register
class EfficientGlobalPointer(GlobalPointer):
    """Efficient GlobalPointer: shared q/k (RoPE) + per-type start/end biases, 4d+2 params per type."""

    name = "efficient_globalpointer"

    def head(self, hidden: int, types: Sequence[str]) -> Any:
        from methods.ner._pointer import EfficientGlobalPointerHead

        if self.p["head_size"] % 2:
            from harness.api import UserError

            raise UserError(f"{self.name}.head_size must be even for RoPE, got {self.p['head_size']}")
        return EfficientGlobalPointerHead(hidden, types, self.p["head_size"], use_rope=self.rope)
