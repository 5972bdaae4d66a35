"""Statistics over seeds: summaries with t-intervals and paired comparisons.

Pure functions on arrays, so that tables and claims report the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float  # sample std, ddof=1 (nan for n = 1)
    n: int
    lo: float  # 95% t-interval of the mean
    hi: float


def t_quantile(n: int, confidence: float = 0.95) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) if n > 1 else math.inf


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    import numpy as np

    x = np.asarray(values, dtype=float)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    half = t_quantile(n, confidence) * std / math.sqrt(n) if n > 1 else math.nan
    return Summary(mean, std, n, mean - half, mean + half)


@dataclass(frozen=True)
class Paired:
    """A − B over shared seeds: mean difference, its 95% interval, n, and a t-test p-value."""

    diff: float
    lo: float
    hi: float
    n: int
    p_value: float  # two-sided paired t-test; nan when undefined


def paired(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Paired:
    """Paired difference; with zero variance the interval is the point and p is 0 or 1."""
    import numpy as np
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    s = summarize(d, confidence)
    if s.n < 2:
        return Paired(s.mean, math.nan, math.nan, s.n, math.nan)
    if s.std == 0.0:
        return Paired(s.mean, s.mean, s.mean, s.n, 0.0 if s.mean != 0 else 1.0)
    p = float(stats.ttest_rel(np.asarray(a, float), np.asarray(b, float)).pvalue)
    return Paired(s.mean, s.lo, s.hi, s.n, p)
