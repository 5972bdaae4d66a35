"""``harness report``: one self-contained HTML page of every family (claims, tables, figures)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.common.errors import UserError


def configure_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="the HTML file to write (default results/report/index.html)")
    p.add_argument("--store", action="append", help="store directory (default: $HARNESS_STORE or results/runs, plus the "
                   "committed records in results/store); repeat it to read several stores as one")
    p.add_argument("--figures", help="folder of the figures to embed (default results/figures)")


def cmd_report(args: argparse.Namespace) -> int:
    from harness.cli.common import writable_file
    from harness.report.html import DEFAULT_OUT, FIGURES, write_report

    if args.out:
        writable_file(args.out, "--out", creates_folder=True)
    if args.figures and not Path(args.figures).is_dir():
        raise UserError(f"no figure folder at {args.figures} (draw them with `harness plot`, or leave out --figures)")
    out, size, seconds = write_report(Path(args.out) if args.out else DEFAULT_OUT, args.store,
                                      Path(args.figures) if args.figures else FIGURES)
    print(f"wrote {out} ({size / 1024:.0f} KiB) in {seconds:.1f} s")
    return 0
