"""The exact cells of the ``theory`` family, each constant checked against a computation written
here, independently of the code under test (a closed form against quadrature, autodiff against
finite differences, a formula against Monte Carlo), with fixed seeds, on the CPU."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from methods.theory import (
    activations,
    contrastive,
    optimizers,
    perturbations,
    regularisers,
    squareplus,
    steps,
    wordvec,
)

torch = pytest.importorskip("torch")

# the methods by name, imported directly (not through the registry, which loads every family)
METHODS = {cls.name: cls for module in (activations, contrastive, optimizers, perturbations, regularisers, squareplus, steps, wordvec)
           for cls in vars(module).values() if isinstance(cls, type) and cls.__module__ == module.__name__ and hasattr(cls, "name")}


def method(name: str):  # a method instance at its default params
    return METHODS[name]()


# -- 8833 SquarePlus -------------------------------------------------------------------------------
def _gap(x: np.ndarray, b: float) -> np.ndarray:
    return (x + np.sqrt(x * x + b)) / 2 - np.log1p(np.exp(x))


def test_squareplus_bound_is_four_ln2_squared() -> None:
    from tasks.theory.squareplus import measured_bound

    bound, where = measured_bound()
    assert bound == pytest.approx(4 * math.log(2) ** 2, abs=1e-12)
    assert abs(where) < 1e-6
    x = np.linspace(-20, 20, 400001)
    assert _gap(x, 4 * math.log(2) ** 2).min() >= -1e-15  # the bound holds …
    assert _gap(x, 0.99 * 4 * math.log(2) ** 2).min() < 0  # … and is tight


def _equioscillating_b() -> float:
    """The gap is even in x, its minimum is at 0 and its maximum at some x > 0: the min–max b makes
    the two equal (found by root-finding, not by minimising a maximum)."""

    def top(b: float) -> float:
        res = optimize.minimize_scalar(lambda x: -_gap(np.array([x]), b)[0], bounds=(0.5, 12), method="bounded", options={"xatol": 1e-12})
        return -float(res.fun)

    return optimize.brentq(lambda b: top(b) + _gap(np.array([0.0]), b)[0], 1.0, 2.0, xtol=1e-14)


@pytest.mark.parametrize("name", ["powell-grid", "bounded-search"])
def test_squareplus_minmax_fit(name: str) -> None:
    from tasks.theory.squareplus import max_gap

    b = method(name).solve(max_gap, "smoke")
    reference = _equioscillating_b()
    assert b == pytest.approx(reference, abs=2e-8)
    assert 1.52382103 <= b < 1.52382104  # the article's digits
    assert -_gap(np.array([0.0]), reference)[0] == pytest.approx(0.075931, abs=1e-6)


@pytest.mark.parametrize("name", ["numpy-cpu", "torch-cpu"])
def test_speed_backends_compute_both_functions(name: str) -> None:
    backend = method(name)
    x = backend.values(1000, seed=0)
    ref = np.asarray(x, np.float64)
    soft = np.asarray(backend.softplus(x), np.float64)
    square = np.asarray(backend.squareplus(x, 1.5), np.float64)
    assert str(x.dtype).endswith("float32")
    np.testing.assert_allclose(soft, np.logaddexp(0, ref), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(square, (ref + np.sqrt(ref**2 + 1.5)) / 2, rtol=1e-6, atol=1e-6)


# -- 7695 word-vector dimension --------------------------------------------------------------------
def _h_bessel(n: float) -> float:
    nu = n / 2 - 1
    log_mean = math.lgamma(n / 2) + nu * math.log(2 / n) + math.log(special.ive(nu, n)) + n
    return log_mean - n * special.ive(nu + 1, n) / special.ive(nu, n)


def _h_plain_quadrature(n: int) -> float:
    """h_n straight from the definition at moderate n (no log-shift), in another variable: c = cos θ."""
    def density(c: float) -> float:
        return (1 - c * c) ** ((n - 3) / 2)

    z = integrate.quad(lambda c: density(c) * math.exp(n * c), -1, 1, epsrel=1e-12)[0]
    m = integrate.quad(lambda c: n * c * density(c) * math.exp(n * c), -1, 1, epsrel=1e-12)[0]
    norm = integrate.quad(density, -1, 1, epsrel=1e-12)[0]
    return math.log(z / norm) - m / z


@pytest.mark.parametrize("n,article", [(32, -7.77471), (64, -15.4734), (96, -23.1726), (128, -30.8718), (256, -61.6692), (512, -123.264)])
def test_hn_table(n: int, article: float) -> None:
    from methods.theory._entropy import h_quadrature

    assert h_quadrature(n) == pytest.approx(_h_bessel(n), abs=1e-8)
    assert method("bessel-closed-form").h(n) == pytest.approx(_h_bessel(n), abs=1e-8)
    assert h_quadrature(n) == pytest.approx(article, abs=0.5 * 10 ** (math.floor(math.log10(abs(article))) - 5))
    if n <= 64:
        assert h_quadrature(n) == pytest.approx(_h_plain_quadrature(n), abs=1e-7)


def test_hn_slope_and_rule() -> None:
    from methods.theory._entropy import h_quadrature
    from tasks.theory.wordvec import crossing_dimension, fitted_slope

    limit = -0.5 * math.log((1 + math.sqrt(5)) / 2)
    assert fitted_slope(h_quadrature, (512, 1024, 2048)) == pytest.approx(limit, abs=1e-8)
    assert _h_bessel(4000) / 4000 == pytest.approx(limit, abs=1e-4)  # h_n/n → −½ ln φ, slowly
    n = crossing_dimension(h_quadrature, 1e5)
    assert 2 * math.log(1e5) + _h_bessel(n) == pytest.approx(0, abs=1e-8)
    assert round(n) == 95 and abs(n - 8.33 * math.log(1e5)) < 1


# -- 8796 gradient-norm inequality ------------------------------------------------------------------
def _manual_terms(layers, x, c, act, dact):
    """Per-layer (left, right) of the inequality by hand-written backprop and forward Jacobians (NumPy)."""
    hs, zs, jac = [x], [], [np.eye(len(x))]
    for w, b in layers:
        zs.append(w @ hs[-1] + b)
        hs.append(act(zs[-1]))
        jac.append(dact(zs[-1])[:, None] * (w @ jac[-1]))
    delta = [None] * len(layers)
    upstream = c
    for t in reversed(range(len(layers))):
        delta[t] = upstream * dact(zs[t])  # ∂f/∂z⁽ᵗ⁺¹⁾
        upstream = layers[t][0].T @ delta[t]
    gx2 = float(upstream @ upstream)
    out = []
    for t, (w, _) in enumerate(layers):
        left = gx2 * (1 + hs[t] @ hs[t]) / (np.linalg.norm(w, 2) ** 2 * np.linalg.norm(jac[t], 2) ** 2)
        out.append((left, float(delta[t] @ delta[t]) * (1 + hs[t] @ hs[t])))
    return out


def test_gradnorm_sides_match_manual_backprop() -> None:
    from tasks.theory._mlp import random_mlp
    from tasks.theory.gradnorm import sides

    gen = torch.Generator().manual_seed(0)
    layers = random_mlp([5, 7, 6, 4], gen)
    x = torch.randn(5, generator=gen, dtype=torch.float64)
    c = torch.randn(4, generator=gen, dtype=torch.float64)
    left, right, skipped = sides(layers, torch.tanh, x, c)
    manual = _manual_terms([(w.numpy(), b.numpy()) for w, b in layers], x.numpy(), c.numpy(), np.tanh, lambda z: 1 - np.tanh(z) ** 2)
    assert skipped == 0
    np.testing.assert_allclose(left, [m[0] for m in manual], rtol=1e-10)
    np.testing.assert_allclose(right, [m[1] for m in manual], rtol=1e-10)
    assert all(lo <= hi for lo, hi in manual)  # the inequality, term by term, on the manual numbers


def test_gradnorm_dead_relu_layers_are_skipped() -> None:
    from tasks.theory._mlp import random_mlp
    from tasks.theory.gradnorm import sides

    gen = torch.Generator().manual_seed(1)
    layers = random_mlp([4, 6, 6, 6], gen)
    layers[0] = (layers[0][0], torch.full((6,), -100.0, dtype=torch.float64))  # every first-layer unit off
    left, _, skipped = sides(layers, torch.relu, torch.randn(4, generator=gen, dtype=torch.float64), torch.ones(6, dtype=torch.float64))
    assert skipped == 2 and len(left) == 1  # layers 2 and 3 see ∇ₓh = 0; layer 1 keeps ∇ₓh = I
    assert left[0] == 0.0  # ∇ₓf = 0 there


# -- 10542 batch size and learning rate -------------------------------------------------------------
def _problem():
    from methods.theory._quadratic import quadratic

    return quadratic(6, 1.0, 1.0, 4.0, seed=3)


def test_sgd_eta_star_minimises_the_expected_step() -> None:
    from methods.theory._quadratic import sgd_eta_star

    q = _problem()
    rng = np.random.default_rng(0)
    b = 8.0
    half = rng.standard_normal((100000, len(q.grad)))
    g_batch = q.grad + q.sigma * np.concatenate([half, -half]) / math.sqrt(b)
    m1, m2 = np.mean(g_batch @ q.grad), np.mean(((g_batch @ q.hessian) * g_batch).sum(1))
    assert sgd_eta_star(q, b) == pytest.approx(m1 / m2, rel=0.02)  # argmin of −η·m1 + ½η²·m2


def test_sign_mean_is_erf() -> None:
    from methods.theory._quadratic import sign_mean

    q = _problem()
    rng = np.random.default_rng(1)
    b = 16
    draws = q.grad + q.sigma * rng.standard_normal((200000, b, len(q.grad))).mean(axis=1)
    np.testing.assert_allclose(np.sign(draws).mean(axis=0), sign_mean(q, b), atol=0.006)


def test_signsgd_identities() -> None:
    from tasks.theory.batchsize import (
        beta,
        beta_noise,
        sign_b_noise,
        sign_b_noise2,
        sign_eta_beta_form,
        sign_eta_star,
    )

    q = _problem()
    bn = beta_noise(q)
    assert bn < 1
    assert 1 / sign_b_noise2(q) - 1 / sign_b_noise(q) == pytest.approx(4 / (math.pi * q.kappa**2), rel=1e-12)
    for b in (1.0, 10.0, 300.0):
        mu = np.sign(q.grad) * beta(b, q.kappa)
        direct = float(mu @ q.grad) / sum(q.hessian[i, j] * (1 if i == j else mu[i] * mu[j]) for i in range(6) for j in range(6))
        assert sign_eta_star(q, mu) == pytest.approx(direct, rel=1e-12)
        assert sign_eta_beta_form(q, b) == pytest.approx(direct, rel=1e-12)
    assert beta(sign_b_noise(q), q.kappa) == pytest.approx(bn, rel=1e-12)  # the peak is at β = β_noise


def test_surge_and_data_efficiency_helpers() -> None:
    from tasks.theory.batchsize import fit_data_efficiency, surge

    assert surge(np.array([1.0, 2.0, 3.0, 2.0, 1.5]), 0.05) == (True, 2)
    assert surge(np.array([1.0, 2.0, 3.0, 3.0]), 0.05)[0] is False
    batches = np.logspace(0, 4, 40)
    s_min, e_min = 100.0, 3000.0
    fit = fit_data_efficiency(batches, 1 / (s_min + e_min / batches))
    assert fit[0] == pytest.approx(s_min) and fit[1] == pytest.approx(e_min) and fit[2] < 1e-9


# -- 8586 FlatNCE --------------------------------------------------------------------------------------
def test_flatnce_exact_targets_match_finite_differences() -> None:
    from tasks.theory.flatnce import exact_target

    s = np.array([3.0, 1.0, 0.5, -0.2])
    for target, f in (("log1p_xi", lambda v: math.log1p(np.exp(v[1:] - v[0]).sum())),
                      ("log_xi", lambda v: math.log(np.exp(v[1:] - v[0]).sum()))):
        value, grad = exact_target(s, target)
        assert value == pytest.approx(f(s), rel=1e-14)
        fd = [(f(s + 1e-6 * e) - f(s - 1e-6 * e)) / 2e-6 for e in np.eye(4)]
        np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-10)


def test_stop_gradient_identity_and_float32_collapse() -> None:
    from tasks.theory.flatnce import evaluate, exact_target, scores

    s = scores(40, 8, 20.0)
    _, log_xi_grad = exact_target(s, "log_xi")
    x = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    xi = (x[1:] - x[0]).exp().sum()
    (grad,) = torch.autograd.grad(xi / xi.detach(), x)
    np.testing.assert_allclose(grad.numpy(), log_xi_grad, rtol=1e-12)
    value32, grad32 = evaluate(method("ce-logsumexp").loss, s, torch.float32)
    assert value32 == 0.0 and grad32[0] == 0.0  # log(1 + ξ) and softmax_t − 1 both round away
    _, grad_log1p = evaluate(method("ce-log1p").loss, s, torch.float32)
    _, exact = exact_target(s, "log1p_xi")
    assert np.linalg.norm(grad_log1p - exact) / np.linalg.norm(exact) < 1e-5


# -- 7234 FGM and 7643 flooding ----------------------------------------------------------------------
def test_fgm_penalty_gradient_matches_finite_differences() -> None:
    import torch.nn.functional as F

    from tasks.theory._mlp import as_pairs, forward, random_mlp
    from tasks.theory.fgm import parameter_gradients

    gen = torch.Generator().manual_seed(2)
    params = [t.requires_grad_(True) for layer in random_mlp([3, 5, 2], gen) for t in layer]
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0])
    eps = 1e-3
    g0, _, penalised = parameter_gradients(params, x, y, method("fgm-plain"), eps)

    def half_sq_grad_x(theta):  # ½‖∇ₓL‖² at parameters theta
        xg = x.clone().requires_grad_(True)
        loss = F.cross_entropy(forward(as_pairs(theta), torch.tanh, xg, last_act=False)[-1], y)
        (gx,) = torch.autograd.grad(loss, xg)
        return 0.5 * float(gx.square().sum())

    direction = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
    base = [p.detach() for p in params]
    h = 1e-5
    fd = (half_sq_grad_x([b + h * d for b, d in zip(base, direction)]) - half_sq_grad_x([b - h * d for b, d in zip(base, direction)])) / (2 * h)
    autodiff = sum(float(((pen - g) * d).sum()) for pen, g, d in zip(penalised, g0, direction)) / eps
    assert autodiff == pytest.approx(fd, rel=1e-6)


def test_log_slope_recovers_an_order() -> None:
    from tasks.theory.common import log_slope

    eps = np.logspace(-4, -1, 7)
    assert log_slope(eps, 3.7 * eps**2.5) == pytest.approx(2.5, abs=1e-12)


@pytest.mark.parametrize("name,rho", [("descent-ascent", 1.0), ("descent-ascent-unequal", 0.5)])
def test_two_steps_are_exact_on_a_quadratic(name: str, rho: float) -> None:
    """On L = ½θᵀAθ, θ₂ = (I + ε₂A)(I − ε₁A)θ = θ − (ε₁ − ε₂)Aθ − ε₁ε₂A²θ: the expansion has no O(ε³) term."""
    from tasks.theory.flooding import two_steps

    rng = np.random.default_rng(4)
    m = rng.standard_normal((5, 5))
    a = torch.tensor(m @ m.T)
    theta0 = torch.tensor(rng.standard_normal(5))
    e1, e2 = method(name).step_sizes(0.1)
    assert (e1, e2) == (0.1, pytest.approx(0.1 * rho))
    _, theta2, predicted = two_steps([theta0], lambda t: 0.5 * t[0] @ a @ t[0], e1, e2)
    eye = torch.eye(5, dtype=torch.float64)
    exact = (eye + e2 * a) @ (eye - e1 * a) @ theta0
    torch.testing.assert_close(theta2[0], exact, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(predicted[0], exact, rtol=1e-12, atol=1e-12)


# -- 7681 WEISSI ---------------------------------------------------------------------------------------
def test_rescaling_keeps_the_function() -> None:
    from tasks.theory.weissi import rescale, unit_product

    rng = np.random.default_rng(5)
    ws = [rng.standard_normal((4, 3)), rng.standard_normal((4, 4)), rng.standard_normal((2, 4))]
    bs = [rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(2)]
    gamma = unit_product(rng.standard_normal(3))
    assert np.prod(gamma) == pytest.approx(1.0)

    def net(w, b, x):  # written here, not the task's forward
        h = np.maximum(w[0] @ x + b[0], 0)
        h = np.maximum(w[1] @ h + b[1], 0)
        return w[2] @ h + b[2]

    x = rng.standard_normal(3)
    w2, b2 = rescale(ws, bs, gamma)
    np.testing.assert_allclose(net(w2, b2, x), net(ws, bs, x), rtol=1e-12)
    l2 = method("reg-l2")
    assert l2.regulariser(np.array([np.linalg.norm(w) for w in w2])) != pytest.approx(l2.regulariser(np.array([np.linalg.norm(w) for w in ws])))


def test_amgm_minimum_of_l2() -> None:
    from tasks.theory.weissi import orbit_minimum

    norms = np.array([0.5, 2.0, 3.0])
    found, at = orbit_minimum(method("reg-l2").regulariser, norms)
    grid = np.linspace(-3, 3, 601)  # brute force over (log γ₁, log γ₂), γ₃ = 1/(γ₁γ₂)
    u1, u2 = np.meshgrid(grid, grid)
    values = (np.exp(u1) * norms[0]) ** 2 + (np.exp(u2) * norms[1]) ** 2 + (np.exp(-u1 - u2) * norms[2]) ** 2
    assert found == pytest.approx(values.min(), rel=1e-4)
    assert found == pytest.approx(3 * np.prod(norms) ** (2 / 3), rel=1e-10)
    np.testing.assert_allclose(at, np.prod(norms) ** (1 / 3), rtol=1e-6)
    assert method("reg-l2").orbit_minimum(norms) == pytest.approx(3 * np.prod(norms) ** (2 / 3), rel=1e-12)
