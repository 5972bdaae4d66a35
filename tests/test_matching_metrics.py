"""Matching family: the losses against independent computations, the threshold searches against
brute force, Spearman/accuracy/F1 against scipy/sklearn, and the one-line errors on bad scores."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

from harness.common.errors import CellFailure
from tasks.matching.metrics import (
    accuracy_at,
    exhaustive_threshold,
    optimal_threshold,
    spearman100,
    threshold_metrics,
)

torch = pytest.importorskip("torch")

from methods.matching.base import Targets, cosine  # noqa: E402
from methods.matching.cosent import CoSENT, cosent_loss  # noqa: E402
from methods.matching.cosine_mse import CosineMSE  # noqa: E402
from methods.matching.sbert import SentenceBERT  # noqa: E402


def brute_cosent(cos: list[float], labels: list[float], lam: float = 20.0) -> float:
    """log(1 + Σ_{y_i > y_j} exp(λ(cos_j − cos_i))) with two explicit loops."""
    total = 1.0
    for i in range(len(cos)):
        for j in range(len(cos)):
            if labels[i] > labels[j]:
                total += math.exp(lam * (cos[j] - cos[i]))
    return math.log(total)


@pytest.mark.parametrize("graded", [False, True])
def test_cosent_matches_double_loop(graded: bool) -> None:
    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(12, 8, generator=g, dtype=torch.float64), torch.randn(12, 8, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 6 if graded else 2, (12,), generator=g).double()
    cos = cosine(u, v)
    ours = cosent_loss(cos, labels).item()
    assert ours == pytest.approx(brute_cosent(cos.tolist(), labels.tolist()), abs=1e-9)


def test_cosent_matches_sentence_transformers() -> None:
    losses = pytest.importorskip("sentence_transformers.sentence_transformer.losses")
    from sentence_transformers.util import pairwise_cos_sim

    g = torch.Generator().manual_seed(11)
    for labels in (torch.tensor([1, 0, 0, 1, 1, 0, 1, 0.0]), torch.tensor([5, 3.2, 0, 4, 4, 1, 2.5, 0.0])):
        u, v = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
        reference = losses.CoSENTLoss.compute_loss_from_embeddings(
            types.SimpleNamespace(similarity_fct=pairwise_cos_sim, scale=20.0), [u, v], labels
        )
        ours = CoSENT().loss(u, v, Targets(labels, None, None), None)
        assert ours.item() == pytest.approx(reference.item(), abs=1e-6)


def test_cosent_is_zero_without_ordered_pairs_and_rewards_ranking() -> None:
    cos = torch.tensor([0.9, 0.1, 0.5])
    assert cosent_loss(cos, torch.tensor([1.0, 1.0, 1.0])).item() == 0.0
    good = cosent_loss(torch.tensor([0.9, 0.1]), torch.tensor([1.0, 0.0])).item()
    bad = cosent_loss(torch.tensor([0.1, 0.9]), torch.tensor([1.0, 0.0])).item()
    assert good < 1e-6 < 15.0 < bad  # log(1+e^{-16}) vs log(1+e^{16})


def test_sbert_and_cosine_mse_losses() -> None:
    g = torch.Generator().manual_seed(5)
    u, v = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    sbert = SentenceBERT()
    head = sbert.head(4)
    assert head.in_features == 12
    logits = head(torch.cat([u, v, (u - v).abs()], -1))
    expected = torch.nn.functional.cross_entropy(logits, y)
    assert sbert.loss(u, v, Targets(None, None, y), head).item() == pytest.approx(expected.item(), abs=1e-6)
    unit = torch.tensor([0.0, 1.0, 0.2, 0.4, 1.0, 0.0])
    cos = torch.nn.functional.cosine_similarity(u, v)
    assert CosineMSE().loss(u, v, Targets(None, unit, None), None).item() == pytest.approx(((cos - unit) ** 2).mean().item(), abs=1e-6)


def brute_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """Best accuracy over thresholds at every score and just below the minimum."""
    candidates = np.concatenate([[scores.min() - 1], scores])
    return max(np.mean((scores > t) == (labels > 0.5)) for t in candidates)


@pytest.mark.parametrize("seed", range(5))
def test_exhaustive_threshold_is_the_best_cut(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300).astype(float)
    s = np.round(rng.normal(y * 0.8, 0.5), 2)  # rounded: ties between scores
    t, acc = exhaustive_threshold(s, y)
    assert acc == pytest.approx(brute_threshold(s, y))
    assert accuracy_at(s, y, t) == pytest.approx(acc)


@pytest.mark.parametrize("seed", range(5))
def test_powell_finds_the_exhaustive_optimum_on_spread_scores(seed: int) -> None:
    """bojone/CoSENT's Powell-on-tanh(t) search, on cosines spread over (−1, 1) with one clear
    crossing (trained-BERT-like), reaches the exact optimum within a pair or two."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400).astype(float)
    s = np.tanh(rng.normal(np.where(y > 0, 0.9, -0.2), 0.35))
    t, acc = optimal_threshold(s, y)
    _, best = exhaustive_threshold(s, y)
    assert -1 < t < 1
    assert accuracy_at(s, y, t) == pytest.approx(acc)
    assert best - 2 / len(y) <= acc <= best


def test_powell_can_stall_where_the_scan_does_not() -> None:
    """Crowded scores (a from-scratch encoder's cosines, all near 1): Powell from t = 1 may stop
    on a plateau; the scan is never worse. This is why ``accuracy`` uses the scan."""
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.2).astype(float)
    s = 0.995 + 0.004 * rng.random(500) + 0.0005 * y
    _, powell = optimal_threshold(s, y)
    _, scan = exhaustive_threshold(s, y)
    assert scan >= powell
    assert scan > 0.8 + 1e-9  # the scan beats predicting the majority class


def test_threshold_metrics_match_sklearn() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200).astype(float)
    s = rng.random(200) + 0.3 * y
    out = threshold_metrics(s, y, 0.6)
    assert out["accuracy"] == pytest.approx(100 * accuracy_score(y, s > 0.6))
    assert out["f1"] == pytest.approx(100 * f1_score(y, s > 0.6))


def test_spearman_matches_scipy_with_ties() -> None:
    from scipy.stats import spearmanr

    y = np.array([0, 1, 2, 2, 3, 5, 5, 4.0])
    s = np.array([0.1, 0.3, 0.2, 0.2, 0.9, 0.7, 0.8, 0.8])
    assert spearman100(s, y) == pytest.approx(100 * spearmanr(s, y).statistic)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: exhaustive_threshold(np.array([0.1, 0.5, 0.7]), np.array([1.0, 1, 1])), "only class 1"),
        (lambda: optimal_threshold(np.array([0.1, 0.5]), np.array([0.0, 0])), "only class 0"),
        (lambda: exhaustive_threshold(np.array([0.1, 0.5]), np.array([0.0, 3])), "must be 0/1"),
        (lambda: spearman100(np.array([0.2, 0.2, 0.2]), np.array([0.0, 1, 2])), "constant"),
        (lambda: spearman100(np.array([0.2, np.nan, 0.1]), np.array([0.0, 1, 2])), "NaN"),
        (lambda: threshold_metrics(np.array([0.2, 0.1]), np.array([0.0, 1, 1]), 0.5), "2 scores for 3 labels"),
    ],
)
def test_bad_scores_fail_with_one_line(call, message: str) -> None:
    with pytest.raises(CellFailure, match=message) as info:
        call()
    assert "\n" not in str(info.value)
