"""``harness leaderboard {glue,superglue}``: print a board re-ranked by several aggregators.

    harness leaderboard glue [--methods arithmetic,geometric,harmonic] [--top 20]
                             [--format md|latex|csv] [--file PATH] [--task-set S] [--pair P]
                             [--missing M] [--nonpositive N] [--human TEXT] [--write]

The table has the official score and rank, then per aggregator its score, rank and the change
against the official rank. ``--write`` regenerates ``results/tables/leaderboards.md`` and the
bump charts ``results/figures/leaderboard_<board>_bump.{png,svg}`` from the bundled boards; it
also runs (or reuses from ``--store``) the cells the family's claims need and puts their
verdicts on the page. A bad file is one line on stderr and exit 2. This module is imported by
``harness --help``: it imports nothing heavy at module level.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from harness import registry
from harness.errors import UserError
from harness.registry import Command, register_command, register_page
from tasks.leaderboard.leaderboard_tasks import make_method
from tasks.leaderboard.page import write_page

from tasks.leaderboard.leaderboard_tasks import FAMILY
DEFAULT_METHODS = "arithmetic,geometric,harmonic"
OVERRIDES = (("task_set", "task-set"), ("pair", "pair"), ("missing", "missing"), ("nan", "nan"),
             ("nonpositive", "nonpositive"), ("floor", "floor"))


def _boards() -> list[str]:
    return [name for name, t in registry.tasks().items() if t.family == FAMILY]


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("board", choices=_boards(), help="which leaderboard task")
    p.add_argument("--methods", default=DEFAULT_METHODS, help=f"aggregators, comma-separated (default {DEFAULT_METHODS}); official is always the reference column")
    p.add_argument("--top", type=int, default=20, help="rows ranked <= N by some aggregator, plus the human row (0 = all; default 20)")
    p.add_argument("--format", choices=["md", "latex", "csv"], default="md")
    p.add_argument("--file", help="your own leaderboard CSV (System column, one column per task; see tasks/leaderboard/board.py)")
    p.add_argument("--human", help="text naming the human row; 'none' if the board has none (default: 'Human Baselines')")
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


def task_for(args: argparse.Namespace) -> Any:
    params = {}
    if args.file:
        params["file"] = args.file
    if args.human is not None:
        params["human"] = args.human or "none"
    return registry.get_task(args.board)(**params)


def run(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise UserError(f"--top must be >= 0, got {args.top}")
    if args.write:
        if args.file:
            raise UserError("--write regenerates the committed page from the bundled boards; drop --file (or drop --write)")
        for path in write_page(args.store):
            print(f"wrote {path}")
        return 0
    from tasks.leaderboard.render import view_table
    from tasks.leaderboard.views import build_view

    overrides = overrides_from(args)
    names = [m.strip() for m in args.methods.split(",") if m.strip() and m.strip() != "official"]
    methods = [make_method(n, overrides) for n in names]
    task = task_for(args)
    board = task.board()
    view = build_view(task.name, board, task.rules(board), methods, make_method("official", overrides))
    try:
        print(view_table(view, args.format, args.top or None), flush=True)
    except BrokenPipeError:  # `harness leaderboard glue | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


register_command(Command(name=FAMILY, help="a leaderboard re-ranked by arithmetic, geometric and harmonic means", configure=configure, run=run))


register_page(FAMILY, write_page)
