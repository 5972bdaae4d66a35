"""``erm``: empirical risk minimisation with softmax cross-entropy, L = −log softmax(f(x))_y."""

from __future__ import annotations

from harness.api import register
from methods.longtail.hooks import LongTailMethod


@register
class ERM(LongTailMethod):
    """Plain cross-entropy; predicts argmax f(x)."""

    name = "erm"
    aliases = ("ce",)
