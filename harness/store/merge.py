"""``harness merge SRC… [--into DEST]``: bring stores produced on other machines into one.

Workers on several machines may each write their own store (a node's local disk, a laptop, a
CI artefact). Merging copies into DEST every finished cell it lacks, de-duplicated by cell key,
and never replaces a record DEST already holds:

- **verified**: every source record and pack is read through the store's own checks (content
  hash, schema, cell key = file name, every key and task a name that may become a path: a pack
  whose cell key is ``../../x`` is damaged, never joined to DEST's path); a damaged or unreadable
  source file is reported and skipped, never copied. A record without a content hash is not
  copied either (reported; ``$HARNESS_ALLOW_UNVERIFIED=1`` copies it, and says so): copying
  would give it a hash it never had. Sources are opened read-only: nothing in a source is moved or
  quarantined. Predictions travel with their record after the same check of their own hash
  (damaged ones stay behind, reported; a later merge fills in predictions DEST lacks for a
  record it holds identically).
- **no silent overwrite**: a cell DEST already holds is compared metric by metric (exact float
  equality; speeds and durations, registered with ``measures_time``, may differ between
  machines and are not compared). Equal: counted as already present. Different: a *conflict*,
  one line naming the cell and both values; DEST keeps its record and the command exits 1.
- **failures stay where they happened**: a source's ``failed/`` notes are counted, not copied.
  A failure says a cell could not run on that machine (its memory, its time limit, its data);
  in DEST such a note would only make ``--overwrite missing`` skip a cell that may well run
  there. The cell stays missing in DEST and the next ``harness run`` computes or retries it.
- **safe beside a run**: each cell is written under its lease in DEST (the one ``harness run``
  takes before computing it), through the store's atomic writer (temp file, fsync, rename).
  A cell a live run is computing is reported as busy and left to that run; after taking a
  lease, DEST is looked at again, so a record written meanwhile is compared, not replaced.

Cells from a source pack are written to DEST as one loose record each (the store's write path;
``harness compact`` packs them later). Exit status: 0 when DEST now holds every source cell
with equal numbers; 1 when something was not merged (a conflict, a damaged, unreadable or
unverified source file, a busy cell); 2 for bad input (a source that is missing, unreadable or not a store, or
DEST itself), with nothing written.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harness.common.errors import UserError
from harness.store.paths import check_key

if TYPE_CHECKING:  # the CLI imports this module to build its parser: no pyarrow until merge runs
    import pyarrow as pa

    from harness.store.codec import ReadReport

    from harness.store.store import Store

STORE_PARTS = ("records", "packs", "preds", "failed")


@dataclass(frozen=True)
class SourceCell:
    """One finished cell read (and verified) from a source store."""

    key: str
    task: str
    table: pa.Table
    source: Path
    hashed: bool = True  # False: a record written before content hashes existed (read unverified)

    def describe(self) -> str:
        row = self.table.slice(0, 1).to_pylist()[0]
        return f"{self.key[:12]} {self.task} {row['method']} seed {row['seed']} {row['scale']}"


@dataclass(frozen=True)
class Conflict:
    cell: SourceCell
    differences: list[tuple[str, float | None, float | None]]  # (metric, DEST's value, the source's)

    def line(self) -> str:
        metric, mine, theirs = self.differences[0]
        more = f" (+{len(self.differences) - 1} more metric(s) differ)" if len(self.differences) > 1 else ""
        return (f"conflict {self.cell.describe()}: {metric} DEST {_show(mine)} vs source {_show(theirs)}{more} "
                f"[from {self.cell.source}; DEST's record kept]")


@dataclass
class MergeResult:
    """What one merge did (or, with ``dry_run``, would do)."""

    dest: Path
    dry_run: bool
    copied: list[SourceCell] = field(default_factory=list)
    identical: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    corrupt: list[tuple[Path, str]] = field(default_factory=list)  # damaged source files (records, packs, predictions)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    busy: list[tuple[SourceCell, str]] = field(default_factory=list)  # a live run in DEST holds the cell's lease
    unverified_skipped: list[Path] = field(default_factory=list)  # source files without a content hash, not copied
    preds_copied: int = 0
    failures_left: int = 0  # failure notes in the sources, not merged

    @property
    def unverified(self) -> int:
        """Copied records written before content hashes existed (nothing to verify them by)."""
        return sum(not c.hashed for c in self.copied)

    @property
    def complete(self) -> bool:
        """DEST holds every source cell with equal numbers."""
        return not (self.conflicts or self.corrupt or self.unreadable or self.busy or self.unverified_skipped)

    def summary(self) -> str:
        copied = f"{len(self.copied)} {'would be copied' if self.dry_run else 'copied'}"
        parts = [copied, f"{self.identical} already present (identical)", f"{len(self.conflicts)} conflicts",
                 f"{len(self.corrupt)} corrupt skipped"]
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable skipped")
        if self.unverified_skipped:
            parts.append(f"{len(self.unverified_skipped)} unverified skipped")
        if self.busy:
            parts.append(f"{len(self.busy)} busy (being computed in DEST; merge again later)")
        head = "dry run, nothing written: " if self.dry_run else ""
        return f"{head}{', '.join(parts)} (into {self.dest})"


# -- locating stores -------------------------------------------------------------------------
def resolve_dest(into: str | None) -> Path:
    """``--into``/``--store``, else ``$HARNESS_STORE``, else results/runs (as every verb does)."""
    from harness.store.store import default_store

    where = into if into is not None else os.environ.get("HARNESS_STORE")
    if where is not None and not where.strip():
        raise UserError("--into (or $HARNESS_STORE) is empty; give the folder of the store to merge into")
    return Path(where) if where is not None else default_store()


def check_source(text: str, dest: Path) -> Path:
    """A source that exists, can be read, looks like a store and is not DEST; else a UserError."""
    if not text.strip():
        raise UserError("a source store path is empty")
    root = Path(text)
    if not root.exists():
        raise UserError(f"source store {root} does not exist")
    if not root.is_dir():
        raise UserError(f"source store {root} is not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise UserError(f"source store {root} is not readable by this user")
    parts = [root / p for p in STORE_PARTS if (root / p).is_dir()]
    if not parts:
        raise UserError(f"{root} is not a store (no records/, packs/, preds/ or failed/ folder in it)")
    blocked = [p for p in parts if not os.access(p, os.R_OK | os.X_OK)]
    if blocked:
        raise UserError(f"source store {root}: {blocked[0].name}/ is not readable by this user")
    if root.resolve() == dest.resolve():
        raise UserError(f"{root} is the destination store itself; name the stores to merge into it")
    return root


# -- reading ---------------------------------------------------------------------------------
def _rows_by_cell(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """Each cell's rows of a (pack) table, in one pass over its keys: zero-copy slices when each
    cell's rows are contiguous (``harness compact`` sorts packs by cell key), else a gather."""
    import pyarrow as pa

    runs: list[tuple[str, int, int]] = []  # (key, first row, past the last row)
    for i, key in enumerate(table.column("cell_key").to_pylist()):
        if runs and runs[-1][0] == key:
            runs[-1] = (key, runs[-1][1], i + 1)
        else:
            runs.append((key, i, i + 1))
    if len({key for key, _, _ in runs}) == len(runs):
        for key, start, stop in runs:
            yield key, _own_columns(table.slice(start, stop - start))
        return
    rows: dict[str, list[int]] = {}
    for key, start, stop in runs:
        rows.setdefault(key, []).extend(range(start, stop))
    for key, index in rows.items():
        yield key, _own_columns(table.take(pa.array(index, type=pa.int64())))


def _own_columns(table: pa.Table) -> pa.Table:
    """A cell's rows cut from a pack carry the other cells' parameter columns as nulls; drop
    those (``params_json`` holds every parameter), so the record looks like the one first written."""
    drop = [n for n in table.column_names if n.startswith(("p_", "tp_")) and table.column(n).null_count == len(table)]
    return table.drop_columns(drop) if drop else table


def read_source(root: Path, result: MergeResult) -> dict[str, SourceCell]:
    """Every verified cell of a source store, as the store itself reads it (a loose record wins
    over a packed copy, a newer pack over an older one). Damaged and unreadable files go to
    ``result``; the source is never written (no quarantine, no compaction)."""
    from harness.store.codec import ReadReport
    from harness.store.store import Store, _mtime

    source = Store(root, quarantine=False, auto_compact=0)
    report = ReadReport()
    cells: dict[str, SourceCell] = {}
    loose = source.record_files()
    for path, (table, hashed) in zip(loose, _read_all(source, loose, report, pack=False)):
        if table is not None:
            cells[path.stem] = SourceCell(path.stem, path.parent.name, table, root, hashed=hashed)
    packs = sorted(source.pack_files(), key=_mtime, reverse=True)
    for path, (table, _) in zip(packs, _read_all(source, packs, report, pack=True)):
        for key, rows in _rows_by_cell(table) if table is not None else ():
            cells.setdefault(key, SourceCell(key, path.parent.name, rows, root))
    _collect(report, result)
    finished = set(cells)
    result.failures_left += sum(1 for p in (root / "failed").glob("*.json") if p.stem not in finished)
    return cells


def _read_all(store: Store, paths: list[Path], report: ReadReport, pack: bool) -> list[tuple[pa.Table | None, bool]]:
    """Each file through the store's verified read, several at once (arrow reads release the GIL;
    a read costs milliseconds per file whatever its size), with whether it carried a hash."""
    from concurrent.futures import ThreadPoolExecutor

    from harness.store.codec import ReadReport

    def one(path: Path) -> tuple[pa.Table | None, bool, ReadReport]:
        mine = ReadReport()  # per file: tells a record without a hash from a verified one
        return store._read(path, mine, pack=pack), not mine.unverified_read, mine

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        done = list(pool.map(one, paths))
    for _, _, mine in done:
        report.add(mine)
    return [(table, hashed) for table, hashed, _ in done]


def _collect(report: ReadReport, result: MergeResult) -> None:
    result.corrupt += [(path, why) for path, why, _ in report.damaged]
    result.unreadable += report.unreadable
    result.unverified_skipped += report.unverified


class DestIndex:
    """DEST's verified records of the cells being merged, by key; kept current as cells are
    copied. Only DEST's records of those cells are read (and the packs of their tasks)."""

    def __init__(self, dest: Store, wanted: dict[str, str]) -> None:
        """``wanted``: cell key -> task, every cell the sources hold."""
        from harness.store.codec import ReadReport
        from harness.store.store import _mtime

        self.dest = dest
        self.report = ReadReport()
        self.cells: dict[str, pa.Table] = {}
        self.packs_seen: set[Path] = set()
        loose = [p for key, task in sorted(wanted.items()) if (p := self._loose(task, key)).exists()]
        for path, (table, _) in zip(loose, _read_all(dest, loose, self.report, pack=False)):
            if table is not None:
                self.cells[path.stem] = table
        packs = sorted(dest.pack_files(sorted(set(wanted.values()))), key=_mtime, reverse=True)
        for path, (table, _) in zip(packs, _read_all(dest, packs, self.report, pack=True)):
            self._add_pack(path, table)

    def _loose(self, task: str, key: str) -> Path:
        return self.dest.loose_path(task, key)

    def _add_pack(self, path: Path, table: pa.Table | None) -> None:
        self.packs_seen.add(path)
        for key, rows in _rows_by_cell(table) if table is not None else ():
            self.cells.setdefault(key, rows)

    def current(self, task: str, key: str) -> pa.Table | None:
        """DEST's record of ``key`` now: what the index holds, else a loose record or a pack
        written since the index was built (by a run or another merge)."""
        known = self.cells.get(key)
        if known is not None:
            return known
        path = self._loose(task, key)
        if path.exists():
            table = self.dest._read(path, self.report, pack=False)
            if table is not None:
                self.cells[key] = table
                return table
        for pack in self.dest.pack_files([task]):
            if pack not in self.packs_seen:
                self._add_pack(pack, self.dest._read(pack, self.report, pack=True))
        return self.cells.get(key)


# -- comparing -------------------------------------------------------------------------------
def _metric_values(table: pa.Table) -> dict[str, float | None]:
    return dict(zip(table.column("metric").to_pylist(), table.column("value").to_pylist()))


def differences(mine: pa.Table, theirs: pa.Table) -> list[tuple[str, float | None, float | None]]:
    """The metrics whose values differ (exact float equality; NaN equals NaN; a metric only one
    side has differs), leaving out speeds and durations, which vary with the machine."""
    from harness.plan.metrics import measures_time

    a, b = _metric_values(mine), _metric_values(theirs)
    out = []
    for metric in sorted(set(a) | set(b)):
        if measures_time(metric):
            continue
        x, y = a.get(metric), b.get(metric)
        if x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y)):
            continue
        out.append((metric, x, y))
    return out


def _show(value: float | None) -> str:
    return "absent" if value is None else repr(value)  # repr: the shortest text that reads back exactly


# -- writing ---------------------------------------------------------------------------------
def _source_predictions(cell: SourceCell, result: MergeResult) -> pa.Buffer | None:
    """The source's predictions file of ``cell`` as bytes, after checking its own hash; None
    when there is none, or when it is damaged or unreadable (reported)."""
    from harness.store.codec import Damaged, Unreadable, Unverified, _check_preds, _parse, _read_bytes

    path = cell.source / "preds" / f"{check_key(cell.key)}.parquet"
    try:
        data = _read_bytes(path)
        _check_preds(_parse(data), verify=True)
        return data
    except FileNotFoundError:
        return None
    except Unverified:
        result.unverified_skipped.append(path)
    except Unreadable as exc:
        result.unreadable.append((path, str(exc)))
    except Damaged as exc:
        result.corrupt.append((path, str(exc)))
    return None


def _write_predictions(dest: Store, key: str, data: pa.Buffer) -> None:
    from harness.common.files import atomic_write_bytes

    atomic_write_bytes(dest.preds_path(key), lambda handle: handle.write(memoryview(data)))


def _copy_predictions(dest: Store, cell: SourceCell, result: MergeResult, out: TextIO) -> None:
    """The copied record's predictions go with it. DEST may hold predictions of the cell without
    its record (a post-hoc run keeps its base's); the record's own replace them, with a note."""
    preds = _source_predictions(cell, result)
    if preds is None:
        return
    target = dest.preds_path(cell.key)
    try:
        before = target.read_bytes()
    except OSError:
        before = None
    if before == preds.to_pybytes():
        return
    if before is not None:
        print(f"note: DEST's predictions of {cell.describe()} had no record; replaced by those of the record copied "
              f"from {cell.source}", file=out)
    _write_predictions(dest, cell.key, preds)
    result.preds_copied += 1


def _write_record(dest: Store, cell: SourceCell) -> None:
    """The record as DEST's own writer writes one (content hash, atomic rename); a failure note
    DEST held for the cell goes, as when a run finishes it."""
    from harness.common.files import atomic_write_bytes
    from harness.store.codec import encode_record

    data = encode_record(cell.table)
    atomic_write_bytes(dest.loose_path(cell.task, cell.key), lambda handle: handle.write(data))
    (dest.root / "failed" / f"{check_key(cell.key)}.json").unlink(missing_ok=True)


def merge(sources: list[Path], dest: Store, dry_run: bool = False, run_id: str = "merge",
          out: TextIO | None = None, predictions: bool = True) -> MergeResult:
    """Merge ``sources`` (checked with :func:`check_source`) into ``dest``, in the order given:
    a cell two sources hold is copied from the first and compared with the second. Lines for
    the user (what a dry run would copy, notes) go to ``out`` (stdout). ``predictions=False``
    copies records only (the committed store keeps no per-example outputs: they weigh MBs)."""
    from harness.store.lease import holder_of, try_acquire

    out = out or sys.stdout

    result = MergeResult(dest.root, dry_run)
    per_source = [read_source(root, result) for root in sources]
    index = DestIndex(dest, {c.key: c.task for cells in per_source for c in cells.values()})
    for cells in per_source:
        for cell in sorted(cells.values(), key=lambda c: (c.task, c.key)):
            have = index.current(cell.task, cell.key)
            if have is None and dry_run:
                print(f"would copy {cell.describe()} from {cell.source}", file=out)
                result.copied.append(cell)
                index.cells[cell.key] = cell.table
                continue
            if have is None:
                lease = try_acquire(dest.lease_path(cell.key), run_id)
                if lease is None:
                    holder = holder_of(dest.lease_path(cell.key))
                    result.busy.append((cell, holder.describe() if holder else "another run"))
                    continue
                with lease:
                    have = index.current(cell.task, cell.key)  # written while we were not holding the lease?
                    if have is None:
                        if predictions:
                            _copy_predictions(dest, cell, result, out)
                        _write_record(dest, cell)
                        result.copied.append(cell)
                        index.cells[cell.key] = cell.table
                        continue
            diff = differences(have, cell.table)
            if diff:
                result.conflicts.append(Conflict(cell, diff))
                continue
            result.identical += 1
            if predictions and not dry_run and not dest.preds_path(cell.key).exists():
                _fill_predictions(dest, cell, result, run_id)
    for line in index.report.warnings():  # DEST's own damaged files: quarantined, as any read of DEST does
        print(line, file=sys.stderr)
    return result


def _fill_predictions(dest: Store, cell: SourceCell, result: MergeResult, run_id: str) -> None:
    """DEST holds the same record without its predictions (lost, or never written there): take
    the source's, under the cell's lease so that a run writing them meanwhile is not replaced."""
    from harness.store.lease import try_acquire

    if not (cell.source / "preds" / f"{check_key(cell.key)}.parquet").exists():
        return
    lease = try_acquire(dest.lease_path(cell.key), run_id)
    if lease is None:
        return
    with lease:
        if dest.preds_path(cell.key).exists():
            return
        preds = _source_predictions(cell, result)
        if preds is not None:
            _write_predictions(dest, cell.key, preds)
            result.preds_copied += 1
