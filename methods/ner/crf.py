"""``crf``: linear-chain CRF over IOB2 tags, Viterbi decoding.

With a pretrained encoder (``minilm``, ``hf:``) the transition parameters train at
``lr_multiplier`` × the encoder's learning rate, as bert4keras' NER examples do
(``ConditionalRandomField(lr_multiplier=1000)`` at Adam 2e-5): the transitions would
otherwise barely move in 10 epochs. A from-scratch encoder already trains at 1e-3 or more,
where a ×1000 rate would make Adam's steps on the transitions ≈ 1 per step, so there the
multiplier is not applied.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.api import Param, register
from methods.ner.base import NerMethod


@register
class CRF(NerMethod):
    """Linear-chain CRF over IOB2 (vectorised forward algorithm, Viterbi); flat."""

    name = "crf"
    params = (Param("lr_multiplier", "float", 1000.0, "CRF-transition learning-rate multiplier with a pretrained encoder", minimum=0.0, bounds="(]"),)

    def head(self, hidden: int, types: Sequence[str]) -> Any:
        from methods.ner._tagging import CRFHead

        return CRFHead(hidden, types)

    def lr_multipliers(self, head: Any, pretrained_encoder: bool) -> list[tuple[list[Any], float]]:
        return [(head.crf_parameters(), self.p["lr_multiplier"])] if pretrained_encoder else []
