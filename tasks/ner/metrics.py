"""Corpus-level exact-span scores (pure Python; the metric registry of ``harness`` wraps these).

Precision, recall and F1 are *micro* over the whole test corpus: counts of exact
``(sentence, type, start, end)`` matches are summed over every sentence first, and only then
divided — never a mean of per-batch F1s, which over-weights small batches and differs from
what CoNLL's conlleval and seqeval report. On well-formed IOB2 input these numbers equal
seqeval's ``mode="strict", scheme=IOB2`` exactly (``tests/test_ner_metrics.py``).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from harness.api import Metric, register_metric
from methods.ner.spans import Span

for _metric in (
    Metric("f1_*", True, "exact-span F1 of one entity type (micro over the corpus)"),
    Metric("f1_group_*", True, "micro F1 over the entity types of one group: the suffix after '.' (Weibo's PER.NAM names vs PER.NOM nominal mentions)"),
    Metric("valid_f1", True, "exact-span F1 on the valid split at the kept epoch"),
    Metric("params_per_type", False, "head parameters per entity type"),
    Metric("head_params", False, "parameters of the head (the encoder excluded)"),
    Metric("n_train", None, "training sentences"),
    Metric("n_test", None, "test sentences"),
    Metric("test_truncated", False, "test sentences cut at maxlen (their spans past it count as missed)"),
    Metric("train_spans_truncated", False, "training spans lost to maxlen"),
    Metric("train_spans_overlap_dropped", False, "overlapping training spans a tagging head cannot represent"),
    Metric("gold_tags_repaired", False, "ill-formed gold tag sequences repaired when read (I- without B-)"),
):
    register_metric(_metric)


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def span_scores(gold: Sequence[Iterable[Span]], pred: Sequence[Iterable[Span]], types: Sequence[str] = ()) -> dict[str, float]:
    """``precision``, ``recall``, ``f1`` (micro) and ``f1_<type>`` for each type in ``types``.

    ``gold[i]`` and ``pred[i]`` are the span collections of sentence ``i``; duplicates inside
    one sentence count once (a span either is predicted or is not).
    """
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences, predictions {len(pred)}")
    tp_by: Counter[str] = Counter()
    gold_by: Counter[str] = Counter()
    pred_by: Counter[str] = Counter()
    for g, p in zip(gold, pred):
        gs, ps = set(g), set(p)
        for span in gs:
            gold_by[span[2]] += 1
        for span in ps:
            pred_by[span[2]] += 1
        for span in gs & ps:
            tp_by[span[2]] += 1
    tp, n_pred, n_gold = sum(tp_by.values()), sum(pred_by.values()), sum(gold_by.values())
    p, r, f = _prf(tp, n_pred, n_gold)
    out = {"precision": p, "recall": r, "f1": f}
    for etype in types:
        out[f"f1_{etype}"] = _prf(tp_by[etype], pred_by[etype], gold_by[etype])[2]
    for group, members in type_groups(types).items():
        counts = [sum(by[t] for t in members) for by in (tp_by, pred_by, gold_by)]
        out[f"f1_group_{group}"] = _prf(*counts)[2]
    return out


def type_groups(types: Sequence[str]) -> dict[str, list[str]]:
    """Entity types grouped by their suffix after the last '.' (``PER.NAM``, ``LOC.NAM`` → NAM),
    when every type has one and there are at least two groups; else no groups. Corpora such as
    Weibo NER mark named (NAM) and nominal (NOM) mentions this way, and report them apart."""
    if not types or not all("." in t for t in types):
        return {}
    groups: dict[str, list[str]] = {}
    for etype in types:
        groups.setdefault(etype.rsplit(".", 1)[1], []).append(etype)
    return groups if len(groups) > 1 else {}
