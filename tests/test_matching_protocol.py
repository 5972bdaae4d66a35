"""Matching protocol: cached bi-encoder scores equal per-pair scores, padding does not leak into
pooling, the cross-encoder scores probabilities, every model also keeps its best-valid-accuracy
epoch (8860's selection), and a smoke cell is bit-reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from harness.plan.data import is_available
from tasks.matching.tokenizer import VOCAB

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not is_available((VOCAB,)), reason="data bundle not here")

from methods.matching.cosent import CoSENT  # noqa: E402
from methods.matching.interaction import Interaction  # noqa: E402
from tasks.matching.data import Pairs  # noqa: E402
from tasks.matching._encoders import ScratchSize, ScratchTransformer  # noqa: E402
from tasks.matching._protocol import Scorer  # noqa: E402
from tasks.matching.tokenizer import bundle_tokenizer  # noqa: E402

SENTENCES = ["花呗怎么还款", "借呗可以提前还吗", "A plane is taking off.", "蚂蚁花呗分期", "Two dogs play in the snow with a red ball."]


def _encoder(pooling: str) -> ScratchTransformer:
    torch.manual_seed(0)
    enc = ScratchTransformer(bundle_tokenizer(), ScratchSize(16, 1, 2, 32, 40), pooling, SENTENCES)
    return enc.eval()


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_padding_does_not_change_a_sentence_vector(pooling: str) -> None:
    enc = _encoder(pooling)
    with torch.no_grad():
        alone = enc.encode([SENTENCES[0]])
        batched = enc.encode([SENTENCES[0], SENTENCES[4]])[:1]
    assert torch.allclose(alone, batched, atol=1e-5)


def test_cached_cosines_equal_per_pair_cosines() -> None:
    enc = _encoder("mean")
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(SENTENCES), (12, 2))
    pairs = Pairs(tuple(SENTENCES[i] for i in idx[:, 0]), tuple(SENTENCES[j] for j in idx[:, 1]), rng.integers(0, 2, 12).astype(float))
    scores, rate, encode_s = Scorer(enc, None, CoSENT()).score(pairs, timed=True)
    with torch.no_grad():
        direct = [torch.nn.functional.cosine_similarity(enc.encode([a]), enc.encode([b])).item() for a, b in zip(pairs.a, pairs.b)]
    assert np.allclose(scores, direct, atol=1e-5)
    assert rate > 0 and encode_s > 0


def test_cross_encoder_scores_are_probabilities_of_the_pair() -> None:
    enc = _encoder("cls")
    method = Interaction()
    head = method.head(enc.dim)
    pairs = Pairs(tuple(SENTENCES[:3]), tuple(SENTENCES[2:5]), np.array([0.0, 1.0, 0.0]))
    scores, rate, _ = Scorer(enc, head, method).score(pairs, timed=True)
    assert np.all((scores > 0) & (scores < 1)) and rate > 0
    swapped, _, _ = Scorer(enc, head, method).score(Pairs(pairs.b, pairs.a, pairs.label))
    assert not np.allclose(scores, swapped)  # the pair is read in order: [CLS] a [SEP] b [SEP]


def test_smoke_cell_is_reproducible(tmp_path) -> None:
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, run_cell
    from harness.store.store import Store

    cell = Cell.build("bq", "sbert", 2, "smoke")
    values = []
    for name in ("a", "b"):
        store = Store(tmp_path / name)
        assert run_cell(cell, store, RunOptions(progress=False)).status.value == "ok"
        values.append(store.load().sort_values("metric")[["metric", "value"]].values.tolist())
    assert values[0] == values[1]
    assert {"spearman", "accuracy", "f1", "accuracy_powell", "valid_spearman_epoch1"} <= {m for m, _ in values[0]}
    assert not any(m.startswith("pairs_per_s") for m, _ in values[0])  # timings stay out of the CI reference


def test_every_model_also_keeps_the_epoch_of_its_best_valid_accuracy(monkeypatch: pytest.MonkeyPatch) -> None:
    """bojone/CoSENT's accuracy/*.py keep, for every model, the epoch with the best valid
    accuracy; a bi-encoder's main track keeps the best valid Spearman. Scripted valid scores make
    the two differ: epoch 1 has the better accuracy (0.875 vs 0.75), epoch 2 the better Spearman."""
    from harness.api import RunContext
    from tasks.matching import _protocol
    from tasks.matching.data import LabelRange

    by_accuracy = [0.7, 0.2, 0.0, 0.1, 0.4, 0.6, 0.3, 0.5]  # Spearman 43.6, accuracy 87.5
    by_spearman = [0.0, 0.1, 0.3, 0.5, 0.7, 0.6, 0.4, 0.2]  # Spearman 54.6, accuracy 75.0
    label = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=float)
    valid = Pairs(tuple(SENTENCES[i % 5] for i in range(8)), tuple(SENTENCES[(i + 1) % 5] for i in range(8)), label)
    test = Pairs(valid.b, valid.a, label)
    epochs_seen: list[int] = []

    class Scripted(Scorer):
        def score(self, pairs: Pairs, timed: bool = False) -> tuple[np.ndarray, float, float]:
            if pairs is valid:
                epochs_seen.append(len(epochs_seen) + 1)
                return np.array((by_accuracy, by_spearman, by_accuracy)[min(len(epochs_seen), 3) - 1]), 0.0, 0.0
            return np.full(len(pairs), float(len(epochs_seen))), 1.0, 0.0  # test scores name the epoch they came from

    monkeypatch.setattr(_protocol, "Scorer", Scripted)
    schedule = _protocol.Schedule(epochs=3, batch_size=4, lr=1e-3)
    out = _protocol.train_and_score(_encoder("mean"), CoSENT(), valid, valid, test, LabelRange(0, 1, True), schedule, RunContext(0, "smoke"))
    assert out.best_epoch == 2 and out.by_accuracy is not None
    assert np.array_equal(out.by_accuracy[0], by_accuracy) and set(out.by_accuracy[1]) == {1.0}
    assert out.curve == pytest.approx(out.valid_spearman) and out.valid_spearman[1] > out.valid_spearman[0]


def test_the_spearman_fall_counts_only_epochs_whose_loss_was_higher() -> None:
    from tasks.matching._protocol import Outcome

    def outcome(spearman: list[float], loss: list[float]) -> Outcome:
        return Outcome(np.zeros(1), np.zeros(1), None, 1, 0.0, 0.0, 0.0, valid_spearman=spearman, train_loss=loss)

    assert outcome([40.0, 50.0, 45.0], [1.0, 0.8, 0.7]).spearman_fall() == pytest.approx(5.0)  # fell 5 while the loss fell
    assert outcome([40.0, 50.0, 45.0], [1.0, 0.6, 0.7]).spearman_fall() == 0.0  # the loss rose too: not the claim's pattern
    assert outcome([40.0, 45.0], [1.0, 0.8]).spearman_fall() == 0.0
    assert outcome([40.0], [1.0]).spearman_fall() is None
