"""BERT's tokenizer (basic split + greedy WordPiece) over the bundle's bert-base-chinese vocab.

One tokenizer serves both languages of the family: Chinese becomes one token per character
(as for bert-base-chinese), English becomes word pieces, since that vocab also holds about
3,000 lower-cased English pieces (``the``, ``##ing``, …). The from-scratch encoders embed these
ids; nothing of BERT's weights is used. Written from the BERT paper's description (lower-case,
strip accents, split punctuation, isolate CJK characters, longest-match-first WordPiece with
``##`` continuations, ``[UNK]`` for a word that cannot be covered). Pure Python, no torch.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness.api import DataFile, resolve

VOCAB = DataFile(
    "vocab/bert-base-chinese-vocab.txt",
    "45bbac6b341c319adc98a532532882e91a9cefc0329aa57bac9ae761c27b291c",
    "CLUEbenchmark/CLUENER2020 tf_version/vocab.txt",
)

PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
MAX_WORD_CHARS = 100  # BERT's limit: a longer "word" is [UNK]


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_split(text: str) -> list[str]:
    """Lower-case, strip accents, drop control characters, split on space/punctuation/CJK."""
    text = unicodedata.normalize("NFD", text.lower())
    words: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            words.append("".join(current))
            current.clear()

    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Mn" or ch == "\ufffd" or (cat.startswith("C") and ch not in "\t\n\r"):
            continue
        if ch.isspace():
            flush()
        elif _is_cjk(ord(ch)) or _is_punct(ch):
            flush()
            words.append(ch)
        else:
            current.append(ch)
    flush()
    return words


@dataclass(frozen=True, eq=False)  # hashed by identity: a memo key
class WordPiece:
    """Token ids of a text: ``encode`` (one sentence) and ``encode_pair`` (a cross-encoder input)."""

    vocab: dict[str, int]

    @property
    def size(self) -> int:
        return len(self.vocab)

    def special_ids(self) -> list[int]:
        return [self.vocab[t] for t in (PAD, UNK, CLS, SEP)]

    def pieces(self, word: str) -> list[str]:
        if len(word) > MAX_WORD_CHARS:
            return [UNK]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return [UNK]
            out.append(piece)
            start = end
        return out

    def tokens(self, text: str) -> list[str]:
        return [p for w in basic_split(text) for p in self.pieces(w)]

    def ids(self, text: str) -> list[int]:
        unk = self.vocab[UNK]
        return [self.vocab.get(t, unk) for t in self.tokens(text)]

    def encode(self, text: str, maxlen: int) -> list[int]:
        """[CLS] tokens [SEP], truncated to ``maxlen`` ids in all."""
        body = self.ids(text)[: max(0, maxlen - 2)]
        return [self.vocab[CLS], *body, self.vocab[SEP]]

    def encode_pair(self, a: str, b: str, maxlen: int) -> list[int]:
        """[CLS] a [SEP] b [SEP], the longer side trimmed first until it fits ``maxlen``."""
        ia, ib = self.ids(a), self.ids(b)
        budget = max(0, maxlen - 3)
        while len(ia) + len(ib) > budget:
            if len(ia) >= len(ib):
                ia.pop()
            else:
                ib.pop()
        return [self.vocab[CLS], *ia, self.vocab[SEP], *ib, self.vocab[SEP]]


def read_vocab(path: Path) -> dict[str, int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {token: i for i, token in enumerate(lines)}


@lru_cache(maxsize=2)
def bundle_tokenizer() -> WordPiece:
    """The tokenizer over the verified bundle vocab (21,128 ids), once per process."""
    return WordPiece(read_vocab(resolve(VOCAB)))
