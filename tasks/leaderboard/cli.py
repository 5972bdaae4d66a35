"""``harness leaderboard {glue,superglue,FILE.csv}``: print a board re-ranked by several aggregators.

    harness leaderboard glue [--methods arithmetic,geometric,harmonic] [--top 20]
                             [--format md|latex|csv] [--file PATH] [--task-set S] [--pair P]
                             [--missing M] [--nonpositive N] [--human TEXT] [--write]
    harness leaderboard my_board.csv [--role Mean-Rank=aggregate] [--lower WER] [--total Avg]
                             [--tolerance 0.1] [--sidecar roles.toml] [--param NAME=VALUE]

The table has the official score and rank, then per aggregator its score, rank and the change
against the official rank. A CSV path (or ``--file`` without a board) is the ``csv-board`` task:
your board under its own name, with column roles from the flags or a sidecar ``FILE.toml``
(``columns.py``). A published total that disagrees with the recomputed score is a warning line
on stderr (and in the footnotes). ``--format csv`` is complete unless ``--top`` is given.
``--write`` regenerates ``results/tables/leaderboards.md`` and the bump charts
``results/figures/leaderboard_<board>_bump.{png,svg}`` from the bundled boards; the claims'
cells it needs are reused from ``--store`` (and added there) when one is given, else computed in
a throwaway store, so that the store ``harness table`` reads does not change. A bad file is one
line on stderr and exit 2. This module is imported by ``harness --help``: it imports nothing
heavy at module level.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from harness.api import registry
from harness.api import Command, UserError, register_command, register_page
from tasks.leaderboard.leaderboard_tasks import make_method
from tasks.leaderboard.page import PAGE

from tasks.leaderboard.leaderboard_tasks import FAMILY
DEFAULT_METHODS = "arithmetic,geometric,harmonic"
OVERRIDES = (("task_set", "task-set"), ("pair", "pair"), ("missing", "missing"), ("nan", "nan"),
             ("nonpositive", "nonpositive"), ("floor", "floor"))
METHOD_PARAMS = (*(name for name, _ in OVERRIDES), "rank_decimals")
OWN_BOARD = "csv-board"
# flags of a board of your own → csv-board params
OWN_FLAGS = (("role", "roles"), ("lower", "lower"), ("lower_as", "lower_as"), ("total", "total"),
             ("tolerance", "tolerance"), ("sidecar", "sidecar"))
TOP_DEFAULT = 20


def _boards() -> list[str]:
    return [name for name, t in registry.tasks().items() if t.family == FAMILY and t.in_default_grid]


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("board", nargs="?", metavar="BOARD|FILE.csv",
                   help=f"a bundled board ({', '.join(_boards())}) or the path of your own leaderboard CSV")
    p.add_argument("--methods", default=DEFAULT_METHODS, help=f"aggregators, comma-separated (default {DEFAULT_METHODS}); official is always the reference column")
    p.add_argument("--top", type=int, help=f"rows ranked <= N by some aggregator, plus the human row (0 = all; default {TOP_DEFAULT}, csv: all)")
    p.add_argument("--format", choices=["md", "latex", "csv"], default="md")
    p.add_argument("--file", help="a leaderboard CSV: with a board name, another snapshot of that board; alone, your own board (csv-board)")
    p.add_argument("--human", help="text naming the human row; 'none' if the board has none (default: 'Human Baselines'; your own board: auto)")
    p.add_argument("--role", action="append", default=[], metavar="COLUMN=ROLE",
                   help="your own board: a column's role, task | aggregate | ignore (repeatable)")
    p.add_argument("--lower", help="your own board: lower-is-better task columns, joined by |")
    p.add_argument("--lower-as", dest="lower_as", help="your own board: how a lower-is-better score is averaged: 100-x (default), 1-x, -x, 1/x")
    p.add_argument("--total", help="your own board: the published total checked against the recomputed score (default Score; none)")
    p.add_argument("--tolerance", type=float, help="your own board: allowed |published total - recomputed| (default: the rounding bound)")
    p.add_argument("--sidecar", help="your own board: TOML of its name and column roles (default FILE.toml when present; none)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a task or aggregator param, as `harness run --param` takes it (repeatable; one value each)")
    p.add_argument("--task-set", help="official | all | first<k> | paper | A|B|C (default official)")
    p.add_argument("--pair", choices=["mean", "first", "second"], help="how an a/b cell becomes one number (default mean)")
    p.add_argument("--missing", choices=["drop-system", "drop-task", "error"], help="a missing cell (default drop-system)")
    p.add_argument("--nan", choices=["missing", "zero"], help="a cell printed as NaN (default: missing; official: zero)")
    p.add_argument("--nonpositive", choices=["drop-system", "error", "clip", "shift"], help="a score <= 0 under geometric/harmonic (default drop-system)")
    p.add_argument("--floor", type=float, help="floor of clip/shift (default 1.0)")
    p.add_argument("--write", action="store_true", help="regenerate results/tables/leaderboards.md and the bump charts (bundled boards)")
    p.add_argument("--store", help="store for the claims' cells with --write (default $HARNESS_STORE or results/runs)")


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name, _ in OVERRIDES if getattr(args, name, None) is not None}


def board_task(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Which task the verb shows, and its file: a bundled board by name, or ``csv-board`` for a
    CSV path (or ``--file`` alone)."""
    boards = _boards()
    if args.board in boards:
        return args.board, ({"file": args.file} if args.file else {})
    if args.board is None:
        if args.file:
            return OWN_BOARD, {"file": args.file}
        raise UserError(f"name a board ({', '.join(boards)}) or give the path of your own leaderboard CSV")
    if args.file:
        raise UserError(f"{args.board!r} is not a bundled board ({', '.join(boards)}); give your CSV once, as BOARD or --file")
    if args.board.lower().endswith(".csv") or os.path.isfile(args.board):
        return OWN_BOARD, {"file": args.board}
    import difflib

    close = difflib.get_close_matches(args.board, boards, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UserError(f"unknown board {args.board!r}: {hint}(boards: {', '.join(boards)}; or the path of a CSV file)")


def split_params(args: argparse.Namespace, task_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--param`` and the board flags → (task params, aggregator overrides); unknown names are errors."""
    task_cls = registry.get_task(task_name)
    declared = {p.name for p in task_cls.params}
    task_params: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for text in args.param:
        name, eq, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name:
            raise UserError(f"malformed --param {text!r}: use name=value")
        if name in declared:
            task_params[name] = value
        elif name in METHOD_PARAMS:
            overrides[name] = value
        else:
            raise UserError(f"unknown parameter {name!r} for {task_name} (task: {', '.join(sorted(declared))}; "
                            f"aggregators: {', '.join(METHOD_PARAMS)})")
    overrides.update(overrides_from(args))
    if args.human is not None:
        task_params["human"] = args.human or "none"
    own = {param: getattr(args, flag) for flag, param in OWN_FLAGS if getattr(args, flag) not in (None, [])}
    if own and task_name != OWN_BOARD:
        flag = next(f for f, prm in OWN_FLAGS if prm in own).replace("_", "-")
        raise UserError(f"--{flag} is for a board of your own (`harness leaderboard FILE.csv`), not {task_name}")
    if "roles" in own:
        own["roles"] = "|".join(own["roles"])
    task_params.update(own)
    return task_params, overrides


def run(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 0:
        raise UserError(f"--top must be >= 0, got {args.top}")
    if args.write:
        if args.file or (args.board and args.board not in _boards()):
            raise UserError("--write regenerates the committed page from the bundled boards; drop --file (or drop --write)")
        from harness.report.page import write_family_page

        for path in write_family_page(FAMILY, args.store, force=True):
            print(f"wrote {path}")
        return 0
    from tasks.leaderboard._render import view_table
    from tasks.leaderboard._views import build_view

    task_name, task_params = board_task(args)
    more, overrides = split_params(args, task_name)
    names = [m.strip() for m in args.methods.split(",") if m.strip() and m.strip() != "official"]
    methods = [make_method(n, overrides) for n in names]
    task = registry.get_task(task_name)(**{**task_params, **more})
    board = task.board()
    view = build_view(task.display_name(), board, task.rules(board), methods, make_method("official", overrides))
    top = args.top if args.top is not None else (0 if args.format == "csv" else TOP_DEFAULT)
    for warning in view.warnings:
        print(f"harness: warning: {warning}", file=sys.stderr)
    try:
        print(view_table(view, args.format, top or None), flush=True)
    except BrokenPipeError:  # `harness leaderboard glue | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


register_command(Command(name=FAMILY, help="a leaderboard re-ranked by arithmetic, geometric and harmonic means", configure=configure, run=run))


register_page(FAMILY, PAGE)
