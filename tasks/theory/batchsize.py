"""``batchsize-lr``: kexue.fm/archives/10542 (当Batch Size增大时，学习率该如何随之变化？, 2024-11-14).

A second-order model of one step w → w − η·φ(g̃_B), g̃_B ~ N(g, Σ/B), gives the optimal rate
η* = E[φ]ᵀg / tr(E[φφᵀ]H). For SGD (φ = g̃_B) it is η_max/(1 + B_noise/B) with B_noise = tr(ΣH)/gᵀHg,
the loss drop per step is ΔL_max/(1 + B_noise/B), hence S = S_min(1 + B_noise/B), E = B·S and
(S/S_min − 1)(E/E_min − 1) = 1. For SignSGD (φ = sign(g̃_B), the article's stand-in for Adam)
E[sign(g̃_B)] = erf((g/σ)·√(B/2)) ≈ sign(g)/√(1 + πκ²/2B) (erf(x) ≈ x/√(x² + π/4), σᵢ/|gᵢ| ≈ κ), so
η* = η_max / (½(β_noise/β + β/β_noise)) with β = (1 + πκ²/2B)^{−½}: η* rises and then falls past
B_noise = πκ²β²_noise/(2(1 − β²_noise)) — the "surge" — but only when β_noise < 1; and
ΔL = ΔL_max/(1 + B_noise-2/B) with 1/B_noise-2 − 1/B_noise = 4/(πκ²).

The task builds two quadratic problems L(w) = ½(w − w*)ᵀH(w − w*) with H = d·I + c·ssᵀ (s = sign g) and
σᵢ = κ|gᵢ|: one whose off-diagonal part dominates (β_noise < 1) and one whose diagonal does
(β_noise > 1). For the method's update rule it then (1) grid-searches the one-step optimal η per B
by Monte Carlo — common random numbers across B — and compares it with the article's η*(B);
(2) fits S(B) = 1/ΔL(B) = S_min + E_min/B to the simulated loss drops and checks
(S/S_min − 1)(E/E_min − 1) = 1 and E_min/S_min = B_noise; (3) says whether the simulated η* surges
(peaks inside the B range, then falls by more than ``surge_drop``) on each problem. SignSGD cells
also check erf by Monte Carlo over literal per-sample gradients, erf's elementary approximation,
the β form, the ΔL form and the B_noise-2 identity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory._quadratic import (
    Quadratic,
    beta,
    beta_noise,
    erf_approx,
    quadratic,
    sign_b_noise,
    sign_b_noise2,
    sign_delta_l,
    sign_delta_l_law,
    sign_eta_beta_form,
    sign_eta_star,
    sign_mean,
)
from methods.theory.base import UpdateRule
from tasks.theory.common import ExactTask, Measured, exact_metric

SETTINGS = {  # batch sizes (log10 range, points), Monte Carlo draws per B, η grid points, erf draws
    "smoke": ((0.0, 4.0, 33), 20000, 1401, 20000),
    "small": ((0.0, 4.0, 65), 100000, 2801, 100000),
    "full": ((0.0, 4.0, 129), 400000, 5601, 400000),
}
ERF_RATIOS = (0.01, 0.05, 0.2)  # g/σ
ERF_BATCHES = (1, 4, 16, 64, 128)


def simulate(q: Quadratic, direction: Any, batches: Any, draws: int, eta_points: int, seed: int) -> tuple[Any, Any]:
    """(η*(B), ΔL(B)): per B, the η on a log grid minimising the Monte-Carlo mean of
    L(w − ηφ) − L(w) = −η·φᵀg + ½η²·φᵀHφ, and the loss drop there. One set of antithetic normal
    draws (z and −z) serves every B (common random numbers), so the curves are smooth in B."""
    import numpy as np

    half = np.random.default_rng(seed).standard_normal((draws // 2, len(q.grad)))
    z = np.concatenate([half, -half])
    etas = np.logspace(-5, 2, eta_points)
    best_eta, drop = [], []
    for b in batches:
        phi = direction(q.grad + q.sigma * z / math.sqrt(b))
        m1 = float(np.mean(phi @ q.grad))
        m2 = float(np.mean(((phi @ q.hessian) * phi).sum(axis=1)))
        change = -etas * m1 + 0.5 * etas**2 * m2
        k = int(np.argmin(change))
        best_eta.append(etas[k])
        drop.append(-change[k])
    return np.array(best_eta), np.array(drop)


def surge(eta: Any, drop_fraction: float) -> tuple[bool, int]:
    """(whether η*(B) peaks strictly inside the range and ends more than ``drop_fraction`` below
    the peak, index of the peak)."""
    import numpy as np

    k = int(np.argmax(eta))
    return bool(0 < k < len(eta) - 1 and eta[-1] < (1 - drop_fraction) * eta[k]), k


def fit_data_efficiency(batches: Any, drop: Any) -> tuple[float, float, float]:
    """Fit S(B) = 1/ΔL(B) = S_min + E_min/B (least squares in 1/B, relative residuals); return
    (S_min, E_min, the largest |(S/S_min − 1)(E/E_min − 1) − 1|, E = B·S, over the B within a decade of
    the fitted E_min/S_min — outside it one factor is a difference of nearly equal numbers and the
    product only amplifies the Monte Carlo noise)."""
    import numpy as np

    steps = 1 / drop
    slope, intercept = np.polyfit(1 / batches, steps, 1, w=1 / steps)
    s_min, e_min = float(intercept), float(slope)
    window = np.abs(np.log10(batches * s_min / e_min)) <= 1
    product = (steps / s_min - 1) * (batches * steps / e_min - 1)
    return s_min, e_min, float(np.max(np.abs(product[window] - 1)))


def erf_monte_carlo(ratio: float, batch: int, draws: int, seed: int) -> tuple[float, float]:
    """(mean of sign of the average of ``batch`` per-sample gradients ~ N(ratio, 1), its standard error)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    total = np.zeros(draws)
    for _ in range(batch):
        total += ratio + rng.standard_normal(draws)
    signs = np.sign(total)
    return float(signs.mean()), float(signs.std(ddof=1) / math.sqrt(draws))


BS = {
    "eta_err": exact_metric("bs_eta_max_rel_error", "largest relative gap over B between the grid-searched one-step optimal η (Monte Carlo) and the article's η*(B), on the β_noise < 1 problem"),
    "eta_err_hi": exact_metric("bs_eta_max_rel_error_high_beta", "the same on the β_noise > 1 problem"),
    "bnoise": exact_metric("bs_b_noise", "B_noise (SGD) or B_noise-2 (SignSGD) of the β_noise < 1 problem, from the formula", None),
    "fit_b": exact_metric("bs_fit_b_noise_rel_error", "|E_min/S_min − B_noise| / B_noise, S_min and E_min fitted to simulated loss drops (10542: E_min/S_min = B_noise)"),
    "es": exact_metric("bs_es_identity_max_error", "largest |(S/S_min − 1)(E/E_min − 1) − 1| over B, from the simulated loss drops and the fitted S_min, E_min (10542: 0)"),
    "surge_lo": exact_metric("bs_surge_low_beta", "1 when the simulated η*(B) peaks inside the B range and then falls, on the β_noise < 1 problem", None),
    "surge_hi": exact_metric("bs_surge_high_beta", "the same on the β_noise > 1 problem (10542: no surge when β_noise ≥ 1)", None),
    "beta_lo": exact_metric("bs_beta_noise_low", "β_noise of the off-diagonal-dominated problem", None),
    "beta_hi": exact_metric("bs_beta_noise_high", "β_noise of the diagonal-dominated problem", None),
    "peak": exact_metric("bs_peak_log10_ratio", "log10(B at the simulated η* peak / the article's B_noise) on the β_noise < 1 problem (0: the peak is where predicted)", None),
    "erf": exact_metric("bs_erf_mc_max_abs_error", "largest |Monte Carlo E[sign(g̃_B)] − erf((g/σ)√(B/2))| over the (g/σ, B) grid"),
    "erf_z": exact_metric("bs_erf_mc_max_z", "the same gap in Monte Carlo standard errors (≲ 3 when erf is right)"),
    "erf_approx": exact_metric("bs_erf_approx_max_abs_error", "max over x of |erf(x) − x/√(x² + π/4)|, the article's elementary approximation"),
    "beta_form": exact_metric("bs_beta_form_max_rel_error", "largest relative gap between η_max/(½(β_noise/β + β/β_noise)) and Σμg/(ΣHᵢᵢ + Σμμ'H) with μ = sign(g)·β"),
    "mf_gap": exact_metric("bs_mean_field_max_rel_error", "largest relative gap between the β form (erf approximated) and η* with the exact erf means"),
    "dl_form": exact_metric("bs_delta_l_form_max_rel_error", "largest relative gap between ½(Σμg)²/(ΣHᵢᵢ + Σμμ'H) and ΔL_max/(1 + B_noise-2/B)"),
    "n2": exact_metric("bs_noise2_identity_abs_error", "|1/B_noise-2 − 1/B_noise − 4/(πκ²)| on the β_noise < 1 problem (10542: 0)"),
    "peak_formula": exact_metric("bs_formula_peak_log10_ratio", "log10(argmax_B of the β form / B_noise), the argmax found numerically", None),
}


@register
class BatchSizeLearningRate(ExactTask):
    """10542: η*(B) for SGD and SignSGD, the S–E law, erf by Monte Carlo, and the surge on quadratics."""

    name: ClassVar[str] = "batchsize-lr"
    hook = UpdateRule
    params = (
        Param("dim", "int", 10, "parameters of the quadratic", minimum=2),
        Param("kappa", "float", 10.0, "noise-to-signal ratio σᵢ/|gᵢ|", minimum=0.0),
        Param("coupling_low", "float", 1.0, "c of H = I + c·ssᵀ for the β_noise < 1 problem", minimum=0.0),
        Param("coupling_high", "float", 0.05, "c for the β_noise > 1 problem", minimum=0.0),
        Param("surge_drop", "float", 0.05, "a surge: η* at the largest B below (1 − this) × its peak", minimum=0.0, maximum=1.0, bounds="[)"),
    )
    scales: ClassVar[Mapping[str, str]] = {s: f"B in 10^[{SETTINGS[s][0][0]:g}, {SETTINGS[s][0][1]:g}] ({SETTINGS[s][0][2]} points), {SETTINGS[s][1]} draws per B, "
                 f"{SETTINGS[s][2]} η points, {SETTINGS[s][3]} erf draws" for s in SETTINGS}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.7, "small": 1.5, "full": 110.0}
    primary_metric: ClassVar[str] = BS["eta_err"]
    table_metrics: ClassVar[tuple[str, ...]] = (BS["eta_err"], BS["fit_b"], BS["es"], BS["surge_lo"], BS["surge_hi"], BS["peak"])

    def problems(self) -> tuple[Quadratic, Quadratic]:
        p = self.p
        return (quadratic(p["dim"], 1.0, p["coupling_low"], p["kappa"], 10542),
                quadratic(p["dim"], 1.0, p["coupling_high"], p["kappa"], 10542))

    def measure(self, method: Method, scale: str) -> Measured:
        import numpy as np
        import pandas as pd

        (lo, hi, points), draws, eta_points, _ = SETTINGS[scale]
        batches = np.logspace(lo, hi, points)
        low, high = self.problems()
        out: dict[str, float] = {BS["beta_lo"]: beta_noise(low), BS["beta_hi"]: beta_noise(high)}
        curves = []
        for q, err_key, surge_key in ((low, "eta_err", "surge_lo"), (high, "eta_err_hi", "surge_hi")):
            eta, drop = simulate(q, method.direction, batches, draws, eta_points, seed=1)  # type: ignore[attr-defined]
            predicted = np.array([method.eta_star(q, b) for b in batches])  # type: ignore[attr-defined]
            curves.append(pd.DataFrame({"problem": "low" if q is low else "high", "batch": batches,
                                        "eta_simulated": eta, "eta_article": predicted, "loss_drop": drop}))
            out[BS[err_key]] = float(np.max(np.abs(eta / predicted - 1)))
            surged, peak = surge(eta, self.p["surge_drop"])
            out[BS[surge_key]] = float(surged)
            if q is low:
                b_noise = method.b_noise(q)  # type: ignore[attr-defined]
                s_min, e_min, es_error = fit_data_efficiency(batches, drop)
                out[BS["bnoise"]] = b_noise
                out[BS["fit_b"]] = abs(e_min / s_min / b_noise - 1)
                out[BS["es"]] = es_error
                if math.isfinite(method.peak_b(q)):  # type: ignore[attr-defined]
                    out[BS["peak"]] = math.log10(batches[peak] / method.peak_b(q))  # type: ignore[attr-defined]
        if method.kind == "sign":  # type: ignore[attr-defined]
            out.update(self.sign_checks(low, batches, scale))
        return Measured(out, pd.concat(curves, ignore_index=True))

    def sign_checks(self, q: Quadratic, batches: Any, scale: str) -> dict[str, float]:
        """SignSGD's closed forms: erf by Monte Carlo, its approximation, the β and ΔL forms, B_noise-2."""
        import numpy as np
        from scipy.optimize import minimize_scalar
        from scipy.special import erf

        draws = SETTINGS[scale][3]
        gaps, zs = [], []
        for i, ratio in enumerate(ERF_RATIOS):
            for j, b in enumerate(ERF_BATCHES):
                mean, se = erf_monte_carlo(ratio, b, draws, seed=100 * i + j)
                exact = float(erf(ratio * math.sqrt(b / 2)))
                gaps.append(abs(mean - exact))
                zs.append(abs(mean - exact) / se)
        x = np.linspace(-6, 6, 120001)
        mean_field = [sign_eta_star(q, np.sign(q.grad) * beta(b, q.kappa)) for b in batches]
        beta_form = [sign_eta_beta_form(q, b) for b in batches]
        exact_mu = [sign_eta_star(q, sign_mean(q, b)) for b in batches]
        dl = [sign_delta_l(q, b) / sign_delta_l_law(q, b) - 1 for b in batches]
        peak = minimize_scalar(lambda t: -sign_eta_beta_form(q, 10.0**t), bounds=(-2, 8), method="bounded", options={"xatol": 1e-10})
        return {
            BS["erf"]: max(gaps), BS["erf_z"]: max(zs),
            BS["erf_approx"]: float(np.max(np.abs(erf(x) - erf_approx(x)))),
            BS["beta_form"]: float(np.max(np.abs(np.array(beta_form) / np.array(mean_field) - 1))),
            BS["mf_gap"]: float(np.max(np.abs(np.array(beta_form) / np.array(exact_mu) - 1))),
            BS["dl_form"]: float(np.max(np.abs(dl))),
            BS["n2"]: abs(1 / sign_b_noise2(q) - 1 / sign_b_noise(q) - 4 / (math.pi * q.kappa**2)),
            BS["peak_formula"]: float(peak.x) - math.log10(sign_b_noise(q)),
        }
