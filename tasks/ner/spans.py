"""Spans ⇄ tags: the one place where tagging schemes are read and written (standard library only).

A span is ``(start, end, type)`` over token positions, **end inclusive** (the CLUENER
convention; a one-token entity has ``start == end``). Every corpus is turned into spans as soon
as it is read, so IOB1 (CoNLL-2003), BIO/IOB2 (People's Daily, WNUT-17) and BIOES files meet the
same scorer, and each method re-encodes spans in its own target format (BIO tags, a span
matrix).

Ill-formed gold tags (``I-X`` after ``O`` or after another type in BIO, a dangling ``B-`` in
BIOES, …) are either *repaired* the way conlleval reads them — an ``I-X`` that cannot continue
an entity starts a new one — and counted, or rejected with a :class:`UserError` naming the
sentence and position (``on_invalid="error"``). Tags that do not parse at all are always an
error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from harness.errors import UserError

Span = tuple[int, int, str]
SCHEMES = ("bio", "iob1", "bioes")


@dataclass(frozen=True)
class Converted:
    """Spans read from one tag sequence, and how many tags had to be repaired."""

    spans: tuple[Span, ...]
    repaired: int = 0


def parse_tag(tag: str, scheme: str, where: str = "") -> tuple[str, str]:
    """``"B-PER"`` → ``("B", "PER")``; ``"O"`` → ``("O", "")``. Anything else is a UserError."""
    allowed = {"bio": "BI", "iob1": "BI", "bioes": "BIES"}[scheme]
    if tag == "O":
        return "O", ""
    prefix, dash, etype = tag.partition("-")
    if not dash or len(prefix) != 1 or prefix not in allowed or not etype:
        raise UserError(f"{where}tag {tag!r} does not parse in scheme {scheme} (expected O or one of {', '.join(c + '-TYPE' for c in allowed)})")
    return prefix, etype


def spans_from_tags(tags: Sequence[str], scheme: str = "bio", on_invalid: str = "repair", where: str = "") -> Converted:
    """Read entity spans from one sentence's tags.

    ``bio`` (IOB2): ``B`` opens an entity, ``I`` continues one of the same type.
    ``iob1``: ``I`` opens an entity unless it continues one of the same type; ``B`` is only used
    to split two adjacent entities of the same type (so ``I-X B-X`` is two entities).
    ``bioes``: ``S`` a single-token entity, ``B … E`` a longer one.
    """
    if scheme not in SCHEMES:
        raise UserError(f"unknown tagging scheme {scheme!r} (use one of {', '.join(SCHEMES)})")
    if on_invalid not in ("repair", "error"):
        raise ValueError(on_invalid)
    spans: list[Span] = []
    repaired = 0
    start, etype = -1, ""  # the entity open so far (start -1: none)

    def close(end: int) -> None:
        nonlocal start
        if start >= 0:
            spans.append((start, end, etype))
        start = -1

    def invalid(i: int, tag: str, why: str) -> None:
        nonlocal repaired
        if on_invalid == "error":
            raise UserError(f"{where}token {i}: tag {tag!r} {why}")
        repaired += 1

    for i, tag in enumerate(tags):
        prefix, kind = parse_tag(tag, scheme, where)
        continues = start >= 0 and kind == etype
        if prefix == "O":
            if scheme == "bioes" and start >= 0:
                invalid(i, tag, f"follows an unfinished {etype} entity (no E- tag)")
            close(i - 1)
        elif prefix == "B":
            if scheme == "bioes" and start >= 0:
                invalid(i, tag, f"follows an unfinished {etype} entity (no E- tag)")
            if scheme == "iob1" and not continues:
                invalid(i, tag, "does not follow an entity of the same type (IOB1 uses B- only between two)")
            close(i - 1)
            start, etype = i, kind
        elif prefix == "S":
            if start >= 0:
                invalid(i, tag, f"follows an unfinished {etype} entity (no E- tag)")
            close(i - 1)
            spans.append((i, i, kind))
        else:  # I or E
            if not continues:
                if scheme != "iob1":
                    invalid(i, tag, "does not continue an entity of the same type")
                close(i - 1)
                start, etype = i, kind
            if prefix == "E":
                close(i)
    if start >= 0:
        if scheme == "bioes":
            invalid(len(tags), "(end)", f"the sentence ends inside a {etype} entity (no E- tag)")
        close(len(tags) - 1)
    return Converted(tuple(spans), repaired)


def bio_tags(n: int, spans: Iterable[Span]) -> tuple[list[str], int]:
    """IOB2 tags of length ``n`` for a flat tagger, and how many spans were dropped.

    A flat tagger cannot represent nested or overlapping spans: spans are placed longest first
    (ties: leftmost), and a span overlapping one already placed is dropped and counted. Spans
    reaching past ``n`` (a sentence truncated to maxlen) are dropped and counted too.
    """
    tags = ["O"] * n
    dropped = 0
    for start, end, etype in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0], s[2])):
        if end >= n or any(tags[k] != "O" for k in range(start, end + 1)):
            dropped += 1
            continue
        tags[start] = f"B-{etype}"
        for k in range(start + 1, end + 1):
            tags[k] = f"I-{etype}"
    return tags, dropped


def check_spans(spans: Iterable[Span], n: int, types: Sequence[str], where: str = "") -> None:
    """Every span inside the sentence (0 ≤ start ≤ end < n) and of a known type, else UserError."""
    known = set(types)
    for start, end, etype in spans:
        if not (0 <= start <= end < n):
            raise UserError(f"{where}span ({start}, {end}, {etype}) lies outside the sentence of {n} tokens (0-based, end inclusive)")
        if etype not in known:
            raise UserError(f"{where}span type {etype!r} is not one of {', '.join(types)}")
