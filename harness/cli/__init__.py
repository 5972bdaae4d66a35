"""The ``harness`` command line: one module per group of verbs, imported only for the verb asked.

``harness --help`` and ``harness list`` import argparse, the registry and the families'
declarations, never torch, NumPy or pandas: a verb's module (and what it needs) is imported
only when that verb runs or its own ``--help`` is asked for. A :class:`UserError` becomes one line
on stderr and exit code 2; failed cells make ``run`` exit 1 after its summary.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from harness import __version__
from harness.common.errors import UserError
from harness.common.memory import tune_allocators
from harness.common.text import one_line

#: verb → (module defining ``configure_<verb>`` and ``cmd_<verb>``, one line of help)
VERBS: dict[str, tuple[str, str]] = {
    "list": ("harness.cli.read", "registered tasks, methods and claims"),
    "run": ("harness.cli.run", "run the cells of a grid (cached cells are skipped)"),
    "results": ("harness.cli.read", "export stored records"),
    "table": ("harness.cli.read", "comparison table from stored records"),
    "claims": ("harness.cli.read", "verdicts of the declared claims, from stored records"),
    "plot": ("harness.cli.plot", "draw the families' figures into results/figures/ (refuses to replace a figure with one drawn from less)"),
    "report": ("harness.cli.report", "one self-contained HTML page of every family: claims, tables, figures"),
    "check": ("harness.cli.maintain", "re-run the smoke grid and compare with results/reference/<family>.csv"),
    "compact": ("harness.cli.maintain", "pack finished records into larger verified files (fast reads)"),
    "fsck": ("harness.cli.maintain", "verify every stored record against its content hash"),
    "merge": ("harness.cli.maintain", "merge stores produced elsewhere into this one (conflicts reported, never overwritten)"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb (``only``: configure that verb's arguments alone, so that a
    command imports one verb module; the others are listed with their help line)."""
    from harness.plan import registry

    parser = argparse.ArgumentParser(
        prog="harness",
        description="Re-run published ML claims: tasks × methods × params × seeds, stored as parquet, "
        "rendered as tables and claim verdicts.",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, (module, text) in VERBS.items():
        p = sub.add_parser(verb, help=text, description=text)
        if only in (None, verb):
            owner = importlib.import_module(module)
            getattr(owner, f"configure_{verb}")(p)
            p.set_defaults(func=getattr(owner, f"cmd_{verb}"))
    for command in registry.commands().values():
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        if only in (None, command.name):
            command.configure(p)
            p.set_defaults(func=command.run)
    return parser


def _verb_of(argv: Sequence[str]) -> str | None:
    """The verb of a command line: its first word that is not an option."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    tune_allocators()  # before pyarrow is imported and before any thread starts
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(only=_verb_of(argv) or "")
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            print("harness: error: name a verb (e.g. `harness list`, `harness run --help`)", file=sys.stderr)
            return 2
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"harness: error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("harness: interrupted; finished cells are stored, the rest will run next time", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
