"""The results store: one parquet file per finished cell, written atomically, verified on read.

Layout under the store root (``results/runs`` unless ``--store``/``$HARNESS_STORE``)::

    records/<task>/<cell_key>.parquet   finished cells (tidy rows, one per metric), one file each
    packs/<task>/<sha256>.parquet       compacted records of many cells; the name is the file's sha256
    preds/<cell_key>.parquet            per-example outputs, for paired tests and reuse
    failed/<cell_key>.json              the last failure of a cell; never a cache hit
    leases/<cell_key>.lease             a run computing this cell right now (see harness.store.lease)
    quarantine/                         damaged files moved aside, with a warning naming why

Guarantees (what the tests in tests/test_store_faults.py check):

- **atomic**: every file appears complete under its final name or not at all (temp file in the
  same folder, fsync, rename); a temp file left by a killed writer is removed by the next writer.
- **verified**: a record carries the sha256 of its content (``harness.record`` in the parquet
  key-value metadata, over the columns' values, independent of the file's layout); a pack is named
  by the sha256 of its bytes. A read recomputes both; a mismatch, a file that does not parse, or
  one that does not conform to :data:`harness.store.records.RECORD_SCHEMA` is quarantined with a warning
  naming the file and the reason, and its cell counts as missing. One bad file never hides others.
- **shared**: files are created with the permissions the umask allows (group/world-readable by
  default); a file that cannot be *opened* (permission) is skipped with a warning, never
  quarantined; a reader that cannot move a damaged file only warns. Two readers quarantining the
  same file both succeed.
- **unverified records decide nothing**: a record without its hash (written before hashes
  existed, or edited and stripped of it) is skipped with one warning per read naming the count,
  and its cell counts as missing; ``harness fsck`` counts it as a failure. Only
  ``$HARNESS_ALLOW_UNVERIFIED=1`` reads such records (and lets ``harness compact`` pack them).
- **names checked**: every cell key and task name that becomes a path goes through
  :mod:`harness.store.paths` (a key ``../../x`` in a crafted pack is refused as damaged, never
  joined to a path).
- Not guaranteed: a record damaged on disk is lost (it is recomputed, not repaired).

DuckDB and pandas read both layouts directly (a cell may briefly be in both while a compaction
finishes; keep the row of ``records/`` then)::

    SELECT * FROM read_parquet(['results/runs/records/*/*.parquet', 'results/runs/packs/*/*.parquet'],
                               union_by_name=true)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.plan.cells import Cell
from harness.common.errors import UserError
from harness.common.files import HOST, ROOT, atomic_write_bytes
from harness.store.lease import Lease, holder_of, pid_alive, try_acquire
from harness.store.codec import (
    META_KEY,
    FORMAT,
    Damaged,
    ReadReport,
    Unreadable,
    Unverified,
    _check_preds,
    _parse,
    _read_bytes,
    combine,
    decode_pack,
    decode_record,
    encode_record,
    table_digest,
    unverified_allowed,
)
from harness.store.paths import check_key, check_task, move_to_quarantine

TMP_STALE_S = 6 * 3600  # a temp file of another host (or an unparseable name) this old is abandoned
AUTO_COMPACT = int(os.environ.get("HARNESS_COMPACT_THRESHOLD", "2000"))


def default_store() -> Path:
    return Path(os.environ.get("HARNESS_STORE") or ROOT / "results" / "runs")


class Store:
    def __init__(self, root: Path | str | None = None, *, verify: bool = True, auto_compact: int | None = None,
                 quarantine: bool = True, allow_unverified: bool | None = None) -> None:
        """``allow_unverified``: read records without a content hash (default: from
        ``$HARNESS_ALLOW_UNVERIFIED``, off: they are skipped with a warning)."""
        self.root = Path(root) if root is not None else default_store()
        self.verify = verify
        self.may_quarantine = quarantine
        self.allow_unverified = unverified_allowed() if allow_unverified is None else allow_unverified
        self.auto_compact = AUTO_COMPACT if auto_compact is None else auto_compact
        self._memo: dict[Path, tuple[tuple[int, int, int], pa.Table, bool]] = {}
        self._pack_keys: dict[str, tuple[tuple[Any, ...], set[str]]] = {}
        self.last_read = ReadReport()

    def __getstate__(self) -> dict[str, Any]:
        """Sent to pool workers without the read caches (they may hold a whole store)."""
        return {**self.__dict__, "_memo": {}, "_pack_keys": {}, "last_read": ReadReport()}

    # -- paths (every key and task checked by harness.store.paths before it is joined) --------
    def record_path(self, cell: Cell) -> Path:
        return self.loose_path(cell.task, cell.key)

    def loose_path(self, task: str, key: str) -> Path:
        return self.root / "records" / check_task(task) / f"{check_key(key)}.parquet"

    def preds_path(self, key: str) -> Path:
        return self.root / "preds" / f"{check_key(key)}.parquet"

    def failure_path(self, cell: Cell) -> Path:
        return self.root / "failed" / f"{check_key(cell.key)}.json"

    def lease_path(self, key: str) -> Path:
        return self.root / "leases" / f"{check_key(key)}.lease"

    def compact_lease_path(self, task: str) -> Path:
        return self.root / "leases" / f"compact~{check_task(task)}.lease"

    def ensure_writable(self) -> None:
        """Fail before any work when results could not be saved; clean up after killed writers."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe", delete=True)
            probe.close()
        except OSError as exc:
            raise UserError(
                f"store directory {self.root} is not writable ({exc.strerror}); pass --store DIR or set $HARNESS_STORE"
            ) from None
        self.clean_temporaries()

    def clean_temporaries(self) -> list[Path]:
        """Remove temp files whose writer is dead (same host) or that are hours old (any host)."""
        removed = []
        folders = [self.root, *(self.root / d for d in ("records", "packs", "preds", "failed", "leases", "checkpoints"))]
        folders += [d for base in ("records", "packs") for d in (self.root / base).glob("*") if d.is_dir()]
        now = time.time()
        for folder in folders:
            for path in folder.glob(".*"):
                if not (path.name.endswith(".tmp") or path.name.endswith(".broken")):
                    continue
                parts = path.name[1:].rsplit("~", 3)
                try:
                    age = now - path.stat().st_mtime
                    mine = len(parts) == 4 and parts[1] == HOST
                    if (mine and not pid_alive(int(parts[2]))) or age > TMP_STALE_S or (path.name.endswith(".broken") and age > 60):
                        path.unlink()
                        removed.append(path)
                except (OSError, ValueError):
                    continue
        return removed

    # -- state of a cell -------------------------------------------------------------------
    def is_finished(self, cell: Cell) -> bool:
        """A record of the cell exists and passes verification (a damaged one is quarantined and
        the cell counts as missing). Each file is read once per Store; loads reuse the read."""
        path = self.record_path(cell)
        if path.exists():
            report = ReadReport()
            table = self._read_loose(path, report)
            for line in report.warnings():
                print(line, file=sys.stderr)
            if table is not None:
                return True
        return cell.key in self._keys_in_packs(cell.task)

    def finished_after(self, cell: Cell, since: datetime) -> bool:
        """A record of the cell finished at or after ``since`` (written by a concurrent run)."""
        path = self.record_path(cell)
        table = self._read_loose(path, ReadReport()) if path.exists() else None
        if table is None or "finished_at" not in table.column_names:
            return False
        latest = pc.max(table.column("finished_at")).as_py()
        return latest is not None and latest >= since

    def has_failed(self, cell: Cell) -> bool:
        return self.failure_path(cell).exists()

    def try_lease(self, cell: Cell, run_id: str = "") -> Lease | None:
        """Take the cell's lease (None: another live run is computing it)."""
        return try_acquire(self.lease_path(cell.key), run_id)

    def lease_holder(self, cell: Cell) -> Any:
        return holder_of(self.lease_path(cell.key))

    # -- writing ---------------------------------------------------------------------------
    def write_predictions(self, key: str, predictions: Any) -> None:
        """Per-example outputs (a pandas DataFrame) for paired tests and post-hoc reuse, with
        their content hash (a post-hoc method must not build on silently damaged logits)."""
        preds = pa.Table.from_pandas(predictions, preserve_index=False)
        meta = {**(preds.schema.metadata or {}), META_KEY: json.dumps({"format": FORMAT, "sha256": table_digest(preds)}).encode()}
        atomic_write_bytes(self.preds_path(key), lambda h: pq.write_table(preds.replace_schema_metadata(meta), h))

    def write_record(self, cell: Cell, table: pa.Table, predictions: Any = None) -> Path:
        if predictions is not None:
            self.write_predictions(cell.key, predictions)
        path = self.record_path(cell)
        data = encode_record(table)
        atomic_write_bytes(path, lambda h: h.write(data))
        self.failure_path(cell).unlink(missing_ok=True)
        return path

    def write_failure(self, cell: Cell, error: str, **timing: Any) -> None:
        payload = {"cell_key": cell.key, "label": cell.label(), "error": error, **cell.identity, **timing}
        text = json.dumps(payload, indent=1, default=str, ensure_ascii=False).encode()
        atomic_write_bytes(self.failure_path(cell), lambda h: h.write(text))

    def delete(self, cell: Cell) -> None:
        """Remove the cell's loose record and predictions. A copy inside a pack stays (and counts
        as finished) until it is superseded by a newer loose record; packs are never edited."""
        self.record_path(cell).unlink(missing_ok=True)
        self.preds_path(cell.key).unlink(missing_ok=True)

    def quarantine(self, path: Path, why: str = "damaged", expect: os.stat_result | None = None) -> Path | None:
        """Move a damaged file aside under a unique name; None if it could not be moved (another
        reader moved it first, the folder is not ours to write, or it was replaced meanwhile)."""
        if not self.may_quarantine:
            return None
        try:
            if expect is not None and (path.stat().st_ino, path.stat().st_mtime_ns) != (expect.st_ino, expect.st_mtime_ns):
                return None  # a writer replaced it with a new file since we read it
        except OSError:
            return None
        return move_to_quarantine(self.root, path, path.parent.name, why)

    # -- reading ---------------------------------------------------------------------------
    def record_files(self, tasks: Iterable[str] | None = None) -> list[Path]:
        return self._files("records", tasks)

    def pack_files(self, tasks: Iterable[str] | None = None) -> list[Path]:
        return self._files("packs", tasks)

    def _files(self, kind: str, tasks: Iterable[str] | None) -> list[Path]:
        base = self.root / kind
        if tasks is None:
            return sorted(base.glob("*/*.parquet"))
        return sorted(p for t in tasks for p in (base / check_task(t)).glob("*.parquet"))

    def _read_loose(self, path: Path, report: ReadReport) -> pa.Table | None:
        return self._read(path, report, pack=False)

    def _read(self, path: Path, report: ReadReport, pack: bool) -> pa.Table | None:
        """One verified file, memoised by (inode, size, mtime); None if it is gone, unreadable or
        damaged (then quarantined), or a record without a hash while those are not allowed
        (counted in ``report.unverified``, left in place). The record's cell key and task must
        match its file name and folder; a pack's rows must all be of its folder's task."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None  # compacted or quarantined by someone else meanwhile
        except PermissionError as exc:
            report.unreadable.append((path, exc.strerror or "permission denied"))
            return None
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        cached = self._memo.get(path)
        if cached is not None and cached[0] == signature:
            return self._unverified(path, report, cached[1]) if not cached[2] else cached[1]
        try:
            data = _read_bytes(path)
            if pack:
                table, verified = decode_pack(path, data, self.verify), True
            else:
                table, verified = decode_record(data, self.verify)
                keys = table.column("cell_key").unique().to_pylist()
                if keys != [path.stem] or table.column("task").unique().to_pylist() != [path.parent.name]:
                    raise Damaged(f"holds cell(s) {', '.join(k[:12] for k in keys)} of task(s) "
                                  f"{', '.join(table.column('task').unique().to_pylist())}, not the one its path names")
        except FileNotFoundError:
            return None
        except Unreadable as exc:
            report.unreadable.append((path, str(exc)))
            return None
        except Damaged as exc:
            report.damaged.append((path, str(exc), self.quarantine(path, str(exc), expect=stat)))
            return None
        table = table.replace_schema_metadata(None)  # checked; equal schemas then group in unify
        self._memo[path] = (signature, table, verified)
        if not verified:
            return self._unverified(path, report, table)
        if pack:
            report.packs += 1
        else:
            report.verified += 1
        return table

    def _unverified(self, path: Path, report: ReadReport, table: pa.Table) -> pa.Table | None:
        """A record without a hash: read only when allowed; counted either way."""
        if self.allow_unverified:
            report.unverified_read.append(path)
            return table
        report.unverified.append(path)
        return None

    def _keys_in_packs(self, task: str) -> set[str]:
        packs = self.pack_files([task])
        signature = tuple((p.name, p.stat().st_mtime_ns) for p in packs if p.exists())
        cached = self._pack_keys.get(task)
        if cached is not None and cached[0] == signature:
            return cached[1]
        keys: set[str] = set()
        for path in packs:
            table = self._read(path, ReadReport(), pack=True)
            if table is not None:
                keys.update(table.column("cell_key").unique().to_pylist())
        self._pack_keys[task] = (signature, keys)
        return keys

    def load_table(self, tasks: Iterable[str] | None = None, *, warn: bool = True) -> pa.Table | None:
        """Every verified record (packs and loose files) as one arrow table, one row set per
        cell: a loose record wins over a packed one, a newer pack over an older one."""
        from concurrent.futures import ThreadPoolExecutor

        tasks = list(tasks) if tasks is not None else None
        report = ReadReport()
        loose = self.record_files(tasks)
        packs = sorted(self.pack_files(tasks), key=_mtime, reverse=True)
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:  # arrow reads release the GIL
            loose_tables = list(pool.map(lambda p: self._read(p, report, pack=False), loose))
            pack_tables = list(pool.map(lambda p: self._read(p, report, pack=True), packs))
        self.last_read = report
        if warn:
            for line in report.warnings():
                print(line, file=sys.stderr)
        combined = combine(loose_tables, pack_tables)
        if combined is not None:
            self._maybe_compact(loose, loose_tables)
        return combined

    def load(self, tasks: Iterable[str] | None = None) -> "Any":
        """All finished records as one pandas DataFrame (empty with the key columns if none)."""
        import pandas as pd

        table = self.load_table(tasks)
        if table is None:
            return pd.DataFrame(columns=["cell_key", "task", "method", "seed", "scale", "metric", "value"])
        return table.to_pandas()

    def _maybe_compact(self, loose: list[Path], tables: list[pa.Table | None]) -> None:
        """Past ``auto_compact`` loose files in a task, pack the ones just read (if we may write)."""
        if self.auto_compact <= 0 or len(loose) < self.auto_compact:
            return
        from harness.store.compact import compact_tables

        by_task: dict[str, list[tuple[Path, pa.Table]]] = {}
        for path, table in zip(loose, tables):
            if table is not None:
                by_task.setdefault(path.parent.name, []).append((path, table))
        for task, items in by_task.items():
            if len(items) >= self.auto_compact and os.access(self.root / "records" / task, os.W_OK):
                try:
                    compact_tables(self, task, items)
                except OSError as exc:
                    print(f"warning: automatic compaction of {task} skipped ({exc})", file=sys.stderr)

    def load_predictions(self, key: str) -> "Any":
        path = self.preds_path(key)
        try:
            table = _parse(_read_bytes(path))
            _check_preds(table, self.verify, self.allow_unverified)
            return table.to_pandas()
        except (FileNotFoundError, Unreadable):
            return None
        except Unverified as exc:
            print(f"warning: unverified predictions {path}: {exc}; not used", file=sys.stderr)
            return None
        except Damaged as exc:
            moved = self.quarantine(path, str(exc))
            print(f"warning: {path}: {exc}; moved to {moved}; it will be recomputed", file=sys.stderr)
            return None

    def failures(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted((self.root / "failed").glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError) as exc:
                print(f"warning: skipped failure note {path} ({type(exc).__name__})", file=sys.stderr)
        return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0

