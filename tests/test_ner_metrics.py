"""Corpus-level span P/R/F1 equals seqeval (strict, IOB2) exactly on well-formed input."""

from __future__ import annotations

import random

import pytest

from tasks.ner.metrics import span_scores
from methods.ner.spans import bio_tags, spans_from_tags

seqeval_metrics = pytest.importorskip("seqeval.metrics")
from seqeval.scheme import IOB2  # noqa: E402

TYPES = ("LOC", "ORG", "PER")


def random_iob2(rng: random.Random, n: int) -> list[str]:
    """A well-formed IOB2 sequence (random non-overlapping spans)."""
    spans, i = [], 0
    while i < n:
        if rng.random() < 0.3:
            end = min(n - 1, i + rng.randrange(3))
            spans.append((i, end, rng.choice(TYPES)))
            i = end + 1 + rng.randrange(2)
        else:
            i += 1
    return bio_tags(n, spans)[0]


def perturb(rng: random.Random, tags: list[str]) -> list[str]:
    """A prediction: the gold tags with some spans moved, retyped or dropped, still IOB2."""
    spans = list(spans_from_tags(tags, "bio", "error").spans)
    out = []
    for s, e, t in spans:
        r = rng.random()
        if r < 0.15:
            continue
        if r < 0.3:
            t = rng.choice(TYPES)
        elif r < 0.45 and e + 1 < len(tags):
            e += 1
        out.append((s, e, t))
    if rng.random() < 0.3 and len(tags) > 2:
        k = rng.randrange(len(tags))
        out.append((k, k, rng.choice(TYPES)))
    return bio_tags(len(tags), out)[0]


@pytest.mark.parametrize("seed", range(5))
def test_equals_seqeval_strict(seed: int) -> None:
    rng = random.Random(seed)
    gold_tags = [random_iob2(rng, rng.randrange(1, 25)) for _ in range(200)]
    pred_tags = [perturb(rng, g) for g in gold_tags]
    gold = [spans_from_tags(t, "bio", "error").spans for t in gold_tags]
    pred = [spans_from_tags(t, "bio", "error").spans for t in pred_tags]
    ours = span_scores(gold, pred, TYPES)
    kw = dict(mode="strict", scheme=IOB2)
    assert ours["precision"] == pytest.approx(seqeval_metrics.precision_score(gold_tags, pred_tags, **kw), abs=1e-12)
    assert ours["recall"] == pytest.approx(seqeval_metrics.recall_score(gold_tags, pred_tags, **kw), abs=1e-12)
    assert ours["f1"] == pytest.approx(seqeval_metrics.f1_score(gold_tags, pred_tags, **kw), abs=1e-12)
    report = seqeval_metrics.classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0, **kw)
    for t in TYPES:
        assert ours[f"f1_{t}"] == pytest.approx(report[t]["f1-score"], abs=1e-12)


def test_corpus_level_not_mean_of_batches() -> None:
    # batch 1: 1 gold, 1 right; batch 2: 3 gold, 0 predicted → corpus F1 = 2·1·0.25/1.25 = 0.4
    gold = [[(0, 0, "PER")], [(0, 0, "PER"), (2, 2, "LOC"), (4, 4, "ORG")]]
    pred = [[(0, 0, "PER")], []]
    got = span_scores(gold, pred, TYPES)
    assert got["precision"] == 1.0 and got["recall"] == 0.25 and got["f1"] == pytest.approx(0.4)
    assert got["f1_LOC"] == 0.0 and got["f1_PER"] == pytest.approx(2 / 3)


def test_exact_boundaries_and_types_only() -> None:
    gold = [[(1, 3, "PER")]]
    for wrong in ([(1, 2, "PER")], [(0, 3, "PER")], [(1, 3, "ORG")]):
        assert span_scores(gold, [wrong])["f1"] == 0.0
    # nested spans are scored as they are (GlobalPointer may predict both)
    assert span_scores([[(0, 3, "ORG"), (1, 2, "PER")]], [[(0, 3, "ORG"), (1, 2, "PER")]])["f1"] == 1.0


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="sentences"):
        span_scores([[]], [[], []])


def test_named_and_nominal_mentions_are_scored_apart() -> None:
    """Weibo-style types (PER.NAM, PER.NOM, …) get one micro F1 per group (NAM, NOM), counted
    from the spans of every type of the group; types without a suffix get no groups."""
    from tasks.ner.metrics import span_scores

    gold = [[(0, 1, "PER.NAM"), (3, 4, "LOC.NOM")], [(0, 2, "PER.NOM")]]
    pred = [[(0, 1, "PER.NAM")], [(0, 2, "PER.NOM"), (5, 6, "LOC.NAM")]]
    scores = span_scores(gold, pred, ["PER.NAM", "PER.NOM", "LOC.NAM", "LOC.NOM"])
    # NAM: 1 hit of 2 predicted, 1 gold → P 1/2, R 1; NOM: 1 hit of 1 predicted, 2 gold → P 1, R 1/2
    assert scores["f1_group_NAM"] == pytest.approx(2 / 3) and scores["f1_group_NOM"] == pytest.approx(2 / 3)
    assert not any(k.startswith("f1_group_") for k in span_scores(gold, pred, ["PER", "LOC"]))
