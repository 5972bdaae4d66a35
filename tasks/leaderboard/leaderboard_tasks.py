"""The ``glue``, ``superglue`` and ``csv-board`` tasks, and :class:`LeaderboardTask` to declare a board.

A leaderboard task is pure arithmetic on published scores: no torch, no seed, and every scale
computes the same thing. ``--param file=PATH`` points a task at another CSV (layout in
``board_file.py``); the cell key then hashes that file's bytes. ``csv-board`` runs a board of
your own under its own name, with column roles (task / aggregate / ignore, lower-is-better)
from params or a sidecar TOML (``columns.py``), no code to write. A bundled board is a few lines::

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
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Mapping

from harness.api import CellResult, DataFile, Method, Param, RunContext, SCALES, Task, UserError, register

FAMILY = "leaderboard"

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
        from harness.api import resolve

        return resolve(self.data[0])

    def fingerprint(self) -> str:
        """The bundled file's sha256, or the sha256 of the bytes of ``file`` (so edits change the key).
        A file of your own is parsed here too, so that a bad one stops `harness run` before any
        cell runs (one line, exit 2) instead of failing every cell."""
        if not self.p["file"]:
            return super().fingerprint()
        self.board()
        return "file:" + hashlib.sha256(self.path().read_bytes()).hexdigest()

    def validate(self) -> None:
        """A file of your own is parsed before anything runs (the fingerprint parses it too); what
        the parser read anyway (a trailing comma, an empty column) is said as a warning."""
        if self.p["file"]:
            for note in self.board().notes:
                warnings.warn(note, stacklevel=2)

    def board(self) -> Any:
        """The parsed board (cached per process by path, size, mtime and roles; treat it as read-only)."""
        path = self.path()
        stat = path.stat()
        human = "" if self.p["human"].strip().lower() in ("", "none") else self.p["human"]
        return _read_cached(str(path), stat.st_size, stat.st_mtime_ns, human, self.p["file"] or path.name, self.column_roles())

    def column_roles(self) -> Any:
        """Roles of the file's columns: the defaults (metadata names, aggregates detected by name)."""
        from tasks.leaderboard.columns import ColumnRoles

        return ColumnRoles()

    def display_name(self) -> str:
        """The name tables and footnotes show."""
        return self.name

    def rules(self, board: Any = None) -> Any:
        """The benchmark's rules. A file of your own that lacks the benchmark's official columns
        is scored by the mean of all its task columns, and has no paper's rules (said in ``note``)."""
        from tasks.leaderboard import tasksets
        from tasks.leaderboard._scoring import Rules

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
                                               f"{self.name}'s {', '.join(lacking[:3])}{' …' if len(lacking) > 3 else ''}; "
                                               "a board that is not " + self.name + ": `harness leaderboard FILE` or --tasks csv-board)")
        return rules

    # -- protocol ----------------------------------------------------------------------------
    def run(self, method: Method, ctx: RunContext) -> CellResult:
        from tasks.leaderboard._scoring import evaluate

        t0 = time.monotonic()
        board = self.board()
        rules = self.rules(board)
        evaluation = evaluate(board, rules, method, sibling)
        return CellResult(
            metrics=evaluation.metrics,
            eval_s=time.monotonic() - t0,
            predictions=evaluation.frame(board),
            info={"precision": "fp64", "notes": "; ".join(filter(None, [rules.note, *board.notes, *evaluation.notes]))},
        )


@lru_cache(maxsize=32)
def _read_cached(path: str, size: int, mtime_ns: int, human: str, source: str, roles: Any) -> Any:
    from tasks.leaderboard._board_file import read_board

    return read_board(path, human=human, source=source, roles=roles)


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


@register
class CsvBoard(LeaderboardTask):
    """A leaderboard CSV of your own, under its own name: column roles, lower-is-better tasks, total checked."""

    name: ClassVar[str] = "csv-board"
    in_default_grid: ClassVar[bool] = False  # it needs the user's file
    primary_metric: ClassVar[str] = "kendall_tau_vs_official"  # every cell has a ranking, with or without a human row
    table_metrics: ClassVar[tuple[str, ...]] = (
        "kendall_tau_vs_official", "human_rank", "n_moved_vs_official", "kendall_tau_vs_arithmetic",
        "n_score_mismatches", "max_abs_error_vs_published",
    )
    params = (
        Param("file", "str", "", "your leaderboard CSV (System column, one column per task; README: ### leaderboard)"),
        Param("human", "str", "auto", "text naming the human row; auto = a Human column or a row named like a human baseline, else none; none"),
        Param("sidecar", "str", "", "TOML of the board's name and column roles (default: FILE with .toml, if present; none = ignore it)"),
        Param("roles", "str", "", "COLUMN=ROLE joined by | (roles: task, aggregate, ignore), e.g. Mean-Rank=aggregate|Notes=ignore"),
        Param("lower", "str", "", "lower-is-better task columns joined by |"),
        Param("lower_as", "str", "", "how a lower-is-better score becomes higher-is-better: 100-x (default), 1-x, -x, 1/x",
              choices=("", "100-x", "1-x", "-x", "1/x")),
        Param("total", "str", "", "the published total checked against the recomputed score (default: a Score column; none)"),
        Param("tolerance", "float", -1.0, "allowed |published total - recomputed| before a warning (-1: the rounding bound)"),
    )

    def path(self) -> Path:
        if not self.p["file"]:
            raise UserError("csv-board needs your leaderboard CSV: --param file=PATH (harness run) or `harness leaderboard PATH`")
        return super().path()

    def sidecar_path(self) -> Path | None:
        given = self.p["sidecar"].strip()
        if given.lower() == "none":
            return None
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise UserError(f"csv-board.sidecar={given}: no such file; give the path of a TOML file, or sidecar=none")
            return path
        beside = self.path().with_suffix(".toml")
        return beside if beside.is_file() else None

    def config(self) -> dict[str, Any]:
        """The sidecar's keys, overridden by the params given (``roles`` adds to ``[columns]``)."""
        from tasks.leaderboard.columns import read_sidecar

        side = self.sidecar_path()
        conf: dict[str, Any] = read_sidecar(side) if side is not None else {}
        conf["columns"] = dict(conf.get("columns", {}))
        for key in ("human", "lower", "lower_as", "total"):
            default = next(p.default for p in self.params if p.name == key)
            if self.p[key] != default:
                conf[key] = self.p[key]
        if self.p["tolerance"] >= 0:
            conf["tolerance"] = self.p["tolerance"]
        elif self.p["tolerance"] != -1.0:
            raise UserError(f"csv-board.tolerance must be >= 0 (or -1 for the rounding bound), got {self.p['tolerance']}")
        conf["sidecar"] = str(side) if side is not None else ""
        return conf

    def column_roles(self) -> Any:
        from tasks.leaderboard.columns import (
            ColumnRoles,
            check_lower_as,
            parse_roles,
            split_names,
        )

        conf = self.config()
        columns = dict(conf["columns"])
        columns.update(dict(parse_roles(self.p["roles"], "csv-board.roles")))
        what = "csv-board roles" + (f" ({conf['sidecar']})" if conf["sidecar"] else "")
        return ColumnRoles(
            columns=tuple(columns.items()),
            lower=split_names(conf.get("lower", ""), f"{what}: lower"),
            lower_as=check_lower_as(conf.get("lower_as") or "100-x", f"{what}: lower_as"),
            total=conf.get("total", ""),
            tolerance=float(conf["tolerance"]) if "tolerance" in conf else None,
            what=what,
        )

    def board(self) -> Any:
        path = self.path()
        stat = path.stat()
        human = self.config().get("human", "auto").strip()
        human = "" if human.lower() in ("", "none") else ("auto" if human.lower() == "auto" else human)
        return _read_cached(str(path), stat.st_size, stat.st_mtime_ns, human, self.p["file"], self.column_roles())

    def display_name(self) -> str:
        return self.config().get("name") or self.path().stem

    def fingerprint(self) -> str:
        """The sha256 of the CSV's bytes and of its sidecar's (both decide the numbers); the file
        is parsed here so that a bad one stops `harness run` before any cell runs."""
        self.board()
        digest = hashlib.sha256(self.path().read_bytes())
        side = self.sidecar_path()
        if side is not None:
            digest.update(b"\0sidecar\0" + side.read_bytes())
        return "file:" + digest.hexdigest()

    def rules(self, board: Any = None) -> Any:
        """The board's own score rule (sidecar ``official``, default: the mean of every task column)."""
        from tasks.leaderboard import tasksets
        from tasks.leaderboard._scoring import Rules

        board = board if board is not None else self.board()
        official = self.config().get("official", "all")
        tasksets.parse_task_set(official, board.columns, "all", what=f"official ({self.sidecar_path()})")
        return Rules(official=official)


def make_method(name: str, overrides: Mapping[str, Any] | None = None, like: Method | None = None) -> Method:
    """Aggregator ``name`` with the params it declares, taken from ``like`` (another aggregator)
    and then ``overrides``; a method of another family is one clear error."""
    from harness.api import registry

    cls = registry.get_method(name)
    if FAMILY not in cls.families:
        raise UserError(f"method {name!r} is not a leaderboard aggregator (see `harness list methods`)")
    declared = {p.name for p in cls.params}
    given = {**(like.p if like is not None else {}), **(overrides or {})}
    return cls(**{k: v for k, v in given.items() if k in declared})


def sibling(name: str, like: Method, **override: Any) -> Method:
    """Aggregator ``name`` with the params it shares with ``like`` (and ``override``)."""
    return make_method(name, override, like)
