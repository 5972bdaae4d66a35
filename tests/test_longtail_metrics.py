"""Long-tail metrics against scikit-learn; the EXP profile; the Gaussian task's Bayes rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score

from tasks.longtail.split import exp_profile
from tasks.longtail.gaussian import GaussianLT, bayes_balanced_accuracy
from harness.plan.metrics import per_class_accuracy
from tasks.longtail.metrics import longtail_metrics


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 7, 400)
    pred = np.where(rng.random(400) < 0.6, y, rng.integers(0, 7, 400))
    counts = np.array([300, 150, 90, 40, 25, 12, 5])
    m = longtail_metrics(y, pred, counts, many=100, few=20)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    recall = recall_score(y, pred, average=None, labels=range(7))
    assert m["many_shot_accuracy"] == pytest.approx(recall[:2].mean())
    assert m["medium_shot_accuracy"] == pytest.approx(recall[2:5].mean())
    assert m["few_shot_accuracy"] == pytest.approx(recall[5:].mean())


def test_classes_absent_from_test_are_left_out() -> None:
    y, pred = np.array([0, 0, 1]), np.array([0, 1, 1])
    acc = per_class_accuracy(y, pred, 3)
    assert acc[:2].tolist() == [0.5, 1.0] and math.isnan(acc[2])
    m = longtail_metrics(y, pred, np.array([500, 200, 10]))
    assert m["balanced_accuracy"] == pytest.approx(0.75)
    assert "few_shot_accuracy" not in m and "medium_shot_accuracy" not in m


def test_exp_profile() -> None:
    assert exp_profile(5000, 100, 10) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(exp_profile(5000, 100, 10)) == 12406


def test_gaussian_bayes_rule() -> None:
    from scipy.stats import norm

    assert bayes_balanced_accuracy() == pytest.approx(1 - norm.cdf(-math.sqrt(2)))
    split = GaussianLT().load("small")
    assert split.y_train.mean() == pytest.approx(0.05, abs=0.01)
    assert np.bincount(split.y_test).tolist() == [5000, 5000]
    rule = (split.x_test.sum(1) > 0).astype(int)
    # the empirical balanced accuracy of the Bayes rule is within sampling error of the analytic one
    assert balanced_accuracy_score(split.y_test, rule) == pytest.approx(bayes_balanced_accuracy(), abs=0.01)


def test_prior_weighted_accuracy_is_accuracy_on_prior_distributed_data() -> None:
    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(4), 100)  # balanced test set
    pred = np.where(rng.random(400) < 0.7, y, rng.integers(0, 4, 400))
    counts = np.array([800, 100, 60, 40])
    weights = (counts / counts.sum())[y] / 100  # reweight each test example to the training prior
    expected = accuracy_score(y, pred, sample_weight=weights)
    assert longtail_metrics(y, pred, counts)["prior_weighted_accuracy"] == pytest.approx(expected)


def test_7708_identities_on_random_logits() -> None:
    from methods.longtail.logit_adjust import la_identities

    rng = np.random.default_rng(3)
    z, y = rng.normal(0, 3, (500, 6)), rng.integers(0, 6, 500)
    log_prior = np.log(np.array([0.5, 0.2, 0.1, 0.1, 0.05, 0.05]))
    out = la_identities(z, y, log_prior, tau=1.0)
    assert out["la_margin_identity_error"] < 1e-9
    assert out["la_reweight_ratio_spread"] > 0.1  # LA is no per-class re-weighting
    assert la_identities(z, y, log_prior, tau=0.0)["la_reweight_ratio_spread"] < 1e-12  # τ=0: LA is CE
