"""The long-tail hook interface with its defaults: cross-entropy training, identity prediction.

Losses receive torch tensors and use tensor methods, so this module never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from harness.api import Method

if TYPE_CHECKING:
    import numpy as np


def cross_entropy(logits: Any, y: Any) -> Any:
    """Mean of −log softmax(logits)[y]; tensor methods only."""
    return -logits.log_softmax(-1).gather(1, y[:, None]).mean()


class LongTailMethod(Method):
    families: ClassVar[tuple[str, ...]] = ("longtail",)
    @property
    def head(self) -> str:
        """The classifier head the training loop gives the backbone (``tasks.longtail._heads``)."""
        return self.p.get("head", "linear")

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        return cross_entropy(logits, y)

    def postprocess(self, logits: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
        return logits

    def diagnostics(self, logits: np.ndarray, scores: np.ndarray, log_prior: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Extra metrics a method reports about itself (e.g. CAN's confident-subset accuracy)."""
        return {}
