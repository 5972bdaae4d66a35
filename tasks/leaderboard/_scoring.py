"""The leaderboard protocol: board + aggregator → per-system scores, ranks and cell metrics.

An aggregator (``methods/leaderboard``) provides the hooks

* ``aggregate(x)`` — per-row mean of a finite ``(systems, tasks)`` matrix (a pure function);
* ``needs_positive`` — True when the mean is undefined for scores ≤ 0 (geometric, harmonic);
* ``setting(name)`` — its policy for ``task_set``, ``pair``, ``missing``, ``nan``, ``nonpositive``,
  ``floor`` and ``rank_decimals`` (``official`` fixes the first two to the benchmark's rule).

Everything else — choosing columns, turning pairs into numbers, missing cells, scores ≤ 0,
ranking and comparing rankings — happens here, the same way for every aggregator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from harness.api import UserError
from tasks.leaderboard import tasksets
from tasks.leaderboard._board_file import Board
from tasks.leaderboard._ranking import agreement, competition_ranks

AGGREGATORS = ("arithmetic", "geometric", "harmonic")


@dataclass(frozen=True)
class Rules:
    """What a task declares about its benchmark: the official task set and the paper's rules
    (aggregator → (task set for the systems, task set for the human row))."""

    official: str = "all"
    paper: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    note: str = ""  # said wherever the rules are shown (e.g. a user's file lacking the benchmark's columns)


@dataclass
class Ranking:
    label: str
    scores: np.ndarray  # (n,) NaN = unranked
    ranks: np.ndarray  # (n,) competition ranks, NaN = unranked
    reasons: list[str]  # why a system is unranked ('' when ranked)
    tasks: str  # the task set of the systems, as "A|B|C"
    human_tasks: str  # the human row's (differs only under the paper's rules)
    human: int | None

    @property
    def human_rank(self) -> float | None:
        if self.human is None or not np.isfinite(self.ranks[self.human]):
            return None
        return float(self.ranks[self.human])

    @property
    def n_ranked(self) -> int:
        return int(np.isfinite(self.scores).sum())


def pair_values(board: Board, pair: str, nan: str) -> np.ndarray:
    """One number per (system, column): the pair rule applied; printed NaN → 0 under ``nan=zero``."""
    h, pn = board.halves, board.printed_nan
    if pair == "first":
        v, printed = h[..., 0].copy(), pn[..., 0]
    elif pair == "second":
        v, printed = h[..., 1].copy(), pn[..., 1]
    elif pair == "mean":
        v = h.mean(axis=2)
        # NaN only from printed-NaN halves (a '-' cell has no printed half)
        printed = pn.any(axis=2) & ~(np.isnan(h) & ~pn).any(axis=2)
    else:
        raise UserError(f"pair must be mean, first or second, got {pair!r}")
    if nan == "zero":
        v[np.isnan(v) & printed] = 0.0
    return oriented(board, v)


def oriented(board: Board, v: np.ndarray) -> np.ndarray:
    """Lower-is-better columns turned higher-is-better by ``board.lower_as`` (100-x, 1-x, -x, 1/x),
    so that every aggregator ranks the higher mean first; the domain was checked when parsing."""
    if board.lower is None or not board.lower.any():
        return v
    x = v[:, board.lower]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = {"100-x": lambda: 100.0 - x, "1-x": lambda: 1.0 - x, "-x": lambda: -x, "1/x": lambda: 1.0 / x}[board.lower_as]()
    v = v.copy()
    v[:, board.lower] = y
    return v


def _group_matrix(v: np.ndarray, groups: list[tasksets.Group]) -> np.ndarray:
    return np.stack([v[:, list(g.columns)].mean(axis=1) for g in groups], axis=1)


def _missing_message(board: Board, row: int, group: tasksets.Group, v: np.ndarray) -> str:
    col = next(c for c in group.columns if np.isnan(v[row, c]))
    printed = board.printed_nan[row, col].any()
    what = "the board printed NaN (an undefined metric)" if printed else "missing score ('-')"
    fix = "choose missing=drop-system or drop-task (--param missing=…)" + (", or nan=zero" if printed else "")
    return f"{board.where(row, board.columns[col])}: {what}; {fix}"


def rank_board(board: Board, rules: Rules, method: Any) -> Ranking:
    """Scores and ranks of every system of ``board`` under ``method`` (see the module doc)."""
    get: Callable[[str], Any] = method.setting
    name = method.name
    task_set = get("task_set")
    if task_set == "paper":
        if name not in rules.paper:
            known = ", ".join(rules.paper) or "none on this board"
            raise UserError(f"task_set=paper: the paper's rules are declared for {known}, not for {name!r}")
        spec_sys, spec_human = rules.paper[name]
    else:
        spec_sys = spec_human = task_set
    groups_sys = tasksets.parse_task_set(spec_sys, board.columns, rules.official)
    groups_human = tasksets.parse_task_set(spec_human, board.columns, rules.official)
    v = pair_values(board, get("pair"), get("nan"))
    everyone = np.arange(board.n)
    parts: list[tuple[np.ndarray, list[tasksets.Group]]]
    if spec_human != spec_sys and board.human is not None:
        parts = [(everyone[everyone != board.human], groups_sys), (np.array([board.human]), groups_human)]
    else:
        parts = [(everyone, groups_sys)]

    reasons = [""] * board.n
    blocks = []  # (rows, matrix) per part, after the missing and nonpositive policies
    used: list[list[tasksets.Group]] = []
    for rows, groups in parts:
        x = _group_matrix(v, groups)[rows]
        missing = np.isnan(x)
        policy = get("missing")
        if missing.any():
            if policy == "error":
                r, g = map(int, np.argwhere(missing)[0])
                raise UserError(_missing_message(board, int(rows[r]), groups[g], v))
            if policy == "drop-task":
                keep = ~missing.any(axis=0)
                if not keep.any():
                    raise UserError(f"{board.source}: missing=drop-task drops every task of {tasksets.describe(groups)}; use drop-system")
                groups, x = [g for g, k in zip(groups, keep) if k], x[:, keep]
            else:  # drop-system
                for r in np.flatnonzero(missing.any(axis=1)):
                    g = int(np.flatnonzero(missing[r])[0])
                    col = next(c for c in groups[g].columns if np.isnan(v[rows[r], c]))
                    reasons[rows[r]] = f"missing {board.columns[col]}"
        ok = ~np.isnan(x).any(axis=1)
        if method.needs_positive:
            bad = (x <= 0) & ok[:, None]
            policy = get("nonpositive")
            if policy == "clip":  # every score below the floor is raised to it
                x = np.where(ok[:, None], np.maximum(x, get("floor")), x)
            elif bad.any():
                if policy == "error":
                    r, g = map(int, np.argwhere(bad)[0])
                    raise UserError(
                        f"{board.where(int(rows[r]), groups[g].label)}: score {x[r, g]:g} ≤ 0 — the {name} mean is undefined "
                        "for zero or negative scores; choose nonpositive=drop-system, clip or shift (--param nonpositive=…)"
                    )
                if policy == "drop-system":
                    for r in np.flatnonzero(bad.any(axis=1)):
                        g = int(np.flatnonzero(bad[r])[0])
                        reasons[rows[r]] = f"{groups[g].label} = {x[r, g]:g} ≤ 0 ({name} mean undefined)"
                    ok &= ~bad.any(axis=1)
        blocks.append((rows, x, ok))
        used.append(groups)

    if method.needs_positive and get("nonpositive") == "shift":
        lowest = min((float(x[ok].min()) for _, x, ok in blocks if ok.any()), default=1.0)
        if lowest <= 0:
            shift = get("floor") - lowest
            blocks = [(rows, x + shift, ok) for rows, x, ok in blocks]

    scores = np.full(board.n, np.nan)
    for rows, x, ok in blocks:
        if ok.any():
            with np.errstate(all="ignore"):  # an overflow is refused below, by name, not as a numpy warning
                scores[rows[ok]] = method.aggregate(x[ok])
            _check_finite(board, rows[ok], x[ok], scores, name)
    decimals = int(get("rank_decimals"))
    label = name if name == "official" or task_set == "official" else f"{name}[{task_set}]"
    ranks = competition_ranks(scores, decimals)
    return Ranking(label, scores, ranks, reasons, tasksets.describe(used[0]), tasksets.describe(used[-1]), board.human)


def _check_finite(board: Board, rows: np.ndarray, x: np.ndarray, scores: np.ndarray, name: str) -> None:
    """Finite cells must give a finite mean: a value such as 1e308 overflows the arithmetic mean
    (ranked nowhere, with no reason) while the harmonic one ranks it first. One error naming
    the row and its largest cell instead, whichever aggregator met it first."""
    bad = ~np.isfinite(scores[rows])
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        big = float(np.abs(x[r]).max())
        raise UserError(f"{board.where(int(rows[r]))}: the {name} mean of its scores (largest magnitude {big:g}) is not a finite "
                        "number; a leaderboard cell this large is a typo or a unit mix-up: fix the cell, or mark it missing with -")


# -- cell metrics ---------------------------------------------------------------------------
def score_tolerance(board: Board) -> float:
    """The board's stated tolerance, else the rounding bound: half a printed unit of the total
    plus half a printed unit of the cells (0.05 + 0.05 on GLUE/SuperGLUE)."""
    if board.tolerance is not None:
        return float(board.tolerance)
    return 0.5 * 10.0 ** -board.score_decimals + 0.5 * 10.0 ** -board.cell_decimals


def published_check(board: Board, scores: np.ndarray) -> dict[str, float]:
    """How well recomputed scores match the board's Score column.

    A recomputed mean of cells printed to ``cell_decimals`` is off the true mean by at most half a
    cell unit; the published Score is rounded to ``score_decimals`` (half a score unit). A row is a
    **mismatch** when the two differ by more than the sum of both (0.05 + 0.05 on GLUE/SuperGLUE):
    no rounding explains it (a board may state its own ``tolerance`` instead). ``n_score_mismatches_rounded`` is the stricter count of rows whose
    recomputed score, rounded half-up to the printed precision, is not the printed Score.
    """
    published = board.published
    have = np.isfinite(published) & np.isfinite(scores)
    tol = score_tolerance(board)
    err = np.abs(scores[have] - published[have])
    scale = 10.0 ** board.score_decimals
    rounded = np.floor(np.round(scores[have] * scale, 6) + 0.5) / scale
    return {
        "n_scores_checked": float(have.sum()),
        "n_scores_unchecked": float((np.isfinite(published) & ~np.isfinite(scores)).sum()),
        "n_score_mismatches": float((err > tol + 1e-9).sum()),
        "n_score_mismatches_rounded": float((np.abs(rounded - published[have]) > 1e-9).sum()),
        "max_abs_error_vs_published": float(err.max()) if len(err) else 0.0,
        "score_tolerance": tol,
    }


def published_warning(board: Board, scores: np.ndarray, what: str) -> str | None:
    """One line when the board's published total disagrees with the recomputed score on some
    row by more than the tolerance (a wrong column role, a lower-is-better column, another
    formula); None when every checked row agrees."""
    have = np.isfinite(board.published) & np.isfinite(scores)
    if not have.any():
        return None
    tol = score_tolerance(board)
    err = np.where(have, scores - board.published, 0.0)
    bad = np.abs(err) > tol + 1e-9
    if not bad.any():
        return None
    worst = int(np.argmax(np.abs(err)))
    return (f"{board.source}: published {board.total} disagrees with the recomputed {what} on {int(bad.sum())} of "
            f"{int(have.sum())} rows by more than the tolerance {tol:g} (largest: row {board.lines[worst]} ({board.systems[worst]}): published "
            f"{board.published[worst]:g}, recomputed {scores[worst]:.4g}, Δ {err[worst]:+.4g}); check the column roles "
            "(aggregate, ignore, lower) or state the tolerance")


def _compare(metrics: dict[str, float], own: Ranking, other: Ranking, suffix: str, decimals: int) -> None:
    agree = agreement(own.scores, other.scores, decimals)
    if agree.kendall_tau is not None:
        metrics[f"kendall_tau_vs_{suffix}"] = agree.kendall_tau
    if agree.spearman is not None:
        metrics[f"spearman_vs_{suffix}"] = agree.spearman
    metrics[f"n_moved_vs_{suffix}"] = float(agree.n_moved)
    metrics[f"max_move_vs_{suffix}"] = float(agree.max_move)


def above_human_in_both(a: Ranking, b: Ranking, decimals: int) -> int | None:
    """Systems ranked above the human row under both rankings (None without a ranked human)."""
    h = a.human
    if h is None or a.human_rank is None or b.human_rank is None:
        return None
    sa, sb = np.round(a.scores, decimals), np.round(b.scores, decimals)
    with np.errstate(invalid="ignore"):
        return int(((sa > sa[h]) & (sb > sb[h])).sum())


@dataclass
class Evaluation:
    own: Ranking
    official: Ranking
    metrics: dict[str, float]
    notes: list[str]

    def frame(self, board: Board) -> Any:
        """Per-system predictions: score and rank here, under the official rule, and the change."""
        import pandas as pd

        own, off = self.own, self.official
        return pd.DataFrame(
            {
                "system": board.systems,
                "row": np.asarray(board.lines, dtype=np.int64),
                "human": np.arange(board.n) == (-1 if board.human is None else board.human),
                "score": own.scores,
                "rank": own.ranks,
                "official_score": off.scores,
                "official_rank": off.ranks,
                "rank_change": off.ranks - own.ranks,  # positive: moved up
                "published_score": board.published,
                "unranked_reason": own.reasons,
            }
        )


def evaluate(board: Board, rules: Rules, method: Any, make: Callable[[str, Any], Any]) -> Evaluation:
    """All metrics of one cell. ``make(name, like)`` builds the aggregator ``name`` with the params
    it shares with ``like`` (the task passes the registry's constructor)."""
    decimals = int(method.setting("rank_decimals"))
    own = rank_board(board, rules, method)
    notes: list[str] = []
    metrics: dict[str, float] = {"n_systems": float(own.n_ranked), "n_unranked": float(board.n - own.n_ranked)}
    if own.n_ranked:
        metrics["top_score"] = float(np.nanmax(own.scores))
    if own.human_rank is not None:
        metrics["human_rank"] = own.human_rank
        metrics["human_score"] = float(own.scores[own.human])
        metrics["n_above_human"] = own.human_rank - 1
    if method.name == "official":
        official = own
        if board.has_published():
            metrics.update(published_check(board, own.scores))
            warning = published_warning(board, own.scores, "official score")
            if warning:
                notes.append(f"warning: {warning}")
    else:
        official = rank_board(board, rules, make("official", method))
        _compare(metrics, own, official, "official", decimals)
    for other_name in AGGREGATORS:
        if other_name == method.name:
            continue
        other = rank_board(board, rules, make(other_name, method))
        _compare(metrics, own, other, other_name, decimals)
        if other_name == "arithmetic":
            both = above_human_in_both(own, other, decimals)
            if both is not None:
                metrics["n_still_above_human_vs_arithmetic"] = float(both)
    # The rule sets the claims are about, for this same aggregator and policies.
    for prefix, task_set in (("paper", "paper"), ("all_columns", "all")):
        if method.name == "official" or (task_set == "paper" and method.name not in rules.paper):
            continue
        try:
            variant = rank_board(board, rules, make(method.name, method, task_set=task_set))
        except UserError as exc:
            notes.append(f"{prefix}: {exc}")
            continue
        if variant.human_rank is not None:
            metrics[f"{prefix}_human_rank"] = variant.human_rank
    return Evaluation(own, official, metrics, notes)
