"""GlobalPointer and Efficient GlobalPointer span heads (kexue.fm/archives/8373, /8877; imports torch).

Both score every span (i, j) of every type with ``s_t(i, j) = q_{t,i}·k_{t,j} / √d`` (+ biases
for EGP), mask padding rows/columns and i > j (``MASKED``), train with the multi-label
"softmax + CE" over each (sentence, type) score matrix and predict every span with score > 0 —
so nested and overlapping spans come out as they are.

* ``GlobalPointerHead``: one dense layer D → T·2·d (q and k per type, bias included), i.e.
  2·D·d + 2·d parameters per type; bert4keras lays each type's 2d outputs out as [q | k].
* ``EfficientGlobalPointerHead``: a shared ``p_dense`` D → 2d gives one q (even outputs) and one
  k (odd outputs) for all types; a ``q_dense`` 2d → 2T on that 2d output gives each type an
  end bias (even outputs, added per column) and a start bias (odd outputs, added per row),
  both halved — 4·d + 2 parameters per type, as in bert4keras' ``EfficientGlobalPointer``.

RoPE (``rope``) rotates q and k by position so that q_i·k_j depends on positions only through
j − i (interleaved pairs, θ_k = 10000^(−2k/d), bert4keras' ``SinusoidalPositionEmbedding``
"zero" mode with ``apply_rotary_position_embeddings``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import torch
from torch import nn

from methods.ner._losses import MASKED, global_pointer_loss
from methods.ner.spans import Span


@lru_cache(maxsize=64)
def _rotation(length: int, d: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position × θ_k, each repeated over its (2k, 2k+1) pair: ``(L, d)``."""
    pos = torch.arange(length, dtype=torch.float64)
    theta = torch.pow(10000.0, -2 * torch.arange(d // 2, dtype=torch.float64) / d)
    angle = pos[:, None] * theta[None, :]
    return angle.cos().repeat_interleave(2, -1).to(dtype), angle.sin().repeat_interleave(2, -1).to(dtype)


def rope(x: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` ``(B, L, …, d)`` (d even) by its position along dim 1: each pair
    (x_{2k}, x_{2k+1}) → (x_{2k}·cos − x_{2k+1}·sin, x_{2k+1}·cos + x_{2k}·sin)."""
    length, d = x.shape[1], x.shape[-1]
    cos, sin = _rotation(length, d, x.dtype)
    shape = (1, length) + (1,) * (x.dim() - 3) + (d,)
    pairs = x.unflatten(-1, (d // 2, 2))
    swapped = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)
    return x * cos.reshape(shape) + swapped * sin.reshape(shape)


def span_mask(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Scores of padding rows/columns and of i > j set to ``MASKED`` (never > 0, absent from the loss)."""
    length = logits.shape[-1]
    valid = mask[:, None, :, None] & mask[:, None, None, :] & torch.ones(length, length, dtype=torch.bool).triu()[None, None]
    return logits.masked_fill(~valid, MASKED)


class PointerHead(nn.Module):
    def __init__(self, types: Sequence[str], head_size: int, use_rope: bool) -> None:
        super().__init__()
        self.types = tuple(types)
        self.head_size = head_size
        self.use_rope = use_rope
        self.dropped = 0  # spans cut off by truncation (nested spans are kept: nothing else dropped)

    def scores(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def targets(self, spans: Sequence[Sequence[Span]], mask: torch.Tensor) -> torch.Tensor:
        length = mask.shape[1]
        lengths = mask.sum(1).tolist()
        y = torch.zeros(mask.shape[0], len(self.types), length, length)
        index = {t: i for i, t in enumerate(self.types)}
        for b, sent in enumerate(spans):
            for start, end, etype in sent:
                if end >= lengths[b]:
                    self.dropped += 1
                    continue
                y[b, index[etype], start, end] = 1.0
        return y

    def loss(self, h: torch.Tensor, mask: torch.Tensor, spans: Sequence[Sequence[Span]]) -> torch.Tensor:
        return global_pointer_loss(self.targets(spans, mask), self.scores(h, mask))

    @torch.no_grad()
    def decode(self, h: torch.Tensor, mask: torch.Tensor) -> list[set[Span]]:
        hits = (self.scores(h, mask) > 0).nonzero().tolist()
        out: list[set[Span]] = [set() for _ in range(h.shape[0])]
        for b, t, i, j in hits:
            out[b].add((i, j, self.types[t]))
        return out


class GlobalPointerHead(PointerHead):
    def __init__(self, hidden: int, types: Sequence[str], head_size: int = 64, use_rope: bool = True) -> None:
        super().__init__(types, head_size, use_rope)
        self.dense = nn.Linear(hidden, len(self.types) * 2 * head_size)

    def params_per_type(self) -> float:
        return sum(p.numel() for p in self.dense.parameters()) / len(self.types)

    def scores(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, length, _ = h.shape
        x = self.dense(h).reshape(b, length, len(self.types), 2 * self.head_size)
        q, k = x[..., : self.head_size], x[..., self.head_size :]
        if self.use_rope:
            q, k = rope(q), rope(k)
        logits = torch.einsum("bmhd,bnhd->bhmn", q, k) / self.head_size**0.5
        return span_mask(logits, mask)


class EfficientGlobalPointerHead(PointerHead):
    def __init__(self, hidden: int, types: Sequence[str], head_size: int = 64, use_rope: bool = True) -> None:
        super().__init__(types, head_size, use_rope)
        self.p_dense = nn.Linear(hidden, 2 * head_size)
        self.q_dense = nn.Linear(2 * head_size, 2 * len(self.types))

    def params_per_type(self) -> float:
        """Only ``q_dense`` is per type (4d + 2); ``p_dense`` is shared by all types."""
        return sum(p.numel() for p in self.q_dense.parameters()) / len(self.types)

    def scores(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.p_dense(h)
        q, k = x[..., ::2], x[..., 1::2]
        if self.use_rope:
            q, k = rope(q), rope(k)
        logits = torch.einsum("bmd,bnd->bmn", q, k) / self.head_size**0.5
        bias = self.q_dense(x).transpose(1, 2) / 2  # (B, 2T, L)
        logits = logits[:, None] + bias[:, ::2, None, :] + bias[:, 1::2, :, None]
        return span_mask(logits, mask)
