"""The NER hook interface: a method builds the head that sits on the task's encoder.

``head(hidden, types)`` returns a torch module with ``loss(h, mask, spans)``,
``decode(h, mask) -> [set of (start, end, type)]``, ``params_per_type()`` and ``dropped`` (gold
spans it could not represent). ``flat`` says whether the head can hold nested spans. The
protocol (``tasks/ner/_protocol.py``) owns everything else — encoder, optimiser, batching,
truncation, scoring — so every head is compared on the same footing. Torch is imported only
inside ``head``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from harness.api import Method


class NerMethod(Method):
    families: ClassVar[tuple[str, ...]] = ("ner",)
    flat: ClassVar[bool] = True

    def head(self, hidden: int, types: Sequence[str]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def lr_multipliers(self, head: Any, pretrained_encoder: bool) -> list[tuple[list[Any], float]]:
        """(parameters, learning-rate multiplier) groups that differ from the encoder's rate."""
        return []
