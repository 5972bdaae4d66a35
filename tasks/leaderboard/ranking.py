"""Ranks and rank agreement, in NumPy (a board has at most a few hundred systems).

Ranks are **competition ranks** ("min", 1-2-2-4), highest score first, computed on scores rounded
to ``decimals`` places (default 6): floating-point noise between two ways of computing the same
mean cannot split a real tie, and systems with equal rounded scores share the better rank.
Unranked systems carry NaN and take part in no comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def competition_ranks(scores: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Rank 1 = highest; ties share the smallest rank; NaN scores stay NaN."""
    scores = np.asarray(scores, dtype=float)
    out = np.full(scores.shape, np.nan)
    ok = np.isfinite(scores)
    s = np.round(scores[ok], decimals)
    out[ok] = 1 + (s[None, :] > s[:, None]).sum(axis=1)
    return out


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float | None:
    """Kendall's τ-b (tie-corrected, as scipy.stats.kendalltau); None when undefined."""
    n = len(x)
    if n < 2:
        return None
    iu = np.triu_indices(n, 1)
    dx = np.sign(x[:, None] - x[None, :])[iu]
    dy = np.sign(y[:, None] - y[None, :])[iu]
    pairs = len(dx)
    denom = np.sqrt(float(pairs - (dx == 0).sum()) * float(pairs - (dy == 0).sum()))
    return float((dx * dy).sum() / denom) if denom > 0 else None


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ascending, ties get the mean of their positions (as scipy.stats.rankdata)."""
    less = (x[None, :] < x[:, None]).sum(axis=1)
    equal = (x[None, :] == x[:, None]).sum(axis=1)
    return less + (equal + 1) / 2.0


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's ρ: Pearson correlation of average ranks; None when undefined."""
    if len(x) < 2:
        return None
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else None


@dataclass(frozen=True)
class Agreement:
    """Two rankings compared over the systems both rank."""

    n_common: int
    kendall_tau: float | None
    spearman: float | None
    n_moved: int  # systems whose rank (within the common set) differs
    max_move: int  # the largest |rank difference|


def agreement(a: np.ndarray, b: np.ndarray, decimals: int = 6) -> Agreement:
    """``a``, ``b``: scores of the same systems (NaN = unranked) under two aggregates."""
    common = np.isfinite(a) & np.isfinite(b)
    x, y = np.round(a[common], decimals), np.round(b[common], decimals)
    moves = np.abs(competition_ranks(x, decimals) - competition_ranks(y, decimals))
    return Agreement(
        n_common=int(common.sum()),
        kendall_tau=kendall_tau_b(x, y),
        spearman=spearman_rho(x, y),
        n_moved=int((moves > 0).sum()),
        max_move=int(moves.max()) if len(moves) else 0,
    )
