"""Store maintenance: pack finished records into large verified files, and check everything.

Reading costs about a millisecond or more per file whatever its size (open, footer, schema), so a
store of one file per cell reads in time linear in cells. ``harness compact`` reads a task's
loose records and packs (verifying each), writes them as one parquet file named by its sha256
under ``packs/<task>/``, then removes the inputs — a loose record only if it is still the file
that was read (a newer record written meanwhile stays, and wins over the pack). The write path
stays one file per cell; a crash at any point leaves each cell readable from the old or the new
file, and readers drop the duplicate. ``Store.load`` packs a task on its own past
``$HARNESS_COMPACT_THRESHOLD`` loose files (2000) when the store is writable.

``harness fsck`` verifies every record and pack (and, with ``--data``, re-hashes every data file
of every registered task, ignoring the sha256 memo) and prints counts; exit 1 when anything is
damaged, unreadable or mismatched.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:  # the CLI imports this module for its verbs' arguments: no pyarrow until one runs
    import pyarrow as pa

    from harness.store import ReadReport, Store


@dataclass
class CompactResult:
    task: str
    cells: int
    rows: int
    inputs: int
    pack: Path | None


def encode_pack(table: pa.Table) -> bytes:
    """Rows sorted by (cell_key, metric), so the same records always give the same bytes (and name)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = table.sort_by([("cell_key", "ascending"), ("metric", "ascending")]).replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=1 << 20, store_schema=False)
    return sink.getvalue().to_pybytes()


def compact_tables(store: Store, task: str, loose: list[tuple[Path, pa.Table]],
                   packs: list[tuple[Path, pa.Table]] | None = None) -> CompactResult | None:
    """Pack already verified tables of one task; None when another process is compacting it."""
    from harness.store import atomic_write_bytes, combine, decode_pack

    packs = packs or []
    from harness.lease import try_acquire  # the lease machinery (threads, sockets) only when compacting

    lease = try_acquire(store.root / "leases" / f"compact~{task}.lease", "compact")
    if lease is None:
        return None
    with lease:
        stats = {p: p.stat() for p, _ in loose if p.exists()}
        table = combine([t for _, t in loose], [t for _, t in packs])
        if table is None:
            return CompactResult(task, 0, 0, 0, None)
        data = encode_pack(table)
        target = store.root / "packs" / task / f"{hashlib.sha256(data).hexdigest()}.parquet"
        atomic_write_bytes(target, lambda h: h.write(data))
        decode_pack(target, target.read_bytes())  # what is on disk verifies before any input goes
        for path, before in stats.items():
            _remove_if_unchanged(path, before)
        for path, _ in packs:
            if path != target:
                path.unlink(missing_ok=True)
        cells = len(set(table.column("cell_key").to_pylist()))
        return CompactResult(task, cells, table.num_rows, len(loose) + len(packs), target)


def _remove_if_unchanged(path: Path, before: os.stat_result) -> None:
    """Remove a packed loose record unless a writer replaced it since it was read: move it aside
    first (atomic), then look at what was moved, and put back a file that is not the one packed."""
    from harness.lease import HOST

    aside = path.with_name(f".{path.name}~{HOST}~{os.getpid()}~packed.tmp")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    moved = aside.stat()
    if (moved.st_ino, moved.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
        try:
            os.link(aside, path)  # a newer record: back under its name, unless an even newer one is there
        except FileExistsError:
            pass
    aside.unlink()


def compact(store: Store, tasks: list[str] | None = None, min_files: int = 2) -> list[CompactResult]:
    """Compact every task (or ``tasks``) holding at least ``min_files`` files (loose + packs)."""
    from harness.store import ReadReport

    names = tasks if tasks is not None else sorted({p.parent.name for p in store.record_files() + store.pack_files()})
    results = []
    for task in names:
        report = ReadReport()
        loose = [(p, store._read(p, report, pack=False)) for p in store.record_files([task])]
        packs = [(p, store._read(p, report, pack=True)) for p in sorted(store.pack_files([task]), key=lambda p: -p.stat().st_mtime)]
        for line in report.warnings():
            print(line, file=sys.stderr)
        loose_ok = [(p, t) for p, t in loose if t is not None]
        packs_ok = [(p, t) for p, t in packs if t is not None]
        if len(loose_ok) + len(packs_ok) < min_files:
            continue
        result = compact_tables(store, task, loose_ok, packs_ok)
        if result is not None:
            results.append(result)
    return results


@dataclass
class FsckResult:
    report: ReadReport
    temporaries: int
    stale_leases: int
    data_ok: int = 0
    data_bad: list[str] | None = None

    @property
    def clean(self) -> bool:
        return not (self.report.damaged or self.report.unreadable or self.data_bad)


def fsck(store: Store, data: bool = False) -> FsckResult:
    """Verify every record and pack; remove dead writers' temp files and stale leases."""
    from harness.lease import default_ttl, is_stale
    from harness.store import ReadReport

    writable = os.access(store.root, os.W_OK)
    temporaries = len(store.clean_temporaries()) if writable else 0
    stale = 0
    for path in (store.root / "leases").glob("*.lease") if writable else ():
        if is_stale(path, default_ttl()):
            path.unlink(missing_ok=True)
            stale += 1
    report = ReadReport()
    for path in store.record_files():
        store._read(path, report, pack=False)
    for path in store.pack_files():
        store._read(path, report, pack=True)
    result = FsckResult(report, temporaries, stale)
    if data:
        result.data_ok, result.data_bad = check_data()
    return result


def check_data() -> tuple[int, list[str]]:
    """Re-hash every data file of every registered task from its bytes (no memo): the number that
    match, and one line per missing or mismatched file. ``harness check`` can call this too."""
    from harness import registry
    from harness.data import locate, sha256_fresh

    ok, bad, seen = 0, [], set()
    for task in registry.tasks().values():
        for file in task.data:
            if file.path in seen:
                continue
            seen.add(file.path)
            path = locate(file)
            if path is None:
                bad.append(f"{file.path}: missing")
            elif sha256_fresh(path) != file.sha256:
                bad.append(f"{path}: sha256 differs from the one {task.name} expects")
            else:
                ok += 1
    return ok, bad


# -- command line (wired into harness/cli.py) ------------------------------------------------
def configure_compact(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $HARNESS_STORE or results/runs)")
    p.add_argument("--tasks", help="comma-separated task names (default: every task in the store)")
    p.add_argument("--min-files", type=int, default=2, help="skip a task with fewer files than this (default 2)")


def main_compact(args: argparse.Namespace) -> int:
    from harness.store import Store

    store = Store(args.store)
    store.ensure_writable()
    tasks = [t for t in args.tasks.split(",") if t] if args.tasks else None
    results = compact(store, tasks, args.min_files)
    for r in results:
        print(f"{r.task}: {r.inputs} files -> {r.pack.relative_to(store.root) if r.pack else '-'} ({r.cells} cells, {r.rows} rows)")
    if not results:
        print("nothing to compact")
    return 0


def configure_fsck(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $HARNESS_STORE or results/runs)")
    p.add_argument("--data", action="store_true", help="also re-hash every data file of every registered task")
    p.add_argument("--no-quarantine", action="store_true", help="report damaged files without moving them")


def main_fsck(args: argparse.Namespace) -> int:
    from harness.store import Store

    store = Store(args.store, quarantine=not args.no_quarantine, auto_compact=0)
    result = fsck(store, data=args.data)
    r = result.report
    print(f"store {store.root}: {r.verified} records verified, {r.legacy} unverified (written before hashes), "
          f"{r.packs} packs verified, {len(r.damaged)} damaged, {len(r.unreadable)} unreadable; "
          f"{result.temporaries} stale temp files and {result.stale_leases} stale leases removed")
    for line in r.warnings():
        print(line, file=sys.stderr)
    if args.data:
        print(f"data: {result.data_ok} files match their sha256, {len(result.data_bad or [])} do not")
        for line in result.data_bad or []:
            print(f"  {line}", file=sys.stderr)
    return 0 if result.clean else 1
