"""Ranks and rank agreement, in NumPy (a board has at most a few hundred systems); Kendall τ-b and
Spearman ρ come from the shared metric registry (:mod:`harness.plan.metrics`).

Ranks are **competition ranks** ("min", 1-2-2-4), highest score first, computed on scores rounded
to ``decimals`` places (default 6): floating-point noise between two ways of computing the same
mean cannot split a real tie, and systems with equal rounded scores share the better rank.
Unranked systems carry NaN and take part in no comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.api import kendall_tau_b, spearman


def competition_ranks(scores: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Rank 1 = highest; ties share the smallest rank; NaN scores stay NaN."""
    scores = np.asarray(scores, dtype=float)
    out = np.full(scores.shape, np.nan)
    ok = np.isfinite(scores)
    s = np.round(scores[ok], decimals)
    out[ok] = 1 + (s[None, :] > s[:, None]).sum(axis=1)
    return out


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
        spearman=spearman(x, y),
        n_moved=int((moves > 0).sum()),
        max_move=int(moves.max()) if len(moves) else 0,
    )
