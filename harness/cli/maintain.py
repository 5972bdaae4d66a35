"""The verbs that look after stores and references: check, compact, fsck, merge."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import csv_list, existing_store
from harness.common.errors import UserError
from harness.common.text import did_you_mean


def configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("--update", action="store_true", help="re-measure and merge the re-measured groups into the references")
    p.add_argument("--tasks", help="restrict to these tasks or families")
    p.add_argument("--workers", type=int, default=1, help="cells at once (fewer torch threads each: a multi-threaded task such as CIFAR may move in its last digits, inside the tolerances)")



def cmd_check(args: argparse.Namespace) -> int:
    from harness.judge.reference import run_check

    if args.workers < 1:
        raise UserError(f"--workers must be an integer >= 1, got {args.workers}")
    code, lines = run_check(update=args.update, tasks=csv_list(args.tasks) if args.tasks else None, workers=args.workers)
    print("\n".join(lines))
    return code




def configure_compact(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $HARNESS_STORE or results/runs)")
    p.add_argument("--tasks", help="comma-separated task names (default: every task in the store)")
    p.add_argument("--min-files", type=int, default=2, help="skip a task with fewer files than this (default 2)")


def cmd_compact(args: argparse.Namespace) -> int:
    from harness.store.compact import compact

    if args.min_files < 1:
        raise UserError(f"--min-files must be an integer >= 1, got {args.min_files}")
    store = existing_store(args.store)
    tasks = csv_list(args.tasks) if args.tasks else None
    stored = sorted({p.parent.name for p in store.record_files() + store.pack_files()})
    for task in tasks or []:
        if task not in stored:
            raise UserError(f"no records of task {task!r} in {store.root}{did_you_mean(task, stored)} (stored: {', '.join(stored) or 'none'})")
    store.ensure_writable()
    results = compact(store, tasks, args.min_files)
    for r in results:
        print(f"{r.task}: {r.inputs} files -> {r.pack.relative_to(store.root) if r.pack else '-'} ({r.cells} cells, {r.rows} rows)")
    if not results:
        print("nothing to compact")
    met = store.last_read
    if met.unverified_read:
        print(f"note: {len(met.unverified_read)} record(s) without a content hash packed as read "
              "($HARNESS_ALLOW_UNVERIFIED=1): the pack's hash vouches for the bytes from now on, not for how they were made")
    left = len(met.damaged) + len(met.unreadable) + len(met.unverified)
    if left:
        print(f"{left} file(s) left out (damaged, unreadable or unverified; see the warnings above)", file=sys.stderr)
    return 1 if left else 0


def configure_fsck(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $HARNESS_STORE or results/runs)")
    p.add_argument("--data", action="store_true", help="also re-hash every data file of every registered task")
    p.add_argument("--no-quarantine", action="store_true", help="report damaged files without moving them")


def cmd_fsck(args: argparse.Namespace) -> int:
    from harness.store.fsck import fsck

    store = existing_store(args.store, quarantine=not args.no_quarantine, auto_compact=0)
    result = fsck(store, data=args.data)
    r = result.report
    print(f"store {store.root}: {r.verified} records verified, {r.legacy} unverified (no content hash: a failure), "
          f"{r.packs} packs verified, {len(r.damaged)} damaged, {len(r.unreadable)} unreadable; "
          f"{result.temporaries} stale temp files and {result.stale_leases} stale leases removed")
    for line in r.warnings():
        print(line, file=sys.stderr)
    for path in [*r.unverified, *r.unverified_read][:20]:
        print(f"  unverified (no content hash): {path}", file=sys.stderr)
    cp = result.checkpoints
    print(f"checkpoints of unfinished cells: {cp.verified} verified ({cp.bytes / 2**20:.1f} MiB), {len(cp.damaged)} damaged")
    for line in cp.warnings():
        print(line, file=sys.stderr)
    if args.data:
        print(f"data: {result.data_ok} files match their sha256, {len(result.data_bad or [])} do not")
        for line in result.data_bad or []:
            print(f"  {line}", file=sys.stderr)
    return 0 if result.clean else 1


def configure_merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SRC", help="store folders produced elsewhere (packed or not)")
    p.add_argument("--into", "--store", dest="into", metavar="DEST",
                   help="the store to merge into (default $HARNESS_STORE or results/runs)")
    p.add_argument("--dry-run", action="store_true", help="print what would be copied and the conflicts; write nothing")
    p.add_argument("--records-only", action="store_true", help="copy records, not per-example predictions (what results/store keeps)")


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.plan import registry
    from harness.store.merge import check_source, merge, resolve_dest
    from harness.store.store import Store

    dest_root = resolve_dest(args.into)
    seen: set[Path] = set()
    sources = []
    for text in args.sources:  # every source checked before anything is written
        root = check_source(text, dest_root)
        if root.resolve() not in seen:
            seen.add(root.resolve())
            sources.append(root)
    if dest_root.exists() and not dest_root.is_dir():
        raise UserError(f"the store to merge into, {dest_root}, is not a folder; pass --into DIR")
    registry.load_plugins()  # families register their metrics (which ones measure time)
    dest = Store(dest_root, quarantine=not args.dry_run, auto_compact=0)
    if not args.dry_run:
        dest.ensure_writable()
    result = merge(sources, dest, dry_run=args.dry_run, predictions=not args.records_only)
    for conflict in result.conflicts:
        print(conflict.line())
    for path, why in result.corrupt:
        print(f"warning: {path}: {why}; skipped, not copied", file=sys.stderr)
    for path, why in result.unreadable:
        print(f"warning: cannot read {path} ({why}); skipped, not copied", file=sys.stderr)
    for cell, holder in result.busy:
        print(f"busy {cell.describe()}: being computed in DEST by {holder}; not copied, merge again later", file=sys.stderr)
    for path in result.unverified_skipped:
        print(f"warning: {path}: no content hash; skipped, not copied (set $HARNESS_ALLOW_UNVERIFIED=1 to copy it)",
              file=sys.stderr)
    if result.unverified:
        print(f"note: {result.unverified} source record(s) without a content hash copied as read "
              "($HARNESS_ALLOW_UNVERIFIED=1), with a hash from now on")
    if result.failures_left:
        print(f"note: {result.failures_left} failed cell(s) in the sources not merged: a failure belongs to the "
              "machine it happened on; those cells stay missing here and the next `harness run` computes them")
    print(result.summary())
    return 0 if result.complete else 1
