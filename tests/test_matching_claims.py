"""Matching claims file: every claim parses against the registry, and the per-task published
numbers (which feed results/tables/matching.md) agree with the averages the articles print."""

from __future__ import annotations

import statistics

import pytest

from harness.judge.claims import all_claims


def test_matching_claims_parse_and_cover_the_issue() -> None:
    ids = {c.id for c in all_claims("matching")}
    assert {
        "8847-cosent-beats-sbert", "8847-cosent-converges-faster", "8847-cosine-mse-worse",
        "8860-interaction-best-accuracy", "8860-bi-encoder-scores-faster", "minilm-stsb-calibration",
    } <= ids


@pytest.mark.parametrize(
    "metric,method,mean",
    [("spearman", "cosent", 68.19), ("spearman", "sbert", 61.74), ("accuracy_acc_selected", "cosent", 83.00),
     ("accuracy_acc_selected", "interaction", 84.62), ("accuracy_acc_selected", "sbert", 80.04)],
)
def test_published_tables_match_the_articles_averages(metric: str, method: str, mean: float) -> None:
    per_task: dict[str, dict[str, float]] = {}
    for claim in all_claims("matching"):
        if claim.metric == metric:
            for task, by_method in claim.published_by_task.items():
                per_task.setdefault(task, {}).update(by_method)
    values = [v[method] for v in per_task.values()]
    assert statistics.fmean(values) == pytest.approx(mean, abs=0.006)
    claim_means = [c.published[method] for c in all_claims("matching") if c.metric == metric and method in c.published and c.id.startswith(("8847-cosent-beats", "8860-interaction-best"))]
    assert claim_means == [pytest.approx(mean)]
