"""The ``glue`` and ``superglue`` tasks, and :class:`LeaderboardTask` to declare your own board.

A leaderboard task is pure arithmetic on published scores: no torch, no seed, and every scale
computes the same thing. ``--param file=PATH`` points a task at another CSV (layout in
``board.py``); the cell key then hashes that file's bytes. A board of your own is a few lines::

    @register
    class MyBoard(LeaderboardTask):
        \"\"\"My benchmark's leaderboard.\"\"\"
        name = "myboard"
        data = (DataFile("leaderboards/myboard.csv", "<sha256>", "where it comes from"),)
        official_tasks = "TaskA|TaskB|TaskC1+TaskC2"   # the benchmark's own score rule
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Mapping

from harness.api import SCALES, CellResult, DataFile, Method, RunContext, Task
from harness.errors import UserError
from harness.params import Param
from harness.registry import register

FAMILY = "leaderboard"

RANK_LIKE = (
    "human_rank", "n_above_human", "paper_human_rank", "all_columns_human_rank", "n_unranked",
    "n_still_above_human_vs_arithmetic", "n_score_mismatches", "n_score_mismatches_rounded",
    "n_scores_unchecked", "max_abs_error_vs_published", "score_tolerance",
    *(f"{m}_vs_{o}" for m in ("n_moved", "max_move") for o in ("official", "arithmetic", "geometric", "harmonic")),
)

GLUE_TEN = "CoLA|SST-2|MRPC|STS-B|QQP|MNLI-m|MNLI-mm|QNLI|RTE|WNLI"
SUPERGLUE_EIGHT = "BoolQ|CB|COPA|MultiRC|ReCoRD|RTE|WiC|WSC"


class LeaderboardTask(Task):
    """Base of leaderboard tasks: parse the board, rank it with the method, compare rankings."""

    family: ClassVar[str] = FAMILY
    uses_torch: ClassVar[bool] = False
    seeded: ClassVar[bool] = False
    primary_metric: ClassVar[str] = "human_rank"
    table_metrics: ClassVar[tuple[str, ...]] = (
        "human_rank", "paper_human_rank", "all_columns_human_rank", "kendall_tau_vs_arithmetic",
        "kendall_tau_vs_official", "n_score_mismatches", "max_abs_error_vs_published",
    )
    higher_is_better: ClassVar[Mapping[str, bool]] = {m: False for m in RANK_LIKE}
    scales: ClassVar[Mapping[str, str]] = {s: "the whole board (pure arithmetic: every scale is the same)" for s in SCALES}
    estimate_s: ClassVar[Mapping[str, float]] = {s: 0.05 for s in SCALES}
    official_tasks: ClassVar[str] = "all"  # the benchmark's own score rule, as a task set
    paper_rules: ClassVar[Mapping[str, tuple[str, str]]] = {}  # aggregator → (systems, human row)
    rule_sets: ClassVar[tuple[tuple[str, str], ...]] = (("official tasks", "official"), ("all columns", "all"))  # for the page
    params = (
        Param("file", "str", "", "a leaderboard CSV of your own instead of the bundled one (layout: tasks/leaderboard/board.py)"),
        Param("human", "str", "Human Baselines", "text naming the human row (when the file has no Human column); none = no human row"),
    )

    # -- data --------------------------------------------------------------------------------
    def path(self) -> Path:
        if self.p["file"]:
            path = Path(self.p["file"]).expanduser()
            if not path.is_file():
                raise UserError(f"{self.name}.file={self.p['file']}: no such file; give the path of a leaderboard CSV")
            return path
        from harness.data import resolve

        return resolve(self.data[0])

    def fingerprint(self) -> str:
        """The bundled file's sha256, or the sha256 of the bytes of ``file`` (so edits change the key).
        A file of your own is parsed here too, so that a bad one stops `harness run` before any
        cell runs (one line, exit 2) instead of failing every cell."""
        if not self.p["file"]:
            return super().fingerprint()
        self.board()
        return "file:" + hashlib.sha256(self.path().read_bytes()).hexdigest()

    def board(self) -> Any:
        """The parsed board (cached per process by path, size and mtime; treat it as read-only)."""
        path = self.path()
        stat = path.stat()
        human = "" if self.p["human"].strip().lower() in ("", "none") else self.p["human"]
        return _read_cached(str(path), stat.st_size, stat.st_mtime_ns, human, self.p["file"] or path.name)

    def rules(self, board: Any = None) -> Any:
        """The benchmark's rules. A file of your own that lacks the benchmark's official columns
        is scored by the mean of all its task columns, and has no paper's rules (said in ``note``)."""
        from tasks.leaderboard import tasksets
        from tasks.leaderboard.scoring import Rules

        rules = Rules(official=self.official_tasks, paper=dict(self.paper_rules))
        if not self.p["file"]:
            return rules
        board = board if board is not None else self.board()
        try:
            tasksets.parse_task_set(self.official_tasks, board.columns)
        except UserError:
            wanted = [n for item in self.official_tasks.split("|") for n in item.split("+")]
            lacking = [n for n in wanted if n not in board.columns]
            return Rules(official="all", note=f"official rule: the mean of all task columns ({Path(self.p['file']).name} lacks "
                                               f"{self.name}'s {', '.join(lacking[:3])}{' …' if len(lacking) > 3 else ''})")
        return rules

    # -- protocol ----------------------------------------------------------------------------
    def run(self, method: Method, ctx: RunContext) -> CellResult:
        from tasks.leaderboard.scoring import evaluate

        t0 = time.monotonic()
        board = self.board()
        rules = self.rules(board)
        evaluation = evaluate(board, rules, method, sibling)
        return CellResult(
            metrics=evaluation.metrics,
            eval_s=time.monotonic() - t0,
            predictions=evaluation.frame(board),
            info={"precision": "fp64", "notes": "; ".join(filter(None, [rules.note, *evaluation.notes]))},
        )


@lru_cache(maxsize=32)
def _read_cached(path: str, size: int, mtime_ns: int, human: str, source: str) -> Any:
    from tasks.leaderboard.board_file import read_board

    return read_board(path, human=human, source=source)


@register
class Glue(LeaderboardTask):
    """GLUE leaderboard (100 systems, Vote'n'Rank snapshot); official score = mean of 9 tasks."""

    name: ClassVar[str] = "glue"
    data = (
        DataFile(
            "leaderboards/glue_votenrank.csv",
            "e52c3b4d20907a8e796f2d9a25f315bb2ef2da6db7efe647350300fbc685432b",
            "PragmaticsLab/vote_and_rank@6d9cbe37600ada4ff2e448a6cac87098a46f32a6:tables/leaderboards - GLUE.csv",
        ),
    )
    official_tasks = "CoLA|SST-2|MRPC|STS-B|QQP|MNLI-m+MNLI-mm|QNLI|RTE|WNLI"
    # kexue.fm/archives/8783: the arithmetic mean over the first 10 columns; the geometric and
    # harmonic means over all 11 columns (AX included) for the systems but 10 for the human row.
    paper_rules = {
        "arithmetic": (GLUE_TEN, GLUE_TEN),
        "geometric": (GLUE_TEN + "|AX", GLUE_TEN),
        "harmonic": (GLUE_TEN + "|AX", GLUE_TEN),
    }
    rule_sets = (
        ("consistent: official 9 tasks", "official"),
        ("the paper's rules", "paper"),
        ("all 11 columns (human AX 76.6, doubtful)", "all"),
        ("first 10 columns (AX left out)", "first10"),
    )


@register
class SuperGlue(LeaderboardTask):
    """SuperGLUE leaderboard (24 systems, Vote'n'Rank snapshot); official score = mean of 8 tasks."""

    name: ClassVar[str] = "superglue"
    data = (
        DataFile(
            "leaderboards/superglue_votenrank.csv",
            "37dc4386a13434cb09230842750db3e2a40c9d57524a2d23a8b72bd8177c9080",
            "PragmaticsLab/vote_and_rank@6d9cbe37600ada4ff2e448a6cac87098a46f32a6:tables/leaderboards - SuperGLUE.csv",
        ),
    )
    official_tasks = SUPERGLUE_EIGHT
    # kexue.fm/archives/8783: the arithmetic mean over the 8 tasks; the geometric and harmonic
    # means over all 10 columns (AX-b and AX-g included), for every row.
    paper_rules = {
        "arithmetic": (SUPERGLUE_EIGHT, SUPERGLUE_EIGHT),
        "geometric": (SUPERGLUE_EIGHT + "|AX-b|AX-g", SUPERGLUE_EIGHT + "|AX-b|AX-g"),
        "harmonic": (SUPERGLUE_EIGHT + "|AX-b|AX-g", SUPERGLUE_EIGHT + "|AX-b|AX-g"),
    }
    rule_sets = (
        ("consistent: official 8 tasks", "official"),
        ("the paper's rules", "paper"),
        ("all 10 columns", "all"),
    )


def make_method(name: str, overrides: Mapping[str, Any] | None = None, like: Method | None = None) -> Method:
    """Aggregator ``name`` with the params it declares, taken from ``like`` (another aggregator)
    and then ``overrides``; a method of another family is one clear error."""
    from harness import registry

    cls = registry.get_method(name)
    if FAMILY not in cls.families:
        raise UserError(f"method {name!r} is not a leaderboard aggregator (see `harness list methods`)")
    declared = {p.name for p in cls.params}
    given = {**(like.p if like is not None else {}), **(overrides or {})}
    return cls(**{k: v for k, v in given.items() if k in declared})


def sibling(name: str, like: Method, **override: Any) -> Method:
    """Aggregator ``name`` with the params it shares with ``like`` (and ``override``)."""
    return make_method(name, override, like)
