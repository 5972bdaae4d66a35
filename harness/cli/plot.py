"""``harness plot``: every family's figures, guarded against replacing a committed figure with less."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import open_store, task_names
from harness.common.errors import UserError
from harness.plan import registry


def configure_plot(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", help="task or family names (default: every family with records)")
    p.add_argument("--output", help="folder (default results/figures); any other folder is written without the guard")
    p.add_argument("--force", action="store_true", help="replace committed figures even when the store cannot redraw all the cells they show")
    p.add_argument("--store", action="append", help="store directory (default $HARNESS_STORE or results/runs); repeat to read several as one")



def cmd_plot(args: argparse.Namespace) -> int:
    """Draw every family's figures into a scratch folder, then move them into place. Into the
    committed results/figures only when no figure there would lose a cell it shows (see
    harness.report.figures), unless --force; --output elsewhere is always written."""
    import shutil
    import tempfile

    from harness.report import figures as guard
    from harness.common.files import ROOT

    stores = [open_store(argparse.Namespace(store=s)) for s in (args.store or [None])]
    if len(stores) > 1:
        from harness.store.union import StoreUnion

        store: Any = StoreUnion(stores)
    else:
        store = stores[0]
    records = store.load(task_names(args.tasks))
    committed = ROOT / "results" / "figures"
    outdir = Path(args.output) if args.output else committed
    guarded = outdir.resolve() == committed.resolve()
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"--output {outdir} is a file, not a folder")
    families = sorted(set(records["family"])) if len(records) else []
    drawn: dict[str, dict[str, Any]] = {}
    files: list[Path] = []
    staging = Path(tempfile.mkdtemp(prefix="harness-plot-"))
    try:
        for family in families:
            plots = registry.plotters().get(family, [])
            if not plots:
                continue
            guard.take_noted()
            paths = [Path(p) for plot in plots for p in plot(records[records["family"] == family], store, staging)]
            noted = guard.take_noted()
            family_tasks = [t for t, cls in registry.tasks().items() if cls.family == family]
            for path in paths:
                cells = noted.get(path.stem) or guard.fallback_sources(path.stem, family, records[records["family"] == family], family_tasks)
                drawn[path.stem] = {"family": family, "cells": cells}
            files += paths
        if not files:
            raise UserError("nothing to plot: no stored records of a family with figures (run `harness run` first)")
        problems = guard.refusals(outdir, drawn) if guarded and not args.force else []
        if problems:
            raise UserError(f"refusing to replace {len(problems)} committed figure(s) in {outdir}: "
                            f"{'; '.join(problems)}. Run their cells (with predictions) first, read several stores "
                            f"(--store A --store B), draw elsewhere (--output DIR), or --force to replace them")
        outdir.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.move(str(path), str(outdir / path.name))
            print(f"wrote {outdir / path.name}")
        guard.write_manifest(outdir, drawn)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    asked = set(records["task"])
    kept = sorted(stem for stem, entry in guard.read_manifest(outdir).items()
                  if stem not in drawn and any(group.split(" · ")[0] in asked for group in entry.get("cells", {})))
    if kept:
        print(f"kept {len(kept)} figure(s) this store cannot draw (per-class figures need stored predictions): "
              f"{', '.join(kept)}", file=sys.stderr)
    return 0


