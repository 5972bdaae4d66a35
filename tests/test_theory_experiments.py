"""The seeded ``theory`` experiments: each method's loss, perturbation or step against an
independent computation (NumPy float64, finite differences, an explicit per-position model, a
rescaled network), and the task machinery they rely on (splits, views, the bag-model maps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from methods.theory.exp_adversarial import FGM, GradientPenalty, NoAdversarial, fgm_delta, position_penalty
from methods.theory.exp_contrastive import FlatNCE, InfoNCE
from methods.theory.exp_sgd import (
    Alternating,
    Flooding,
    GradPenalty,
    alternating_steps,
    flooded,
    l2_penalty,
    matched_penalty,
    weissi_penalty,
)
from tasks.longtail._text_model import BagOfNgrams
from tasks.theory.experiments._adversarial import Batch, Texts
from tasks.theory.experiments._contrastive import log10_xi, similarity_rows, views
from tasks.theory.experiments._digits import per_class_split
from tasks.theory.experiments._sgd import Batch as SGDBatch
from tasks.theory.experiments._sgd import mlp


def scores_and_positives(seed: int = 0, b: int = 4, scale: float = 5.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(b, 6, generator=g, dtype=torch.float64), torch.randn(b, 6, generator=g, dtype=torch.float64)
    return similarity_rows(z1, z2, 1.0 / scale)


# -- 8586: InfoNCE and FlatNCE ------------------------------------------------------------------


def test_infonce_is_cross_entropy_and_flatnce_is_log_xi() -> None:
    scores, pos = scores_and_positives()
    s = scores.numpy()
    rows = np.arange(len(s))
    xi = np.array([sum(np.exp(s[i, j] - s[i, pos[i]]) for j in range(len(s)) if j not in (i, int(pos[i]))) for i in rows])
    assert InfoNCE().contrastive_loss(scores, pos).item() == pytest.approx(np.mean(np.log1p(xi)), rel=1e-12)
    assert FlatNCE().contrastive_loss(scores, pos).item() == pytest.approx(np.mean(np.log(xi)), rel=1e-12)
    assert log10_xi(scores, pos).numpy() == pytest.approx(np.log10(xi), rel=1e-12)


def test_flatnce_gradient_equals_the_stop_gradient_form() -> None:
    """∇ log ξ = ∇(ξ/sg(ξ)), the paper's form, row by row (the article's identity)."""
    scores, pos = scores_and_positives(1)
    a = scores.clone().requires_grad_(True)
    FlatNCE().contrastive_loss(a, pos).backward()
    b = scores.clone().requires_grad_(True)
    rows = torch.arange(len(pos))
    xi = (b.index_put((rows, pos), b.new_tensor(float("-inf"))) - b[rows, pos][:, None]).exp().sum(1)
    (xi / xi.detach()).mean().backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-12)
    separated = torch.zeros_like(scores).fill_diagonal_(float("-inf")).index_put((rows, pos), scores.new_tensor(20.0))
    assert FlatNCE().contrastive_loss(separated, pos).item() == pytest.approx(np.log(len(pos) - 2) - 20)  # log ξ < 0: negative


def test_crop_at_full_area_without_noise_is_the_identity() -> None:
    x = torch.rand(5, 64)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(views(x, g, min_area=1.0, noise=0.0), x, atol=1e-6)
    moved = views(x, g, min_area=0.5, noise=0.0)
    assert moved.shape == x.shape and not torch.allclose(moved, x)


def test_per_class_split_is_disjoint_complete_and_fixed() -> None:
    y = np.repeat(np.arange(3), [10, 12, 11])
    parts = per_class_split(y, (2, 3), seed=7)
    assert [len(p) for p in parts] == [6, 9, len(y) - 15]
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(y)))
    assert all((np.bincount(y[p], minlength=3) == k).all() for p, k in zip(parts[:2], (2, 3)))
    assert all((a == b).all() for a, b in zip(parts, per_class_split(y, (2, 3), seed=7)))


# -- 7234: FGM and the gradient penalty on the bag model ----------------------------------------


def tiny_batch(dropout: float = 0.0) -> tuple[BagOfNgrams, Batch, list[np.ndarray], torch.Tensor]:
    torch.manual_seed(0)
    bags = [np.array([1, 3, 3, 7]), np.array([3, 5]), np.array([0, 1, 1, 1, 9, 2])]
    model = BagOfNgrams(buckets=12, dim=4, n_classes=3, dropout=dropout)
    torch.nn.init.normal_(model.head.weight)  # a zero head has a zero input gradient
    y = torch.tensor([0, 2, 1])
    return model, Batch(model, Texts(np.array(bags, dtype=object)), [0, 1, 2], y), bags, y


def test_row_gradient_and_shift_match_the_embedding_matrix() -> None:
    """∂L/∂E on the touched rows = Aᵀ∂L/∂h, and h(E + δ) − h(E) = A·δ (zero elsewhere)."""
    model, batch, _, _ = tiny_batch()
    loss = batch.loss(batch.h)
    (grad_h,) = torch.autograd.grad(loss, batch.h, retain_graph=True)
    loss.backward()
    dense = model.embed.weight.grad.to_dense()
    rows = batch.rows
    assert torch.allclose(batch.row_gradient(grad_h), dense[rows], atol=1e-7)
    untouched = torch.ones(12, dtype=torch.bool).index_fill(0, rows, False)
    assert dense[untouched].abs().max() == 0
    delta = torch.randn(len(rows), 4)
    with torch.no_grad():
        before = batch.h.detach().clone()
        model.embed.weight[rows] += delta
        after = model.embed(batch.ids, batch.offsets, per_sample_weights=batch.weights)
    assert torch.allclose(after - before, batch.shift(delta), atol=1e-6)


def test_fgm_perturbation_has_norm_eps_over_the_whole_matrix() -> None:
    g = torch.randn(7, 4)
    assert fgm_delta(g, 0.5).norm().item() == pytest.approx(0.5, rel=1e-6)
    assert torch.allclose(fgm_delta(g, 0.5) / 0.5, g / g.norm())


def test_fgm_descends_on_the_perturbed_loss() -> None:
    """The loss FGM returns is L(E + Δ) with Δ = ε∇_E L/‖∇_E L‖, evaluated on a perturbed copy."""
    model, batch, _, y = tiny_batch()
    loss, clean = FGM(eps=0.5).objective(batch)
    assert clean.item() == pytest.approx(batch.loss(batch.h).item(), rel=1e-6)
    weight = model.embed.weight.detach().clone().requires_grad_(True)
    h = F.embedding_bag(batch.ids, weight, batch.offsets, mode="sum", per_sample_weights=batch.weights)
    (grad_e,) = torch.autograd.grad(F.cross_entropy(model.head(h), y), weight)
    perturbed = weight.detach() + 0.5 * grad_e / grad_e.norm()
    h_adv = F.embedding_bag(batch.ids, perturbed, batch.offsets, mode="sum", per_sample_weights=batch.weights)
    assert loss.item() == pytest.approx(F.cross_entropy(model.head(h_adv), y).item(), rel=1e-5)
    assert loss.item() > clean.item()  # a step up the gradient raises the loss
    none_loss, _ = NoAdversarial().objective(batch)
    assert none_loss.item() == pytest.approx(clean.item(), rel=1e-6)


def test_gradient_penalty_equals_positions_and_finite_differences() -> None:
    """½ε Σ_pos ‖∂L/∂x_pos‖²: from an explicit model over token positions, and from central
    finite differences of L in the bag embedding (float64)."""
    model, batch, bags, y = tiny_batch()
    model.double()
    batch = Batch(model, Texts(np.array(bags, dtype=object)), [0, 1, 2], y)
    loss, clean = GradientPenalty(eps=1.0).objective(batch)
    penalty = (loss - clean).item() * 2
    # explicit positions: each occurrence has its own vector, h is their mean
    xs = [model.embed.weight[torch.as_tensor(b)].detach().clone().requires_grad_(True) for b in bags]
    h = torch.stack([x.mean(0) for x in xs])
    grads = torch.autograd.grad(F.cross_entropy(model.head(h), y), xs)
    assert penalty == pytest.approx(sum(g.square().sum().item() for g in grads), rel=1e-9)
    # finite differences of L in h
    h0, step = batch.h.detach(), 1e-5
    grad_fd = torch.zeros_like(h0)
    for i in range(h0.shape[0]):
        for k in range(h0.shape[1]):
            e = torch.zeros_like(h0)
            e[i, k] = step
            grad_fd[i, k] = (F.cross_entropy(model.head(h0 + e), y) - F.cross_entropy(model.head(h0 - e), y)) / (2 * step)
    lengths = torch.tensor([len(b) for b in bags], dtype=torch.float64)
    assert penalty == pytest.approx(position_penalty(grad_fd, lengths).item(), rel=1e-6)


# -- 7681: WEISSI and L2 ------------------------------------------------------------------------


def test_weissi_is_invariant_under_weight_scale_shift_and_l2_is_not() -> None:
    torch.manual_seed(0)
    net = mlp(16).double()
    x = torch.randn(9, 64, dtype=torch.float64)
    before = net(x)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    w0 = [m.weight.detach().clone() for m in linears]
    gammas, running = (4.0, 0.5, 0.5), 1.0
    with torch.no_grad():
        for m, gamma in zip(linears, gammas):
            running *= gamma
            m.weight.mul_(gamma)
            m.bias.mul_(running)  # the bias of layer l scales by γ₁…γₗ
    w1 = [m.weight.detach() for m in linears]
    assert torch.allclose(net(x), before, atol=1e-12)  # Π γ = 1: the same function
    for lam2 in (0.0, 0.3):
        assert weissi_penalty(w1, 0.7, lam2).item() == pytest.approx(weissi_penalty(w0, 0.7, lam2).item(), rel=1e-12)
    assert weissi_penalty(w0, 1.0, 0.0).item() == pytest.approx(sum(np.log(np.linalg.norm(w.numpy())) for w in w0), rel=1e-12)
    assert abs(l2_penalty(w1).item() - l2_penalty(w0).item()) > 1.0


# -- 7643: flooding, the alternating pair and its matched penalty --------------------------------


def test_flooding_is_l_above_b_and_ascends_below() -> None:
    for value, b in ((0.3, 0.1), (0.05, 0.1), (0.2, 0.0)):
        loss = torch.tensor(value, requires_grad=True)
        out = flooded(loss, b)
        out.backward()
        assert out.item() == pytest.approx(abs(value - b) + b)
        assert loss.grad.item() == (1.0 if value > b else -1.0)
    assert Flooding().settings()[0] == 0.0  # the grid holds b = 0, plain SGD


def sgd_batch(seed: int = 0, lr: float = 0.1) -> SGDBatch:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Tanh(), torch.nn.Linear(8, 10)).double()  # smooth: no ReLU kinks inside a step
    return SGDBatch(net, torch.randn(16, 64, dtype=torch.float64), torch.randint(0, 10, (16,)), lr)


def displacement(rule: object, lr: float, rho: float) -> torch.Tensor:
    batch = sgd_batch(lr=lr)
    start = torch.cat([p.detach().flatten() for p in batch.params])
    rule.step(batch, rho)  # type: ignore[attr-defined]
    return torch.cat([p.detach().flatten() for p in batch.params]) - start


def test_alternating_pair_matches_the_penalty_step_to_third_order() -> None:
    """Descent by ε/(1−ρ) then ascent by ρε/(1−ρ) = one step of ε on L + λ‖∇L‖², λ = ρε/(2(1−ρ)²), + O(ε³)."""
    assert alternating_steps(0.1, 0.5) == pytest.approx((0.2, 0.1))
    assert matched_penalty(0.1, 0.5) == pytest.approx(0.2 * 0.1 / (2 * 0.1))
    eps = np.array([0.04, 0.02, 0.01])
    gaps = [(displacement(Alternating(), e, 0.5) - displacement(GradPenalty(), e, 0.5)).norm().item() for e in eps]
    moves = [displacement(GradPenalty(), e, 0.5).norm().item() for e in eps]
    assert np.polyfit(np.log(eps), np.log(gaps), 1)[0] > 2.7  # the residual is O(ε³)…
    assert gaps[-1] < 1e-3 * moves[-1]  # … and small next to the step itself
