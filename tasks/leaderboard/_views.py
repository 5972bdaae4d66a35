"""What ``harness leaderboard`` shows, computed (rendering is in ``render.py``).

A :class:`View` is one board ranked by the official rule and by a list of aggregators; a
:class:`RuleRow` is the human's rank and the rank agreement under one named rule set. Both are
built straight from the board (pure arithmetic, milliseconds), not from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tasks.leaderboard._board_file import Board
from tasks.leaderboard._scoring import AGGREGATORS, Ranking, Rules, rank_board
from tasks.leaderboard._ranking import agreement


@dataclass
class View:
    title: str
    board: Board
    official: Ranking
    rankings: list[Ranking]  # the aggregators shown, in order
    decimals: int = 6
    note: str = ""
    warnings: list[str] = field(default_factory=list)  # said on stderr and in the footnotes

    def order(self, top: int | None) -> list[int]:
        """Rows to show: ranked ≤ top by the official rule or any aggregator, plus the human row;
        officially ranked first (by rank), then the rest by the first aggregator's rank."""
        every = [self.official, *self.rankings]
        n = self.board.n
        keep = np.ones(n, dtype=bool) if top is None else np.zeros(n, dtype=bool)
        if top is not None:
            for r in every:
                keep |= np.nan_to_num(r.ranks, nan=np.inf) <= top
            if self.board.human is not None:
                keep[self.board.human] = True
        key = [
            (np.nan_to_num(self.official.ranks[i], nan=np.inf),
             *(np.nan_to_num(r.ranks[i], nan=np.inf) for r in self.rankings), i)
            for i in range(n)
        ]
        return [i for _, *_, i in sorted(k for k in key if keep[k[-1]])]

    def human_ranks(self) -> list[tuple[str, float | None, int]]:
        return [(r.label, r.human_rank, r.n_ranked) for r in (self.official, *self.rankings)]

    def agreements(self) -> list[tuple[str, Any]]:
        return [(r.label, agreement(r.scores, self.official.scores, self.decimals)) for r in self.rankings]

    def unranked(self) -> list[tuple[str, int, dict[str, int]]]:
        """Per ranking: how many systems it leaves unranked, by kind of reason."""
        out = []
        for r in (self.official, *self.rankings):
            kinds: dict[str, int] = {}
            for reason in r.reasons:
                if reason:
                    kind = "missing" if reason.startswith("missing") else "score ≤ 0" if "≤ 0" in reason else reason
                    kinds[kind] = kinds.get(kind, 0) + 1
            out.append((r.label, self.board.n - r.n_ranked, kinds))
        return out


def build_view(title: str, board: Board, rules: Rules, methods: list[Any], official: Any) -> View:
    from tasks.leaderboard._scoring import published_warning

    view = View(
        title=title,
        board=board,
        official=rank_board(board, rules, official),
        rankings=[rank_board(board, rules, m) for m in methods],
        decimals=int(official.setting("rank_decimals")),
        note=rules.note,
        warnings=list(board.notes),
    )
    warning = published_warning(board, view.official.scores, "official score")
    if warning:
        view.warnings.append(warning)
    return view


@dataclass
class RuleRow:
    """One rule set on one board: task columns, the human's rank per aggregator, rank agreement."""

    board: str
    rule: str
    tasks: dict[str, tuple[str, str]]  # aggregator → (task columns, task columns of the human row)
    human: dict[str, tuple[float | None, int]]  # aggregator → (human rank, systems ranked)
    tau: dict[tuple[str, str], float | None] = field(default_factory=dict)
    above_human_both: dict[str, int | None] = field(default_factory=dict)


def rule_rows(board_name: str, board: Board, rules: Rules, make: Any, rule_sets: list[tuple[str, str]]) -> list[RuleRow]:
    """``rule_sets``: (label, task_set) pairs; ``make(name, **params)`` builds an aggregator."""
    from tasks.leaderboard._scoring import above_human_in_both

    out = []
    decimals = 6
    for label, task_set in rule_sets:
        ranks: dict[str, Ranking] = {}
        for name in AGGREGATORS:
            if task_set == "paper" and name not in rules.paper:
                continue
            ranks[name] = rank_board(board, rules, make(name, task_set=task_set))
        if task_set == "official":
            ranks = {"official": rank_board(board, rules, make("official")), **ranks}
        row = RuleRow(board_name, label, {n: (r.tasks, r.human_tasks) for n, r in ranks.items()},
                      {n: (r.human_rank, r.n_ranked) for n, r in ranks.items()})
        names = list(ranks)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                row.tau[(a, b)] = agreement(ranks[a].scores, ranks[b].scores, decimals).kendall_tau
        if "arithmetic" in ranks:
            for name in ("geometric", "harmonic"):
                if name in ranks:
                    row.above_human_both[name] = above_human_in_both(ranks[name], ranks["arithmetic"], decimals)
        out.append(row)
    return out
