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

from harness.api import UserError

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
    parsed = _parse_cache(scheme)

    def invalid(i: int, tag: str, why: str) -> None:
        nonlocal repaired
        if on_invalid == "error":
            raise UserError(f"{where}token {i}: tag {tag!r} {why}")
        repaired += 1

    for i, tag in enumerate(tags):
        got = parsed.get(tag)
        if got is None:
            got = parsed[tag] = parse_tag(tag, scheme, where)
        prefix, kind = got
        if prefix == "O":
            if start >= 0:
                if scheme == "bioes":
                    invalid(i, tag, f"follows an unfinished {etype} entity (no E- tag)")
                spans.append((start, i - 1, etype))
                start = -1
            continue
        continues = start >= 0 and kind == etype
        if prefix == "I" and continues:
            continue
        if prefix == "B":
            if scheme == "bioes" and start >= 0:
                invalid(i, tag, f"follows an unfinished {etype} entity (no E- tag)")
            if scheme == "iob1" and not continues:
                invalid(i, tag, "does not follow an entity of the same type (IOB1 uses B- only between two)")
        elif prefix == "S":
            if start >= 0:
                invalid(i, tag, f"follows an unfinished {etype} entity (no E- tag)")
        elif not continues and scheme != "iob1":  # an I- or E- that continues nothing
            invalid(i, tag, "does not continue an entity of the same type")
        if prefix == "E" and continues:
            spans.append((start, i, etype))
            start = -1
            continue
        if start >= 0:
            spans.append((start, i - 1, etype))
        if prefix in "SE":  # S-, or an E- that opens and closes a one-token entity
            spans.append((i, i, kind))
            start = -1
        else:
            start, etype = i, kind
    if start >= 0:
        if scheme == "bioes":
            invalid(len(tags), "(end)", f"the sentence ends inside a {etype} entity (no E- tag)")
        spans.append((start, len(tags) - 1, etype))
    return Converted(tuple(spans), repaired)


_PARSED: dict[str, dict[str, tuple[str, str]]] = {}


def _parse_cache(scheme: str) -> dict[str, tuple[str, str]]:
    """Parsed tags per scheme: a corpus has a handful of distinct tags and many tokens."""
    return _PARSED.setdefault(scheme, {})


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
