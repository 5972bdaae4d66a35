"""The quadratic model of kexue.fm/archives/10542 and the closed forms of each update rule's
optimal learning rate (private: NumPy). The methods (update rules) own these formulas; the task
that simulates them imports them from here, so the arrow runs from tasks to methods."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)


class Quadratic:
    """A quadratic loss at the current point: Hessian H, full gradient g, per-sample noise std σ."""

    hessian: Any
    grad: Any
    sigma: Any
    kappa: float


def quadratic(dim: int, diag: float, coupling: float, kappa: float, seed: int) -> Quadratic:
    """H = diag·I + coupling·ssᵀ with s = sign(g), gᵢ = sᵢ·e^{N(0, ½²)}, σᵢ = κ|gᵢ| (so the article's
    mean-field assumption σᵢ/|gᵢ| = κ holds exactly)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    s = np.where(rng.random(dim) < 0.5, -1.0, 1.0)
    g = s * np.exp(0.5 * rng.standard_normal(dim))
    return Quadratic(diag * np.eye(dim) + coupling * np.outer(s, s), g, kappa * np.abs(g), kappa)


# -- SGD ------------------------------------------------------------------------------------------


def sgd_b_noise(q: Quadratic) -> float:
    """B_noise = tr(ΣH)/gᵀHg."""
    import numpy as np

    return float(np.sum(q.sigma**2 * np.diag(q.hessian)) / (q.grad @ q.hessian @ q.grad))


def sgd_eta_star(q: Quadratic, batch: float) -> float:
    """η* = η_max/(1 + B_noise/B), η_max = gᵀg/gᵀHg."""
    return float(q.grad @ q.grad / (q.grad @ q.hessian @ q.grad)) / (1 + sgd_b_noise(q) / batch)


# -- SignSGD --------------------------------------------------------------------------------------


def sign_mean(q: Quadratic, batch: float) -> Any:
    """E[sign(g̃_B)] = erf((g/σ)·√(B/2)) (exact for Gaussian noise)."""
    from scipy.special import erf

    return erf(q.grad / q.sigma * math.sqrt(batch / 2))


def erf_approx(x: Any) -> Any:
    """The article's elementary stand-in erf(x) ≈ x/√(x² + π/4) (slope 2/√π at 0, like erf)."""
    import numpy as np

    return x / np.sqrt(x * x + math.pi / 4)


def sign_eta_star(q: Quadratic, mu: Any) -> float:
    """η* = Σμᵢgᵢ / (Σᵢ Hᵢᵢ + Σ_{i≠j} μᵢμⱼHᵢⱼ) for E[φ] = μ, E[φᵢ²] = 1, E[φᵢφⱼ] = μᵢμⱼ."""
    import numpy as np

    h = q.hessian
    return float(mu @ q.grad / (np.trace(h) + mu @ h @ mu - np.sum(mu * mu * np.diag(h))))


def _sums(q: Quadratic) -> tuple[float, float, float]:
    """(Σ|gᵢ|, Σᵢ Hᵢᵢ, Σ_{i≠j} sign(gᵢgⱼ)Hᵢⱼ)."""
    import numpy as np

    s = np.sign(q.grad)
    h = q.hessian
    return float(np.abs(q.grad).sum()), float(np.trace(h)), float(s @ h @ s - np.trace(h))


def beta(batch: float, kappa: float) -> float:
    return (1 + math.pi * kappa**2 / (2 * batch)) ** -0.5


def beta_noise(q: Quadratic) -> float:
    _, diag, off = _sums(q)
    return math.sqrt(diag / off)


def sign_eta_max(q: Quadratic) -> float:
    total, diag, off = _sums(q)
    return total / (2 * math.sqrt(diag * off))


def sign_eta_beta_form(q: Quadratic, batch: float) -> float:
    """η* ≈ η_max / (½(β_noise/β + β/β_noise))."""
    b, bn = beta(batch, q.kappa), beta_noise(q)
    return sign_eta_max(q) / (0.5 * (bn / b + b / bn))


def sign_b_noise(q: Quadratic) -> float:
    """The B at which β = β_noise (the surge's peak); infinite when β_noise ≥ 1."""
    bn2 = beta_noise(q) ** 2
    return math.pi * q.kappa**2 * bn2 / (2 * (1 - bn2)) if bn2 < 1 else math.inf


def sign_b_noise2(q: Quadratic) -> float:
    bn2 = beta_noise(q) ** 2
    return math.pi * q.kappa**2 * bn2 / (2 * (1 + bn2))


def sign_delta_l(q: Quadratic, batch: float) -> float:
    """½(Σμᵢgᵢ)² / (Σ Hᵢᵢ + Σ_{i≠j} μᵢμⱼHᵢⱼ) with the mean-field μᵢ = sign(gᵢ)·β."""
    total, diag, off = _sums(q)
    b = beta(batch, q.kappa)
    return 0.5 * (b * total) ** 2 / (diag + b * b * off)


def sign_delta_l_law(q: Quadratic, batch: float) -> float:
    """ΔL_max/(1 + B_noise-2/B), ΔL_max = β_noise·η_max·Σ|gᵢ|/(1 + β²_noise)."""
    total, _, _ = _sums(q)
    bn = beta_noise(q)
    return bn * sign_eta_max(q) * total / (1 + bn * bn) / (1 + sign_b_noise2(q) / batch)


# -- simulation -----------------------------------------------------------------------------------
