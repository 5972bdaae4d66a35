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
- Not guaranteed: a record damaged on disk is lost (it is recomputed, not repaired); records
  written before verification existed are read unverified (``harness fsck`` counts them,
  ``harness compact`` packs them with a hash).

DuckDB and pandas read both layouts directly (a cell may briefly be in both while a compaction
finishes; keep the row of ``records/`` then)::

    SELECT * FROM read_parquet(['results/runs/records/*/*.parquet', 'results/runs/packs/*/*.parquet'],
                               union_by_name=true)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.plan.cells import Cell
from harness.common.errors import UserError
from harness.common.files import HOST, ROOT, atomic_write_bytes
from harness.store.lease import Lease, holder_of, pid_alive, try_acquire
from harness.store.records import SchemaMismatch, conform, unify

META_KEY = b"harness.record"
FORMAT = 2
TMP_STALE_S = 6 * 3600  # a temp file of another host (or an unparseable name) this old is abandoned
AUTO_COMPACT = int(os.environ.get("HARNESS_COMPACT_THRESHOLD", "2000"))


def default_store() -> Path:
    return Path(os.environ.get("HARNESS_STORE") or ROOT / "results" / "runs")


# -- content hashes ------------------------------------------------------------------------
def table_digest(table: pa.Table) -> str:
    """sha256 over every column's name, type and values, independent of how the file lays them
    out (chunks, pages, encodings, compression), so it survives a parquet round trip exactly."""
    digest = hashlib.sha256()
    for name in sorted(table.column_names):
        column = table.column(name)
        digest.update(f"{name}\0{_type_name(column.type)}\0{len(column)}\0".encode())
        array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        _feed(digest, array)
    return digest.hexdigest()


def _type_name(kind: pa.DataType) -> str:
    """The type without a list's child-field name (parquet writes "item", reads back "element")."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{_type_name(kind.value_type)}>"
    return str(kind)


def _feed(digest: Any, array: pa.Array) -> None:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if array.null_count:
        digest.update(np.packbits(array.is_null().to_numpy(zero_copy_only=False)).tobytes())
        array = array.drop_null()
    kind = array.type
    if pa.types.is_null(kind) or len(array) == 0:
        return
    buffers = array.buffers()
    if pa.types.is_string(kind) or pa.types.is_binary(kind) or pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
        width = np.int64 if (pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)) else np.int32
        offsets = np.frombuffer(buffers[1], dtype=width)[array.offset : array.offset + len(array) + 1]
        digest.update((offsets - offsets[0]).astype(np.int64).tobytes())
        if buffers[2] is not None:
            digest.update(memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])])
    elif pa.types.is_boolean(kind):
        digest.update(array.to_numpy(zero_copy_only=False).tobytes())
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):  # per-example logits: offsets, then values
        offsets = array.offsets.to_numpy()
        digest.update((offsets - offsets[0]).astype(np.int64).tobytes())
        _feed(digest, array.flatten())
    elif pa.types.is_primitive(kind) and kind.bit_width % 8 == 0 and len(buffers) == 2:
        width = kind.bit_width // 8
        digest.update(memoryview(buffers[1])[array.offset * width : (array.offset + len(array)) * width])
    else:  # nested or exotic: slow but exact
        digest.update(repr(array.to_pylist()).encode())


def encode_record(table: pa.Table) -> bytes:
    """A record's parquet bytes, its content hash in the key-value metadata."""
    table, _ = conform(table)
    meta = json.dumps({"format": FORMAT, "sha256": table_digest(table)}).encode()
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata({META_KEY: meta}), sink, write_statistics=False)
    return sink.getvalue().to_pybytes()


class Damaged(Exception):
    """A stored file that does not parse, fails its hash, or does not conform to the schema."""


class Unreadable(Exception):
    """A stored file this process may not open (permissions); not evidence of damage."""


def _read_bytes(path: Path) -> pa.Buffer:
    """The file's bytes in memory Arrow owns (see :func:`_arrow_owned`)."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            buffer = pa.allocate_buffer(size)
            got = handle.readinto(np.frombuffer(buffer, dtype=np.uint8)) if size else 0
            return buffer if got == size else buffer.slice(0, got)
    except PermissionError as exc:
        raise Unreadable(exc.strerror or "permission denied") from None
    except IsADirectoryError:
        raise Damaged("a directory where a file belongs") from None


def _arrow_owned(data: bytes | pa.Buffer) -> pa.Buffer:
    """Tables parsed from a Python ``bytes`` may point into it; kept in the read memo until the
    interpreter shuts down, such tables made the process abort at exit ("terminate called
    without an active exception", 1 run in 4 that waited on another run). Arrow memory does not."""
    if isinstance(data, pa.Buffer):
        return data
    buffer = pa.allocate_buffer(len(data))
    if len(data):
        np.frombuffer(buffer, dtype=np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
    return buffer


def _parse(data: bytes | pa.Buffer) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(_arrow_owned(data)))
        table.column_names, table.schema.metadata  # noqa: B018 - a damaged name fails here, not later
        return table
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:  # UnicodeDecodeError is a ValueError
        raise Damaged(f"not a readable parquet file ({type(exc).__name__}: {str(exc)[:120]})") from None


def decode_record(data: bytes | pa.Buffer, verify: bool = True) -> tuple[pa.Table, bool]:
    """The conformed table of a record file and whether its hash was checked (False: a record
    written before hashes existed). Raises :class:`Damaged`."""
    table = _parse(data)
    meta = table.schema.metadata
    try:
        conformed, _ = conform(table)
    except SchemaMismatch as exc:
        raise Damaged(f"does not match the record schema: {exc}") from None
    if meta is None or (META_KEY not in meta and b"ARROW:schema" in meta and len(meta) == 1):
        return conformed, False  # legacy record (format 1): no hash to check
    try:
        expected = json.loads(meta[META_KEY])["sha256"]
    except (KeyError, ValueError, TypeError):
        raise Damaged("its content hash is missing or damaged") from None
    if verify and table_digest(conformed) != expected:
        raise Damaged("content does not match its sha256 (bit rot or an edit)")
    return conformed, True


def decode_pack(path: Path, data: bytes | pa.Buffer, verify: bool = True) -> pa.Table:
    if verify and hashlib.sha256(data).hexdigest() != path.stem:
        raise Damaged("bytes do not match the sha256 in its name")
    try:
        table, _ = conform(_parse(data))
    except SchemaMismatch as exc:
        raise Damaged(f"does not match the record schema: {exc}") from None
    return table


@dataclass
class ReadReport:
    """What one read of the store met, for warnings and for ``harness fsck``."""

    verified: int = 0
    legacy: int = 0
    packs: int = 0
    damaged: list[tuple[Path, str, Path | None]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    unknown_columns: dict[str, int] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        lines = []
        for path, why, moved in self.damaged:
            where = f"moved to {moved}" if moved else "could not move it to quarantine (left in place, skipped)"
            lines.append(f"warning: {path}: {why}; {where}; its cell counts as missing and will be recomputed")
        for path, why in self.unreadable[:3]:
            lines.append(f"warning: cannot read {path} ({why}); skipped, not quarantined — ask its owner to make it readable")
        if len(self.unreadable) > 3:
            lines.append(f"warning: {len(self.unreadable) - 3} more unreadable record files skipped")
        if self.unknown_columns:
            names = ", ".join(sorted(self.unknown_columns))
            lines.append(f"warning: columns outside the record schema ignored: {names}")
        return lines


class Store:
    def __init__(self, root: Path | str | None = None, *, verify: bool = True, auto_compact: int | None = None,
                 quarantine: bool = True) -> None:
        self.root = Path(root) if root is not None else default_store()
        self.verify = verify
        self.may_quarantine = quarantine
        self.auto_compact = AUTO_COMPACT if auto_compact is None else auto_compact
        self._memo: dict[Path, tuple[tuple[int, int, int], pa.Table]] = {}
        self._pack_keys: dict[str, tuple[tuple[Any, ...], set[str]]] = {}
        self.last_read = ReadReport()

    def __getstate__(self) -> dict[str, Any]:
        """Sent to pool workers without the read caches (they may hold a whole store)."""
        return {**self.__dict__, "_memo": {}, "_pack_keys": {}, "last_read": ReadReport()}

    # -- paths -----------------------------------------------------------------------------
    def record_path(self, cell: Cell) -> Path:
        return self.root / "records" / cell.task / f"{cell.key}.parquet"

    def preds_path(self, key: str) -> Path:
        return self.root / "preds" / f"{key}.parquet"

    def failure_path(self, cell: Cell) -> Path:
        return self.root / "failed" / f"{cell.key}.json"

    def lease_path(self, key: str) -> Path:
        return self.root / "leases" / f"{key}.lease"

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
        folders = [self.root, *(self.root / d for d in ("records", "packs", "preds", "failed", "leases"))]
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
            target = self.root / "quarantine" / f"{path.parent.name}~{path.stem}~{time.time_ns()}~{os.getpid()}{path.suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, target)
        except OSError:
            return None
        try:
            target.with_name(target.name + ".why").write_text(f"{path}\n{why}\n")
        except OSError:
            pass
        return target

    # -- reading ---------------------------------------------------------------------------
    def record_files(self, tasks: Iterable[str] | None = None) -> list[Path]:
        return self._files("records", tasks)

    def pack_files(self, tasks: Iterable[str] | None = None) -> list[Path]:
        return self._files("packs", tasks)

    def _files(self, kind: str, tasks: Iterable[str] | None) -> list[Path]:
        base = self.root / kind
        if tasks is None:
            return sorted(base.glob("*/*.parquet"))
        return sorted(p for t in tasks for p in (base / t).glob("*.parquet"))

    def _read_loose(self, path: Path, report: ReadReport) -> pa.Table | None:
        return self._read(path, report, pack=False)

    def _read(self, path: Path, report: ReadReport, pack: bool) -> pa.Table | None:
        """One verified file, memoised by (inode, size, mtime); None if it is gone, unreadable or
        damaged (then quarantined). The record's cell key must match its file name."""
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
            return cached[1]
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
        if pack:
            report.packs += 1
        elif verified:
            report.verified += 1
        else:
            report.legacy += 1
        self._memo[path] = (signature, table)
        return table

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
            _check_preds(table, self.verify)
            return table.to_pandas()
        except (FileNotFoundError, Unreadable):
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


def _check_preds(table: pa.Table, verify: bool) -> None:
    """Predictions written before hashes carry none and are read as they are."""
    meta = table.schema.metadata or {}
    if META_KEY not in meta or not verify:
        return
    try:
        expected = json.loads(meta[META_KEY])["sha256"]
    except (ValueError, KeyError, TypeError):
        raise Damaged("its content hash is damaged") from None
    if table_digest(table) != expected:
        raise Damaged("content does not match its sha256 (bit rot or an edit)")


def combine(loose: list[pa.Table | None], packs: list[pa.Table | None]) -> pa.Table | None:
    """One table with one row set per cell: loose records first, then packs newest first, each
    contributing only cells not seen before (a cell may sit in both while a compaction ends)."""
    tables = [t for t in loose if t is not None]
    seen = {t.column("cell_key")[0].as_py() for t in tables}
    for table in (t for t in packs if t is not None):
        keys = set(pc.unique(table.column("cell_key")).to_pylist())
        overlap = pa.array(sorted(seen & keys), type=pa.string())
        if len(overlap):
            table = table.filter(pc.invert(pc.is_in(table.column("cell_key"), value_set=overlap)))
        seen |= keys
        tables.append(table)
    return unify(tables) if tables else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0

