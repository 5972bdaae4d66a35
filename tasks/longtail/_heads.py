"""Classifier heads a long-tail method may ask for (imports torch: load lazily).

LDAM's scale s = 30 and margin 0.5 are meant for cosine logits in [−1, 1]: kaidic/LDAM-DRW gives
the LDAM runs a ``NormedLinear`` last layer (normalised features times column-normalised class
weights). On an ordinary ``Linear`` head, s·f(x) with unnormalised f under SGD lr 0.1 diverges
(CIFAR-10-LT balanced accuracy fell to chance, 0.1000, on every seed). A method therefore names
its head (``LongTailMethod.head``) and every long-tail training loop swaps the backbone's last
``Linear`` for it through :func:`with_head`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

HEADS = ("linear", "cosine")


class CosineLinear(nn.Module):
    """Logits cos(x, w_c) = x/|x| · w_c/|w_c|; no bias. Weights (in, out), initialised as the
    reference's NormedLinear: uniform(−1, 1), then each column renormalised to unit length."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)


def with_head(model: nn.Module, head: str) -> nn.Module:
    """``model`` with its last ``nn.Linear`` replaced by the head ``head`` (``linear``: unchanged)."""
    if head == "linear":
        return model
    if head != "cosine":
        raise ValueError(f"unknown head {head!r}; expected one of {HEADS}")
    if isinstance(model, nn.Linear):
        return CosineLinear(model.in_features, model.out_features)
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear layer to replace with a cosine head")
    name, last = linears[-1]
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, CosineLinear(last.in_features, last.out_features).to(last.weight.device))
    return model
