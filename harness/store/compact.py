"""Store maintenance: pack finished records into large verified files, and check everything.

Reading costs about a millisecond or more per file whatever its size (open, footer, schema), so a
store of one file per cell reads in time linear in cells. ``harness compact`` reads a task's
loose records and packs (verifying each), writes them as one parquet file named by its sha256
under ``packs/<task>/``, then removes the inputs — a loose record only if it is still the file
that was read (a newer record written meanwhile stays, and wins over the pack). The write path
stays one file per cell; a crash at any point leaves each cell readable from the old or the new
file, and readers drop the duplicate. ``Store.load`` packs a task on its own past
``$HARNESS_COMPACT_THRESHOLD`` loose files (2000) when the store is writable.

A record without a content hash is left loose, never packed: a pack is named by its sha256, so
packing would make an unverifiable number look verified. ``$HARNESS_ALLOW_UNVERIFIED=1`` packs
it (the user's explicit decision); the CLI then says how many. Checkpoints of unfinished
cells (``checkpoints/``) are not records: compaction leaves them where they are.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    import pyarrow as pa

    from harness.store.store import Store


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
    from harness.common.files import atomic_write_bytes
    from harness.store.codec import combine, decode_pack
    from harness.store.paths import check_task

    packs = packs or []
    from harness.store.lease import try_acquire  # the lease machinery (threads, sockets) only when compacting

    lease = try_acquire(store.compact_lease_path(task), "compact")
    if lease is None:
        return None
    with lease:
        stats = {p: p.stat() for p, _ in loose if p.exists()}
        table = combine([t for _, t in loose], [t for _, t in packs])
        if table is None:
            return CompactResult(task, 0, 0, 0, None)
        data = encode_pack(table)
        target = store.root / "packs" / check_task(task) / f"{hashlib.sha256(data).hexdigest()}.parquet"
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
    from harness.common.files import HOST

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
    """Compact every task (or ``tasks``) holding at least ``min_files`` files (loose + packs).
    What the reads met (damaged and unverified files, left out) is in ``store.last_read``."""
    from harness.store.codec import ReadReport

    loose_all, packs_all = store.record_files(tasks), store.pack_files(tasks)
    results = []
    total = ReadReport()
    for task in sorted({p.parent.name for p in loose_all + packs_all}):
        # a folder no task could have made holds only files its own reads refuse (damaged)
        report = ReadReport()
        loose = [(p, store._read(p, report, pack=False)) for p in loose_all if p.parent.name == task]
        newest_first = sorted((p for p in packs_all if p.parent.name == task), key=lambda p: -p.stat().st_mtime)
        packs = [(p, store._read(p, report, pack=True)) for p in newest_first]
        for line in report.warnings():
            print(line, file=sys.stderr)
        total.add(report)
        loose_ok = [(p, t) for p, t in loose if t is not None]
        packs_ok = [(p, t) for p, t in packs if t is not None]
        if len(loose_ok) + len(packs_ok) < min_files:
            continue
        result = compact_tables(store, task, loose_ok, packs_ok)
        if result is not None:
            results.append(result)
    store.last_read = total
    return results
