"""The per-pair entropy term h_n of kexue.fm/archives/7695, by quadrature and by its Bessel closed
form (private: SciPy). The methods own these computations; the task imports them from here."""

from __future__ import annotations

import math


def log_angle_normaliser(n: float) -> float:
    """log of Γ(n/2)/(√π·Γ((n−1)/2)), which makes C·sin^{n−2}θ a density on [0, π]."""
    return math.lgamma(n / 2) - math.lgamma((n - 1) / 2) - 0.5 * math.log(math.pi)


def h_quadrature(n: float) -> float:
    """h_n by adaptive quadrature of the angle density, in a log-shifted form that neither
    overflows (e^{n cos θ}) nor underflows (sin^{n−2}θ) at large n."""
    import numpy as np
    from scipy.integrate import quad

    c = (-(n - 2) + math.sqrt((n - 2) ** 2 + 4 * n * n)) / (2 * n)  # cos θ* of the integrand's peak
    peak = math.acos(c)
    log_peak = n * c + (n - 2) * math.log(math.sin(peak))

    def weight(t: float) -> float:
        return math.exp(n * math.cos(t) + (n - 2) * math.log(math.sin(t)) - log_peak) if 0 < t < math.pi else 0.0

    options = {"points": [peak], "epsabs": 0.0, "epsrel": 1e-13, "limit": 500}
    z, _ = quad(weight, 0.0, math.pi, **options)
    m, _ = quad(lambda t: n * np.cos(t) * weight(t), 0.0, math.pi, **options)
    return log_angle_normaliser(n) + log_peak + math.log(z) - m / z


def h_bessel(n: float) -> float:
    """h_n in closed form: with ν = n/2 − 1, E[e^{x cos θ}] = Γ(n/2)·(2/x)^ν·I_ν(x) and
    E[x cos θ e^{x cos θ}]/E[e^{x cos θ}] = x·I_{ν+1}(x)/I_ν(x), at x = n (scaled Bessel functions)."""
    from scipy.special import ive

    nu = n / 2 - 1
    i_nu, i_next = float(ive(nu, n)), float(ive(nu + 1, n))
    return math.lgamma(n / 2) + nu * math.log(2 / n) + math.log(i_nu) + n - n * i_next / i_nu
