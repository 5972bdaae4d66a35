"""Every long-tail method against an independent, straightforward implementation of its formula.

The references below are written as loops over examples in float64 Python/NumPy, not with the
tensor code under test. All inputs come from fixed-seed generators.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from methods.longtail.hooks import cross_entropy
from methods.longtail.can import CAN, softmax, topk_entropy
from methods.longtail.class_balanced import ClassBalanced, class_balanced_weights
from methods.longtail.erm import ERM
from methods.longtail.flooding import Flooding
from methods.longtail.focal import Focal
from methods.longtail.ldam_drw import LDAMDRW, ldam_margins
from methods.longtail.logit_adjust import LogitAdjustLoss, LogitAdjustPosthoc
from methods.longtail.reweight import Reweight, inverse_frequency_weights
from tasks.longtail._train_loop import LossContext

COUNTS = [500, 180, 60, 20, 7]  # a long tail, C = 5


def make_ctx(counts: list[int] = COUNTS, progress: float = 0.0, dtype: torch.dtype = torch.float64) -> LossContext:
    c = torch.tensor(counts, dtype=dtype)
    return LossContext(prior=c / c.sum(), counts=c, progress=progress)


def batch(seed: int, n: int = 16, c: int = 5, scale: float = 3.0, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=dtype) * scale
    y = torch.randint(0, c, (n,), generator=g)
    return logits, y


def ce_rows(z: list[float], y: int) -> float:
    """−log softmax(z)_y by hand (log-sum-exp with the max taken out)."""
    m = max(z)
    return m + math.log(sum(math.exp(v - m) for v in z)) - z[y]


def ref_mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --- cross-entropy, focal, logit adjustment --------------------------------------------------


def test_erm_is_cross_entropy() -> None:
    logits, y = batch(0)
    ref = ref_mean([ce_rows(r, int(t)) for r, t in zip(logits.tolist(), y)])
    assert ERM().loss(logits, y, make_ctx()).item() == pytest.approx(ref, abs=1e-12)
    assert torch.allclose(ERM().loss(logits, y, make_ctx()), torch.nn.functional.cross_entropy(logits, y), atol=1e-14, rtol=0)


def test_focal_gamma_zero_is_cross_entropy_exactly() -> None:
    logits, y = batch(1, dtype=torch.float32)
    focal = Focal(gamma=0.0).loss(logits, y, make_ctx(dtype=torch.float32))
    assert torch.equal(focal, cross_entropy(logits, y))  # (1−p)^0 == 1 exactly: bit-identical
    assert (focal - torch.nn.functional.cross_entropy(logits, y)).abs().item() <= 1e-6


def test_focal_matches_formula() -> None:
    logits, y = batch(2)
    gamma = 2.0
    ref = []
    for z, t in zip(logits.tolist(), y.tolist()):
        log_p = -ce_rows(z, t)
        ref.append(-((1.0 - math.exp(log_p)) ** gamma) * log_p)
    assert Focal(gamma=gamma).loss(logits, y, make_ctx()).item() == pytest.approx(ref_mean(ref), abs=1e-12)


def test_logit_adjust_loss_is_ce_on_shifted_logits() -> None:
    logits, y = batch(3)
    ctx = make_ctx()
    tau = 1.5
    log_pi = [math.log(n / sum(COUNTS)) for n in COUNTS]
    ref = ref_mean([ce_rows([v + tau * lp for v, lp in zip(z, log_pi)], t) for z, t in zip(logits.tolist(), y.tolist())])
    assert LogitAdjustLoss(tau=tau).loss(logits, y, ctx).item() == pytest.approx(ref, abs=1e-12)
    shifted = torch.nn.functional.cross_entropy(logits + tau * ctx.log_prior, y)
    assert torch.allclose(LogitAdjustLoss(tau=tau).loss(logits, y, ctx), shifted, atol=1e-14, rtol=0)


def test_logit_adjust_posthoc_subtracts_log_prior() -> None:
    logits = np.random.default_rng(4).normal(size=(8, 5))
    log_prior = np.log(np.array(COUNTS) / sum(COUNTS))
    out = LogitAdjustPosthoc(tau=0.5).postprocess(logits, log_prior)
    for i in range(8):
        for c in range(5):
            assert out[i, c] == pytest.approx(logits[i, c] - 0.5 * log_prior[c], abs=1e-15)


# --- kexue.fm/archives/7708: re-weighting acts outside the log, logit adjustment inside ----------


def test_7708_logit_adjustment_is_ce_with_pairwise_additive_margins() -> None:
    """−log softmax(z + τ log π)_y == log(1 + Σ_{j≠y} exp(z_j − z_y + τ·log(π_j/π_y))).

    That is, the logit-adjusted loss is plain CE in which the target logit is left as it is and
    every other logit j is offset by the additive margin τ·log(π_j/π_y) (softmax is invariant to
    adding −τ·log π_y to every logit): a tail target (small π_y) must beat head classes by
    τ·log(π_j/π_y) > 0, a head target gets a negative margin. No multiplicative weight appears.
    """
    logits, y = batch(5)
    tau = 1.0
    pi = [n / sum(COUNTS) for n in COUNTS]
    la = LogitAdjustLoss(tau=tau)
    for z, t in zip(logits.tolist(), y.tolist()):
        pairwise = math.log1p(sum(math.exp(z[j] - z[t] + tau * math.log(pi[j] / pi[t])) for j in range(5) if j != t))
        one = la.loss(torch.tensor([z], dtype=torch.float64), torch.tensor([t]), make_ctx())
        assert one.item() == pytest.approx(pairwise, abs=1e-12)
        offsets = [z[j] + (tau * math.log(pi[j] / pi[t]) if j != t else 0.0) for j in range(5)]
        assert one.item() == pytest.approx(ce_rows(offsets, t), abs=1e-12)


def test_7708_reweighting_multiplies_outside_the_log_la_changes_the_softmax() -> None:
    logits, y = batch(6, n=64)
    ctx = make_ctx()
    w = inverse_frequency_weights(ctx.counts)
    ce_i = torch.tensor([ce_rows(z, t) for z, t in zip(logits.tolist(), y.tolist())], dtype=torch.float64)

    # Re-weighting: loss_i = w_{y_i} · CE_i — the ratio to CE is one constant per class ...
    z = logits.clone().requires_grad_(True)
    rw_i = torch.stack([Reweight().loss(z[i : i + 1], y[i : i + 1], ctx) for i in range(len(y))])
    assert torch.allclose(rw_i.detach(), w[y] * ce_i, atol=1e-12, rtol=0)
    # ... and its gradient is w_y·(softmax(z) − e_y): same softmax, rescaled step.
    (grad_rw,) = torch.autograd.grad(rw_i.sum(), z)
    onehot = torch.nn.functional.one_hot(y, 5).double()
    assert torch.allclose(grad_rw, w[y][:, None] * (logits.softmax(-1) - onehot), atol=1e-12, rtol=0)

    # Logit adjustment: the ratio LA_i / CE_i is not constant within a class (no weight w_y
    # reproduces it), and its gradient is softmax(z + τ log π) − e_y: a different softmax.
    la_i = torch.stack([LogitAdjustLoss().loss(z[i : i + 1], y[i : i + 1], ctx) for i in range(len(y))])
    ratio = la_i.detach() / ce_i
    spread = [float(ratio[y == c].max() - ratio[y == c].min()) for c in range(5) if int((y == c).sum()) > 1]
    assert max(spread) > 0.1
    (grad_la,) = torch.autograd.grad(la_i.sum(), z)
    assert torch.allclose(grad_la, (logits + ctx.log_prior).softmax(-1) - onehot, atol=1e-12, rtol=0)


# --- re-weighting ------------------------------------------------------------------------------


def test_reweight_weights_and_loss() -> None:
    ctx = make_ctx()
    w = inverse_frequency_weights(ctx.counts).tolist()
    n_total, c = sum(COUNTS), len(COUNTS)
    for wc, nc in zip(w, COUNTS):
        assert wc == pytest.approx(n_total / (c * nc), rel=1e-12)  # w_c ∝ 1/n_c
    assert sum(wc * nc for wc, nc in zip(w, COUNTS)) / n_total == pytest.approx(1.0, abs=1e-12)
    logits, y = batch(7)
    ref = ref_mean([w[t] * ce_rows(z, t) for z, t in zip(logits.tolist(), y.tolist())])
    assert Reweight().loss(logits, y, ctx).item() == pytest.approx(ref, abs=1e-12)
    # balanced counts: every weight is 1 and the loss is cross-entropy
    assert Reweight().loss(logits, y, make_ctx([10] * 5)).item() == pytest.approx(ERM().loss(logits, y, ctx).item(), abs=1e-12)


def test_class_balanced_weights_and_loss() -> None:
    beta = 0.999
    raw = [(1 - beta) / (1 - beta**n) for n in COUNTS]
    ref_w = [r / sum(raw) * len(COUNTS) for r in raw]
    ctx = make_ctx()
    w = class_balanced_weights(ctx.counts, beta).tolist()
    assert w == pytest.approx(ref_w, rel=1e-12)
    assert sum(w) == pytest.approx(len(COUNTS), abs=1e-12)
    assert all(a > b for a, b in zip(w[1:], w[:-1]))  # rarer class, larger weight
    logits, y = batch(8)
    ref = ref_mean([ref_w[t] * ce_rows(z, t) for z, t in zip(logits.tolist(), y.tolist())])
    assert ClassBalanced(beta=beta).loss(logits, y, ctx).item() == pytest.approx(ref, abs=1e-12)
    # β = 0: all weights 1 (cross-entropy); β → 1: weights → inverse frequency (normalised to sum C)
    assert ClassBalanced(beta=0.0).loss(logits, y, ctx).item() == pytest.approx(ERM().loss(logits, y, ctx).item(), abs=1e-12)
    inv = [1 / n for n in COUNTS]
    assert class_balanced_weights(ctx.counts, 1 - 1e-9).tolist() == pytest.approx([v / sum(inv) * 5 for v in inv], rel=1e-5)


def test_class_balanced_rejects_beta_one() -> None:
    from harness.common.errors import UserError

    with pytest.raises(UserError):
        ClassBalanced(beta=1.0)


# --- LDAM-DRW ----------------------------------------------------------------------------------


def test_ldam_margins() -> None:
    m = ldam_margins(make_ctx().counts, 0.5).tolist()
    assert max(m) == pytest.approx(0.5, abs=1e-15)
    assert m[-1] == max(m)  # the rarest class gets the largest margin
    for a in range(5):
        for b in range(5):
            assert m[a] / m[b] == pytest.approx((COUNTS[b] / COUNTS[a]) ** 0.25, rel=1e-12)


def ldam_reference(logits: torch.Tensor, y: torch.Tensor, s: float, max_margin: float, weights: list[float] | None) -> float:
    delta = [n ** -0.25 for n in COUNTS]
    delta = [d * max_margin / max(delta) for d in delta]
    losses, ws = [], []
    for z, t in zip(logits.tolist(), y.tolist()):
        zm = [s * (v - (delta[t] if j == t else 0.0)) for j, v in enumerate(z)]
        losses.append(ce_rows(zm, t))
        ws.append(1.0 if weights is None else weights[t])
    return sum(w * l for w, l in zip(ws, losses)) / sum(ws)


@pytest.mark.parametrize("s", [1.0, 30.0])
def test_ldam_drw_loss_and_switch_at_drw_start(s: float) -> None:
    logits, y = batch(9, scale=0.3)
    method = LDAMDRW(s=s)
    beta = method.p["beta"]
    raw = [(1 - beta) / (1 - beta**n) for n in COUNTS]
    cb = [r / sum(raw) * len(COUNTS) for r in raw]
    plain, weighted = ldam_reference(logits, y, s, 0.5, None), ldam_reference(logits, y, s, 0.5, cb)
    assert abs(plain - weighted) > 1e-3
    for progress, ref in [(0.0, plain), (0.5, plain), (0.7999, plain), (0.8, weighted), (0.95, weighted)]:
        assert method.loss(logits, y, make_ctx(progress=progress)).item() == pytest.approx(ref, abs=1e-10), progress
    # no margin, no re-weighting, s = 1: cross-entropy
    ce = LDAMDRW(s=1.0, max_margin=0.0, drw_start=2.0).loss(logits, y, make_ctx(progress=0.9))
    assert ce.item() == pytest.approx(ERM().loss(logits, y, make_ctx()).item(), abs=1e-14)


# --- flooding ----------------------------------------------------------------------------------


def test_flooding_above_and_below_the_flood_level() -> None:
    b = 0.1
    method = Flooding(b=b)
    g = torch.Generator().manual_seed(10)
    y = torch.randint(0, 5, (32,), generator=g)
    onehot = torch.nn.functional.one_hot(y, 5).double()
    noise = torch.randn(32, 5, generator=g, dtype=torch.float64)
    for margin, above in [(0.5, True), (8.0, False)]:  # small margin: CE > b; large: CE < b
        z = (margin * onehot + 0.1 * noise).requires_grad_(True)
        ce = ref_mean([ce_rows(r, t) for r, t in zip(z.tolist(), y.tolist())])
        assert (ce > b) == above
        loss = method.loss(z, y, make_ctx())
        assert loss.item() == pytest.approx(ce if above else 2 * b - ce, abs=1e-12)
        (grad_flood,) = torch.autograd.grad(loss, z)
        (grad_ce,) = torch.autograd.grad(cross_entropy(z, y), z)
        # above b: the gradient of CE (descent); below b: its negative (ascent)
        assert torch.allclose(grad_flood, grad_ce if above else -grad_ce, atol=1e-15, rtol=0)
        assert grad_ce.abs().max() > 0


def test_flooding_zero_level_is_cross_entropy() -> None:
    logits, y = batch(11)
    assert Flooding(b=0.0).loss(logits, y, make_ctx()).item() == pytest.approx(ERM().loss(logits, y, make_ctx()).item(), abs=1e-14)


# --- CAN ---------------------------------------------------------------------------------------


def can_reference(p: np.ndarray, q: np.ndarray, k: int, tau: float, alpha: float, iters: int) -> np.ndarray:
    """kexue.fm/archives/8728, literally: one unconfident sample at a time against A₀."""
    n, c = p.shape
    kk = min(k, c)
    unc = np.empty(n)
    for i in range(n):
        top = sorted(p[i])[-kk:]
        top = [v / sum(top) for v in top]
        unc[i] = -sum(v * math.log(v) for v in top if v > 0) / math.log(kk)
    a0 = p[unc < tau]
    out = p.copy()
    for i in np.flatnonzero(unc >= tau):
        big = np.concatenate([a0, p[i][None]], axis=0)
        for _ in range(iters):
            big = big**alpha
            big = big / big.sum(axis=0, keepdims=True) * q[None]
            big = big / big.sum(axis=1, keepdims=True)
        out[i] = big[-1]
    return out


def test_can_hand_example_uniform_prior() -> None:
    """C = 2, q = (½, ½), α = 1, one round. A₀ = [(0.9, 0.1)], b = (0.5, 0.5).

    Column sums of [A₀; b]: (1.4, 0.6). Column step on b: (0.5/1.4·½, 0.5/0.6·½) ∝ (5/14, 5/6)
    ∝ (3, 7). Row step: (0.3, 0.7) — the unsure sample leans to the class A₀ under-uses.
    """
    logits = np.log(np.array([[0.9, 0.1], [0.5, 0.5]]))
    method = CAN(prior="uniform")
    out = method.postprocess(logits, np.log(np.array([0.8, 0.2])))  # prior=uniform ignores π
    assert out[1] == pytest.approx([0.3, 0.7], abs=1e-12)
    assert np.array_equal(out[0], softmax(logits)[0])
    # The same with the training prior when π is uniform (the default prior = train).
    out_train = CAN().postprocess(logits, np.log(np.array([0.5, 0.5])))
    assert out_train[1] == pytest.approx([0.3, 0.7], abs=1e-12)


def test_can_top_k_entropy() -> None:
    p = np.array([[0.7, 0.2, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
    u = topk_entropy(p, 3)
    h0 = -sum(v * math.log(v) for v in [0.7, 0.2, 0.1]) / math.log(3)
    h1 = -3 * (1 / 3) * math.log(1 / 3) / math.log(3)
    assert u == pytest.approx([h0, h1, 0.0], abs=1e-12)
    assert topk_entropy(p[:, :2], 3)[1] == pytest.approx(1.0, abs=1e-12)  # k capped at C


@pytest.mark.parametrize(("alpha", "iters"), [(1.0, 1), (0.5, 1), (1.0, 3), (2.0, 2)])
def test_can_matches_per_sample_reference(alpha: float, iters: int) -> None:
    rng = np.random.default_rng(12)
    logits = rng.normal(size=(60, 6)) * rng.uniform(0.2, 4.0, size=(60, 1))  # a mix of sure and unsure rows
    counts = np.array([300, 120, 50, 20, 8, 3])
    log_prior = np.log(counts / counts.sum())
    method = CAN(alpha=alpha, iters=iters, tau=0.8)
    out = method.postprocess(logits, log_prior)
    p = softmax(logits)
    ref = can_reference(p, counts / counts.sum(), 3, 0.8, alpha, iters)
    np.testing.assert_allclose(out, ref, atol=1e-12, rtol=0)
    unconfident = topk_entropy(p, 3) >= 0.8
    assert 5 < unconfident.sum() < 55
    assert np.array_equal(out[~unconfident], p[~unconfident])  # confident rows untouched
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-12)


def test_can_corrects_each_unconfident_sample_separately() -> None:
    """Adding more unconfident rows does not change the correction of the others."""
    rng = np.random.default_rng(13)
    logits = rng.normal(size=(40, 4)) * rng.uniform(0.2, 4.0, size=(40, 1))
    log_prior = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    method = CAN(tau=0.85)
    full = method.postprocess(logits, log_prior)
    unconfident = np.flatnonzero(topk_entropy(softmax(logits), 3) >= 0.85)
    keep = np.setdiff1d(np.arange(40), unconfident[: len(unconfident) // 2])
    part = method.postprocess(logits[keep], log_prior)
    np.testing.assert_allclose(part, full[keep], atol=1e-13, rtol=0)


def test_can_diagnostics() -> None:
    logits = np.log(np.array([[0.9, 0.1], [0.5, 0.5], [0.05, 0.95], [0.45, 0.55]]))
    y = np.array([0, 0, 1, 0])
    method = CAN(prior="uniform")
    scores = method.postprocess(logits, np.log(np.array([0.5, 0.5])))
    d = method.diagnostics(logits, scores, np.log(np.array([0.5, 0.5])), y)
    # confident: rows 0, 2 (both right); unconfident: rows 1 (argmax 0 → right), 3 (argmax 1 → wrong)
    assert d["can_unconfident_fraction"] == 0.5
    assert d["can_confident_accuracy"] == 1.0
    assert d["can_unconfident_accuracy"] == 0.5
    # A₀ = {(.9,.1), (.05,.95)}: column sums (.95, 1.05) + b. Row 1 (.5,.5) → ∝ (.5/1.45, .5/1.55):
    # stays class 0; row 3 (.45,.55) → ∝ (.45/1.4, .55/1.6) = (.3214, .34375): stays class 1.
    assert d["can_changed"] == 0.0
    assert all(math.isfinite(v) for v in d.values())
    # every row unconfident: no confident accuracy reported (rather than NaN)
    d_all = CAN(tau=0.0).diagnostics(logits, logits, np.log(np.array([0.5, 0.5])), y)
    assert "can_confident_accuracy" not in d_all and d_all["can_unconfident_fraction"] == 1.0


def test_post_hoc_methods_declare_the_cell_they_read() -> None:
    from harness.plan.contract import Dependency
    from methods.longtail.erm import ERM
    from methods.longtail.logit_adjust import LogitAdjustPosthoc

    assert CAN().dependency() == Dependency("erm") and CAN(base="logit_adjust").dependency() == Dependency("logit_adjust")
    assert LogitAdjustPosthoc(base="logit_adjust").dependency() == Dependency("logit_adjust")
    assert ERM().dependency() is None


# --- the registry contract: method modules do not import torch -----------------------------------


def test_method_modules_do_not_import_torch() -> None:
    code = "import sys, methods.longtail; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_non_finite_scores_fail_the_cell_instead_of_scoring_argmax(tmp_path) -> None:
    """Before: NaN scores became argmax = class 0 and were stored as `ok` (balanced accuracy
    0.1000 on every seed, which then 'refuted' a claim); 10 % NaN rows scored 0.8612."""
    import numpy as np

    from harness.plan import registry
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, Status, run_cell
    from harness.store.store import Store
    from methods.longtail.hooks import LongTailMethod

    class NanScores(LongTailMethod):
        """Post-processing that returns NaN on every tenth row."""

        name = "nan_scores_test"

        def postprocess(self, logits, log_prior):  # type: ignore[no-untyped-def]
            scores = np.array(logits, dtype=float)
            scores[::10] = np.nan
            return scores

    registry.register(NanScores)
    try:
        store = Store(tmp_path / "s")
        outcome = run_cell(Cell.build("gaussian-lt", "nan_scores_test", 0, "smoke"), store, RunOptions(progress=False))
        assert outcome.status is Status.FAILED and "non-finite scores on" in outcome.error
        assert not len(store.load()) and store.has_failed(outcome.cell)
    finally:
        registry._methods.pop("nan_scores_test", None)


def test_can_batch_corrects_the_unconfident_rows_together() -> None:
    """can_batch stacks every unconfident row under A₀ at once; with one unconfident row it is
    CAN itself, with several the rows see each other's mass in the column step."""
    import numpy as np

    from methods.longtail.can import CAN, CANBatch

    rng = np.random.default_rng(0)
    a0, q = rng.dirichlet(np.ones(4), 12), np.array([0.4, 0.3, 0.2, 0.1])
    one, many = rng.dirichlet(np.ones(4), 1), rng.dirichlet(np.ones(4), 3)
    np.testing.assert_allclose(CANBatch().correct(a0, one, q), CAN().correct(a0, one, q), rtol=1e-12)
    stack = np.vstack([a0, many])  # one round written out: columns to q, then rows to 1
    s = stack / stack.sum(0) * q
    expected = (s / s.sum(1, keepdims=True))[len(a0):]
    np.testing.assert_allclose(CANBatch().correct(a0, many, q), expected, rtol=1e-12)
    assert not np.allclose(CANBatch().correct(a0, many, q), CAN().correct(a0, many, q))
