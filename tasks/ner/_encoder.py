"""From-scratch encoders for the CPU (imports torch): characters (Chinese) or words + characters
(English) into a one-layer BiLSTM.

* ``zh``: each token is one character; a character embedding (vocabulary: the training
  characters, the rest ``<unk>``).
* ``en``: a word embedding of the lower-cased word with digits mapped to ``0`` (vocabulary: the
  training words), a character CNN over the word's first 16 characters (width 3, max-pooled:
  spelling and suffixes, which carry most of WNUT's unseen words) and a 4-way casing feature
  (lower / Title / UPPER / other), concatenated.

The BiLSTM is two one-way LSTMs; the backward one reads each sentence reversed *within its own
length* (padding stays at the end), so padding never leaks into the backward direction and a
sentence's encoding does not depend on its batch mates. This is exact, like packed sequences,
and 3–4× faster on a CPU than ``pack_padded_sequence`` (measured: 35 vs 142 ms per batch of 32).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

PAD, UNK = 0, 1
MAX_WORD_CHARS = 16
_DIGIT = re.compile(r"\d")


def normalise_word(token: str) -> str:
    return _DIGIT.sub("0", token.lower())


def casing(token: str) -> int:
    if token.islower():
        return 0
    if token.istitle():
        return 1
    if token.isupper():
        return 2
    return 3


@dataclass
class Vocab:
    words: dict[str, int]
    chars: dict[str, int]

    @classmethod
    def build(cls, sentences: Sequence[Sequence[str]], lang: str) -> "Vocab":
        words: dict[str, int] = {"<pad>": PAD, "<unk>": UNK}
        chars: dict[str, int] = {"<pad>": PAD, "<unk>": UNK}
        for tokens in sentences:
            for tok in tokens:
                key = tok if lang == "zh" else normalise_word(tok)
                words.setdefault(key, len(words))
                if lang == "en":
                    for ch in tok[:MAX_WORD_CHARS]:
                        chars.setdefault(ch, len(chars))
        return cls(words, chars)

    def encode(self, tokens: Sequence[str], lang: str) -> dict[str, torch.Tensor]:
        if lang == "zh":
            return {"ids": torch.tensor([self.words.get(t, UNK) for t in tokens])}
        chars = torch.zeros(len(tokens), MAX_WORD_CHARS, dtype=torch.long)
        for i, tok in enumerate(tokens):
            ids = [self.chars.get(c, UNK) for c in tok[:MAX_WORD_CHARS]]
            chars[i, : len(ids)] = torch.tensor(ids)
        return {
            "ids": torch.tensor([self.words.get(normalise_word(t), UNK) for t in tokens]),
            "chars": chars,
            "case": torch.tensor([casing(t) for t in tokens]),
        }


def collate(items: Sequence[dict[str, torch.Tensor]]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Pad a batch of encoded sentences key by key; returns the features and the (B, L) bool
    token mask. Token-level keys are ``ids`` (from-scratch encoders) or ``first`` (the first
    word piece of each token, pretrained encoders); word pieces (``pieces``) pad with −1."""
    word_key = "first" if "first" in items[0] else "ids"
    out: dict[str, torch.Tensor] = {}
    for key in items[0]:
        width = max(len(x[key]) for x in items)
        shape = (len(items), width) + tuple(items[0][key].shape[1:])
        padded = torch.full(shape, -1 if key == "pieces" else 0, dtype=torch.long)
        for b, x in enumerate(items):
            padded[b, : len(x[key])] = x[key]
        out[key] = padded
    mask = torch.zeros(len(items), out[word_key].shape[1], dtype=torch.bool)
    for b, x in enumerate(items):
        mask[b, : len(x[word_key])] = True
    return out, mask


class BiLSTMEncoder(nn.Module):
    def __init__(self, vocab: Vocab, lang: str, emb: int, hidden: int, dropout: float, char_emb: int = 24, char_filters: int = 48) -> None:
        super().__init__()
        self.lang = lang
        self.word = nn.Embedding(len(vocab.words), emb, padding_idx=PAD)
        width = emb
        if lang == "en":
            self.char = nn.Embedding(len(vocab.chars), char_emb, padding_idx=PAD)
            self.char_cnn = nn.Conv1d(char_emb, char_filters, kernel_size=3, padding=1)
            self.case = nn.Embedding(4, 4)
            width += char_filters + 4
        self.drop = nn.Dropout(dropout)
        self.fwd = nn.LSTM(width, hidden, batch_first=True)
        self.bwd = nn.LSTM(width, hidden, batch_first=True)
        self.out_dim = 2 * hidden

    def forward(self, x: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        parts = [self.word(x["ids"])]
        if self.lang == "en":
            b, length, c = x["chars"].shape
            ch = self.char(x["chars"].reshape(b * length, c)).transpose(1, 2)
            conv = self.char_cnn(ch).masked_fill((x["chars"].reshape(b * length, 1, c) == PAD), -1e4)
            pooled = conv.max(-1).values.reshape(b, length, -1)
            parts += [pooled, self.case(x["case"])]
        h = self.drop(torch.cat(parts, -1))
        rev = reverse_index(mask)[:, :, None].expand(-1, -1, h.shape[2])
        forward, _ = self.fwd(h)
        backward, _ = self.bwd(h.gather(1, rev))
        backward = backward.gather(1, rev[:, :, :1].expand(-1, -1, backward.shape[2]))
        return self.drop(torch.cat([forward, backward], -1))


def reverse_index(mask: torch.Tensor) -> torch.Tensor:
    """``idx[b, t]`` = ``len_b − 1 − t`` inside the sentence, ``t`` on padding (an involution)."""
    lengths = mask.sum(1, keepdim=True)
    t = torch.arange(mask.shape[1])[None, :]
    return torch.where(t < lengths, lengths - 1 - t, t)
