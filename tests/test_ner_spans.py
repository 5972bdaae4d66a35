"""Tag schemes → spans, spans → IOB2 tags, and how ill-formed tags are handled."""

from __future__ import annotations

import pytest

from harness.common.errors import UserError
from methods.ner.spans import bio_tags, check_spans, spans_from_tags


def test_iob1_conll_reading() -> None:
    # CoNLL-2003 IOB1: I- opens an entity, B- only splits two adjacent entities of one type
    tags = ["I-ORG", "O", "I-PER", "I-PER", "B-PER", "I-LOC", "I-MISC", "I-MISC"]
    got = spans_from_tags(tags, "iob1")
    assert got.spans == ((0, 0, "ORG"), (2, 3, "PER"), (4, 4, "PER"), (5, 5, "LOC"), (6, 7, "MISC"))
    assert got.repaired == 0


def test_iob1_differs_from_bio_on_the_same_tags() -> None:
    tags = ["I-PER", "I-PER", "B-PER"]
    assert spans_from_tags(tags, "iob1").spans == ((0, 1, "PER"), (2, 2, "PER"))
    bio = spans_from_tags(tags, "bio")  # in IOB2 the leading I- is ill-formed: repaired, counted
    assert bio.spans == ((0, 1, "PER"), (2, 2, "PER")) and bio.repaired == 1


def test_bio_and_bioes() -> None:
    assert spans_from_tags(["B-LOC", "I-LOC", "O", "B-PER"], "bio").spans == ((0, 1, "LOC"), (3, 3, "PER"))
    assert spans_from_tags(["S-LOC", "B-PER", "I-PER", "E-PER", "O"], "bioes").spans == ((0, 0, "LOC"), (1, 3, "PER"))


def test_i_after_o_is_repaired_or_rejected() -> None:
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-ORG"]
    got = spans_from_tags(tags, "bio")
    assert got.spans == ((1, 2, "PER"), (3, 3, "LOC"), (4, 4, "ORG")) and got.repaired == 2
    with pytest.raises(UserError, match="token 1: tag 'I-PER' does not continue"):
        spans_from_tags(tags, "bio", "error")


def test_bioes_unfinished_entity_is_counted() -> None:
    got = spans_from_tags(["B-PER", "I-PER", "O"], "bioes")
    assert got.spans == ((0, 1, "PER"),) and got.repaired == 1


@pytest.mark.parametrize("tag", ["X-PER", "B-", "BPER", "b-PER", "S-PER", "-"])
def test_tags_that_do_not_parse(tag: str) -> None:
    with pytest.raises(UserError, match="does not parse"):
        spans_from_tags(["O", tag], "bio")


def test_unknown_scheme() -> None:
    with pytest.raises(UserError, match="unknown tagging scheme"):
        spans_from_tags(["O"], "bilou")


def test_bio_tags_round_trip_and_overlaps_dropped() -> None:
    spans = [(0, 1, "PER"), (3, 5, "ORG")]
    tags, dropped = bio_tags(6, spans)
    assert tags == ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG"] and dropped == 0
    assert spans_from_tags(tags, "bio", "error").spans == tuple(spans)
    # nested: the flat tagger keeps the longer one and counts the other; past the end: dropped
    tags, dropped = bio_tags(6, [(0, 4, "ORG"), (1, 2, "PER"), (4, 7, "LOC")])
    assert tags == ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "I-ORG", "O"] and dropped == 2


def test_spans_outside_the_sentence() -> None:
    check_spans([(0, 2, "PER")], 3, ["PER"])
    with pytest.raises(UserError, match="outside the sentence of 3 tokens"):
        check_spans([(1, 3, "PER")], 3, ["PER"])
    with pytest.raises(UserError, match="outside"):
        check_spans([(2, 1, "PER")], 3, ["PER"])
    with pytest.raises(UserError, match="not one of"):
        check_spans([(0, 0, "GPE")], 3, ["PER"])
