"""``softmax``: per-token IOB2 classification with cross-entropy; decoding yields only valid spans."""

from __future__ import annotations

from typing import Any, Sequence

from harness.api import register
from methods.ner.base import NerMethod


@register
class Softmax(NerMethod):
    """Per-token IOB2 softmax + CE; constrained Viterbi decoding (valid spans only); flat."""

    name = "softmax"

    def head(self, hidden: int, types: Sequence[str]) -> Any:
        from methods.ner._tagging import SoftmaxHead

        return SoftmaxHead(hidden, types)
