"""Small float64 MLPs that the exact tasks differentiate (gradnorm-bound, fgm-gp, flooding-order).

Layers are (W, b) pairs of torch tensors; ``forward`` accepts one input vector or a batch of row
vectors. Torch is imported inside the functions (this module is imported by cells only).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any


def random_mlp(dims: list[int], generator: Any, gain: float = 1.0, bias_std: float = 0.5) -> list[tuple[Any, Any]]:
    """Layers dims[0] → dims[1] → …, float64, W ~ N(0, gain²/fan_in), b ~ N(0, bias_std²)."""
    import torch

    return [(torch.randn(o, i, generator=generator, dtype=torch.float64) * gain / i**0.5,
             torch.randn(o, generator=generator, dtype=torch.float64) * bias_std) for i, o in pairwise(dims)]


def forward(layers: list[tuple[Any, Any]], act: Callable[[Any], Any], x: Any, last_act: bool = True) -> list[Any]:
    """[h⁽¹⁾ = x, h⁽²⁾, …, h⁽ˡ⁺¹⁾], h⁽ᵗ⁺¹⁾ = act(W⁽ᵗ⁾h⁽ᵗ⁾ + b⁽ᵗ⁾); the last layer linear unless ``last_act``."""
    hs = [x]
    for t, (w, b) in enumerate(layers):
        z = hs[-1] @ w.T + b
        hs.append(act(z) if last_act or t < len(layers) - 1 else z)
    return hs


def as_pairs(params: list[Any]) -> list[tuple[Any, Any]]:
    """[W₁, b₁, W₂, b₂, …] → [(W₁, b₁), (W₂, b₂), …]."""
    return list(zip(params[0::2], params[1::2]))


def flat_norm(tensors: Any) -> float:
    return float(sum(float(t.detach().square().sum()) for t in tensors)) ** 0.5
