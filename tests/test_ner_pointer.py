"""GlobalPointer heads: RoPE makes scores depend on j − i only; the loss equals its formula;
per-type parameter counts read from the model are 2·D·d + 2d (GP) and 4d + 2 (EGP)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from methods.ner._losses import global_pointer_loss, multilabel_categorical_crossentropy  # noqa: E402
from methods.ner._pointer import EfficientGlobalPointerHead, GlobalPointerHead, rope  # noqa: E402


def test_rope_score_depends_only_on_offset() -> None:
    g = torch.Generator().manual_seed(0)
    d, length = 16, 12
    q0, k0 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    # the same q and k vectors at every position: any change with position comes from RoPE
    q = rope(q0.expand(1, length, d).clone())
    k = rope(k0.expand(1, length, d).clone())
    s = q[0] @ k[0].T
    for off in range(-3, 4):
        vals = [float(s[i, i + off]) for i in range(length) if 0 <= i + off < length]
        assert max(vals) - min(vals) < 1e-9, off
    assert float(s[0, 1]) != pytest.approx(float(s[0, 5]), abs=1e-6)  # it does depend on the offset
    assert float(rope(q0.expand(1, 1, d).clone())[0, 0] @ q0) == pytest.approx(float(q0 @ q0))  # position 0: identity


def test_rope_preserves_norm() -> None:
    x = torch.randn(2, 9, 3, 8, dtype=torch.float64)
    assert torch.allclose(rope(x).norm(dim=-1), x.norm(dim=-1))


def brute_loss(y_true: list[float], s: list[float]) -> float:
    pos = [v for v, y in zip(s, y_true) if y]
    neg = [v for v, y in zip(s, y_true) if not y]
    return math.log(1 + sum(math.exp(v) for v in neg)) + math.log(1 + sum(math.exp(-v) for v in pos))


def test_multilabel_loss_equals_formula() -> None:
    g = torch.Generator().manual_seed(1)
    s = torch.randn(6, 9, generator=g, dtype=torch.float64) * 3
    y = (torch.rand(6, 9, generator=g) < 0.3).double()
    y[0] = 0  # a row without positives
    got = multilabel_categorical_crossentropy(y, s)
    for r in range(6):
        assert float(got[r]) == pytest.approx(brute_loss(y[r].tolist(), s[r].tolist()), rel=1e-9)


def test_global_pointer_loss_ignores_masked_entries() -> None:
    head = GlobalPointerHead(8, ("a", "b"), head_size=4)
    h = torch.randn(2, 5, 8, dtype=torch.float32)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    spans = [[(0, 2, "a"), (1, 1, "b")], [(2, 2, "a")]]
    with torch.no_grad():
        scores = head.scores(h, mask)
    y = head.targets(spans, mask)
    loss = float(global_pointer_loss(y, scores))
    # brute force: only i ≤ j < length enter each (sentence, type) row
    rows = []
    for b, n in enumerate((5, 3)):
        for t in range(2):
            idx = [(i, j) for i in range(n) for j in range(i, n)]
            rows.append(brute_loss([float(y[b, t, i, j]) for i, j in idx], [float(scores[b, t, i, j]) for i, j in idx]))
    assert loss == pytest.approx(sum(rows) / len(rows), rel=1e-5)


@pytest.mark.parametrize("hidden,d,types", [(128, 64, 10), (32, 8, 3)])
def test_parameter_counts_per_type(hidden: int, d: int, types: int) -> None:
    names = tuple(f"t{i}" for i in range(types))
    gp = GlobalPointerHead(hidden, names, head_size=d)
    egp = EfficientGlobalPointerHead(hidden, names, head_size=d)
    assert gp.params_per_type() == 2 * hidden * d + 2 * d
    assert egp.params_per_type() == 4 * d + 2
    # the shared part of EGP does not grow with the number of types
    egp_more = EfficientGlobalPointerHead(hidden, names + ("extra",), head_size=d)
    extra = sum(p.numel() for p in egp_more.parameters()) - sum(p.numel() for p in egp.parameters())
    assert extra == 4 * d + 2


def test_decode_returns_nested_spans_above_zero() -> None:
    head = GlobalPointerHead(4, ("a", "b"), head_size=2)
    mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.bool)
    scores = torch.full((1, 2, 4, 4), -1.0)
    scores[0, 0, 0, 2] = 2.0  # outer span
    scores[0, 1, 1, 1] = 0.5  # nested span of another type
    head.scores = lambda h, m: scores  # type: ignore[method-assign]
    assert head.decode(torch.zeros(1, 4, 4), mask) == [{(0, 2, "a"), (1, 1, "b")}]


def test_efficient_biases_start_rows_end_columns() -> None:
    # with q/k weights zeroed, the score is start_bias(i) + end_bias(j): check which is which
    head = EfficientGlobalPointerHead(3, ("a",), head_size=2, use_rope=False)
    with torch.no_grad():
        head.p_dense.weight.zero_()
        head.p_dense.bias.copy_(torch.tensor([0.0, 0.0, 1.0, 0.0]))  # x = (0, 0, 1, 0) at every position
        head.q_dense.weight.zero_()
        head.q_dense.bias.copy_(torch.tensor([4.0, 2.0]))  # even output: end bias 4, odd: start bias 2
    with torch.no_grad():
        s = head.scores(torch.zeros(1, 3, 3), torch.ones(1, 3, dtype=torch.bool))
    # q = x[::2] = (0, 1), k = x[1::2] = (0, 0): q·k = 0; each bias halved: 2 + 1
    assert float(s[0, 0, 0, 2]) == pytest.approx(3.0)
