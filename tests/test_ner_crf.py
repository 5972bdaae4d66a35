"""CRF log-partition, path score and Viterbi against enumerating every tag path."""

from __future__ import annotations

import itertools
import math

import pytest

torch = pytest.importorskip("torch")
from methods.ner import _crf_layer as crf_layer  # noqa: E402


def brute(emissions, length, trans, start, end):
    """(log Z, best path) by enumerating all K^length paths of one sentence."""
    k = emissions.shape[1]
    scores = {}
    for path in itertools.product(range(k), repeat=length):
        s = start[path[0]] + emissions[0, path[0]]
        for t in range(1, length):
            s = s + trans[path[t - 1], path[t]] + emissions[t, path[t]]
        scores[path] = float(s + end[path[-1]])
    log_z = math.log(sum(math.exp(v) for v in scores.values()))
    return log_z, list(max(scores, key=scores.get)), scores


@pytest.mark.parametrize("seed", range(4))
def test_crf_against_enumeration(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    b, length, k = 3, 4, 3
    emissions = torch.randn(b, length, k, generator=g, dtype=torch.float64)
    trans = torch.randn(k, k, generator=g, dtype=torch.float64)
    start = torch.randn(k, generator=g, dtype=torch.float64)
    end = torch.randn(k, generator=g, dtype=torch.float64)
    lengths = [4, 2, 1]  # padded batch: positions past each length must not matter
    mask = torch.tensor([[t < n for t in range(length)] for n in lengths])
    log_z = crf_layer.log_partition(emissions, mask, trans, start, end)
    paths = crf_layer.viterbi(emissions, mask, trans, start, end)
    tags = torch.randint(0, k, (b, length), generator=g)
    scores = crf_layer.path_score(emissions, tags, mask, trans, start, end)
    for i, n in enumerate(lengths):
        z, best, table = brute(emissions[i], n, trans, start, end)
        assert float(log_z[i]) == pytest.approx(z, abs=1e-9)
        assert paths[i] == best
        assert float(scores[i]) == pytest.approx(table[tuple(tags[i, :n].tolist())], abs=1e-9)


def test_crf_nll_is_a_distribution() -> None:
    # Σ over all paths of exp(score − log Z) = 1 for a sentence of 3 tokens and 3 tags
    g = torch.Generator().manual_seed(7)
    e = torch.randn(1, 3, 3, generator=g, dtype=torch.float64)
    t, s, en = (torch.randn(*shape, generator=g, dtype=torch.float64) for shape in ((3, 3), (3,), (3,)))
    mask = torch.ones(1, 3, dtype=torch.bool)
    z = crf_layer.log_partition(e, mask, t, s, en)
    paths = torch.tensor(list(itertools.product(range(3), repeat=3)))
    total = sum(float((crf_layer.path_score(e, p[None], mask, t, s, en) - z).exp()) for p in paths)
    assert total == pytest.approx(1.0, abs=1e-12)


def test_softmax_decoder_yields_only_valid_spans() -> None:
    from methods.ner._tagging import SoftmaxHead

    head = SoftmaxHead(4, ("LOC", "PER"))
    # emissions that, read greedily, give O I-PER I-PER B-LOC I-PER: two invalid I- tags
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-PER"]
    logp = torch.full((1, 5, len(head.tags)), -5.0)
    for t, tag in enumerate(tags):
        logp[0, t, head.index[tag]] = 0.0
    trans, start = head.allowed()
    path = crf_layer.viterbi(logp, torch.ones(1, 5, dtype=torch.bool), trans, start, torch.zeros(len(head.tags)))[0]
    read = [head.tags[i] for i in path]
    for prev, cur in zip(["O"] + read, read):
        assert not cur.startswith("I-") or prev[2:] == cur[2:]


def test_same_numbers_as_pytorch_crf() -> None:
    """Where ``pytorch-crf`` is installed, its log-likelihood and decoding agree with ours."""
    torchcrf = pytest.importorskip("torchcrf")
    g = torch.Generator().manual_seed(3)
    k = 5
    ref = torchcrf.CRF(k, batch_first=True)
    emissions = torch.randn(4, 6, k, generator=g)
    tags = torch.randint(0, k, (4, 6), generator=g)
    mask = torch.tensor([[t < n for t in range(6)] for n in (6, 3, 1, 5)])
    theirs = ref(emissions, tags, mask=mask, reduction="none")
    args = (ref.transitions, ref.start_transitions, ref.end_transitions)
    ours = crf_layer.path_score(emissions, tags, mask, *args) - crf_layer.log_partition(emissions, mask, *args)
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert crf_layer.viterbi(emissions, mask, *args) == ref.decode(emissions, mask=mask)
