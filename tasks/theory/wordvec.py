"""``wordvec-dim``: kexue.fm/archives/7695 (最小熵原理（六）, 2020-08-20): n > 8.33·ln N.

The skip-gram model p(wᵢ, wⱼ) = e^{⟨uᵢ, vⱼ⟩}/Z over N words, with the vectors spread uniformly on
the sphere of radius √n, has entropy H ≈ log N² + h_n, where (θ the angle between two uniform
directions in Rⁿ, density ∝ sin^{n−2}θ)

    h_n = log E[e^{n cos θ}] − E[n cos θ · e^{n cos θ}] / E[e^{n cos θ}].

The article integrates h_n numerically (−7.77471, −15.4734, −23.1726, −30.8718, −61.6692, −123.264
for n = 32, 64, 96, 128, 256, 512), reads h_n ≈ −0.24·n (Laplace: h_n/n → −½·ln φ, φ the golden
ratio), and asks for H < 0: n > 2·ln N/0.24 = 8.33·ln N (N = 10⁵ → 96, N = 5·10⁶ → 128).

The task reports the method's h_n on that table, the slope a of h_n ≈ a·n + b + c/n fitted on
large n (the limit of h_n/n), the rule's coefficient 2/|a|, and the dimension at which
log N² + h_n crosses 0 for the article's two vocabularies, solved with the method's own h_n.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from harness.api import Method, Param, register
from methods.theory.base import EntropyIntegral
from tasks.theory.common import ExactTask, exact_metric

TABLE_N = (32, 64, 96, 128, 256, 512)
FIT_N = {"smoke": (128, 256, 512), "small": (256, 512, 1024, 2048), "full": (512, 1024, 2048, 4096)}  # I_ν(n) underflows past n ≈ 5000
LIMIT = -0.5 * math.log((1 + math.sqrt(5)) / 2)  # −½·ln φ, shown beside the fitted slope


def fitted_slope(h: Any, ns: tuple[int, ...]) -> float:
    """a of the least-squares fit h_n ≈ a·n + b + c/n (the limit of h_n/n)."""
    import numpy as np

    ns_ = np.asarray(ns, float)
    design = np.stack([ns_, np.ones_like(ns_), 1 / ns_], axis=1)
    coef, *_ = np.linalg.lstsq(design, np.array([h(n) for n in ns]), rcond=None)
    return float(coef[0])


def crossing_dimension(h: Any, vocabulary: float) -> float:
    """The n at which log N² + h_n = 0 (H < 0 beyond it: n dimensions hold N words)."""
    from scipy.optimize import brentq

    return float(brentq(lambda n: 2 * math.log(vocabulary) + h(n), 4.0, 4000.0, xtol=1e-10))


WV = {n: exact_metric(f"wv_h{n}", f"h_{n}, the per-pair entropy term at n = {n} (7695's table)", None) for n in TABLE_N}
WV.update({
    "ratio": exact_metric("wv_h_over_n_512", "h_512/512, approaching the limit of h_n/n from above", None),
    "slope": exact_metric("wv_slope", "a of h_n ≈ a·n + b + c/n fitted on large n: the limit of h_n/n (7695: −0.24; −½·ln φ = −0.2406)", None),
    "coef": exact_metric("wv_rule_coefficient", "2/|a|: the coefficient c of the rule n > c·ln N (7695: 8.33)", None),
    "n1e5": exact_metric("wv_dim_1e5", "the n at which ln N² + h_n = 0 for N = 10⁵ (7695: 96)", None),
    "n5e6": exact_metric("wv_dim_5e6", "the n at which ln N² + h_n = 0 for N = 5·10⁶ (7695: 128)", None),
})


@register
class WordVectorDimension(ExactTask):
    """7695: h_n of the skip-gram entropy, its slope −½·ln φ, and the rule n > 8.33·ln N."""

    name: ClassVar[str] = "wordvec-dim"
    hook = EntropyIntegral
    params = (Param("vocab_small", "float", 1e5, "the smaller vocabulary N", minimum=2.0),
              Param("vocab_large", "float", 5e6, "the larger vocabulary N", minimum=2.0))
    scales: ClassVar[Mapping[str, str]] = {s: f"the table n = 32…512; slope fitted on n = {', '.join(map(str, FIT_N[s]))}" for s in FIT_N}
    estimate_s: ClassVar[Mapping[str, float]] = {"smoke": 0.05, "small": 0.05, "full": 0.1}
    primary_metric: ClassVar[str] = WV["slope"]
    table_metrics: ClassVar[tuple[str, ...]] = (WV["slope"], WV["coef"], WV["n1e5"], WV["n5e6"], WV[32], WV[512])

    def measure(self, method: Method, scale: str) -> dict[str, float]:
        h = method.h  # type: ignore[attr-defined]
        slope = fitted_slope(h, FIT_N[scale])
        out = {WV[n]: h(n) for n in TABLE_N}
        out.update({
            WV["ratio"]: out[WV[512]] / 512,
            WV["slope"]: slope,
            WV["coef"]: 2 / abs(slope),
            WV["n1e5"]: crossing_dimension(h, self.p["vocab_small"]),
            WV["n5e6"]: crossing_dimension(h, self.p["vocab_large"]),
        })
        return out
