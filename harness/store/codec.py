"""How a record, a pack and a predictions file are encoded, hashed and verified.

A record carries the sha256 of its content (``harness.record`` in the parquet key-value
metadata, over the columns' values, independent of the file's layout); a pack is named by the
sha256 of its bytes. Decoding recomputes both: a mismatch, a file that does not parse, or one that
does not conform to :data:`harness.store.records.RECORD_SCHEMA` raises :class:`Damaged`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.store.paths import is_key, is_task, shown
from harness.store.records import SchemaMismatch, conform, unify

META_KEY = b"harness.record"
FORMAT = 2
ALLOW_UNVERIFIED = "HARNESS_ALLOW_UNVERIFIED"


def unverified_allowed() -> bool:
    """Whether records without a content hash may be read (``$HARNESS_ALLOW_UNVERIFIED=1``).

    Off by default: a record whose hash metadata is gone — written before hashes existed, or
    edited and stripped of its hash — cannot be told apart from a tampered one, so it decides
    nothing (skipped with a warning, counted as a failure by ``harness fsck``, never packed by
    ``harness compact`` or copied by ``harness merge``) unless the user says otherwise."""
    return os.environ.get(ALLOW_UNVERIFIED, "").strip().lower() in {"1", "true", "yes", "on"}


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


def check_names(table: pa.Table, task: str | None = None) -> None:
    """Every cell key and task a stored table names is one that may become a path (see
    :mod:`harness.store.paths`), and every task is ``task`` when given (a pack holds the rows of
    the task whose folder it is in). Raises :class:`Damaged` naming the first offender.
    Checked over the distinct values in Python: a few microseconds for a record, where Arrow's
    regex kernels cost a millisecond a call."""
    for column, ok, what in (("cell_key", is_key, "cell key"), ("task", is_task, "task name")):
        try:
            values = pc.unique(table.column(column)).to_pylist()
        except UnicodeDecodeError:  # a flipped bit in the text
            raise Damaged(f"its {column} column is not valid UTF-8 text") from None
        bad = next((v for v in values if not ok(v)), None)
        if bad is not None:
            raise Damaged(f"names {what} {shown(bad)}, which cannot name a file of a store "
                          f"({'64 lowercase hex characters' if column == 'cell_key' else 'a registered task name'})")
        if column == "task" and task is not None and values != [task]:
            other = next(v for v in values if v != task)
            raise Damaged(f"holds rows of task {shown(other)} in the folder of task {shown(task)}")


def decode_record(data: bytes | pa.Buffer, verify: bool = True) -> tuple[pa.Table, bool]:
    """The conformed table of a record file and whether it carried a hash (False: none, as
    written before hashes existed or with the hash removed; see :func:`unverified_allowed`).
    Raises :class:`Damaged`."""
    table = _parse(data)
    meta = table.schema.metadata
    try:
        conformed, _ = conform(table)
    except SchemaMismatch as exc:
        raise Damaged(f"does not match the record schema: {exc}") from None
    check_names(conformed)
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
    """The conformed table of the pack at ``packs/<task>/<sha256>.parquet``: its bytes match its
    name and every row is of ``<task>`` and names a valid cell key. Raises :class:`Damaged`."""
    if verify and hashlib.sha256(data).hexdigest() != path.stem:
        raise Damaged("bytes do not match the sha256 in its name")
    try:
        table, _ = conform(_parse(data))
    except SchemaMismatch as exc:
        raise Damaged(f"does not match the record schema: {exc}") from None
    check_names(table, path.parent.name)
    return table


@dataclass
class ReadReport:
    """What one read of the store met, for warnings and for ``harness fsck``."""

    verified: int = 0
    packs: int = 0
    damaged: list[tuple[Path, str, Path | None]] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    unknown_columns: dict[str, int] = field(default_factory=dict)
    unverified: list[Path] = field(default_factory=list)  # records without a hash, skipped
    unverified_read: list[Path] = field(default_factory=list)  # the same, read (``$HARNESS_ALLOW_UNVERIFIED=1``)

    @property
    def legacy(self) -> int:
        """Records met without a content hash, skipped or read."""
        return len(self.unverified) + len(self.unverified_read)

    def add(self, other: "ReadReport") -> None:
        """Count ``other``'s files into this report (per-file reports of a parallel read)."""
        self.verified += other.verified
        self.packs += other.packs
        self.damaged += other.damaged
        self.unreadable += other.unreadable
        self.unverified += other.unverified
        self.unverified_read += other.unverified_read
        for name, count in other.unknown_columns.items():
            self.unknown_columns[name] = self.unknown_columns.get(name, 0) + count

    def warnings(self) -> list[str]:
        lines = []
        for path, why, moved in self.damaged:
            where = f"moved to {moved}" if moved else "could not move it to quarantine (left in place, skipped)"
            lines.append(f"warning: {path}: {why}; {where}; its cell counts as missing and will be recomputed")
        for path, why in self.unreadable[:3]:
            lines.append(f"warning: cannot read {path} ({why}); skipped, not quarantined — ask its owner to make it readable")
        if len(self.unreadable) > 3:
            lines.append(f"warning: {len(self.unreadable) - 3} more unreadable record files skipped")
        if self.unverified:
            lines.append(f"warning: unverified records: {len(self.unverified)} record(s) without a content hash skipped "
                         f"(e.g. {self.unverified[0]}); written before hashes existed or with the hash removed, they "
                         f"decide nothing and their cells count as missing — `harness fsck` lists them; set "
                         f"{ALLOW_UNVERIFIED}=1 to read them anyway")
        if self.unverified_read:
            lines.append(f"warning: unverified records: {len(self.unverified_read)} record(s) without a content hash "
                         f"read as they are ({ALLOW_UNVERIFIED}=1; e.g. {self.unverified_read[0]})")
        if self.unknown_columns:
            names = ", ".join(sorted(self.unknown_columns))
            lines.append(f"warning: columns outside the record schema ignored: {names}")
        return lines


class Unverified(Exception):
    """Predictions without a content hash, while :func:`unverified_allowed` is off."""


def _check_preds(table: pa.Table, verify: bool, allow_unverified: bool | None = None) -> None:
    """Predictions carry a hash like records; ones without (written before hashes existed, or
    stripped) raise :class:`Unverified` unless unverified files are allowed."""
    meta = table.schema.metadata or {}
    if META_KEY not in meta:
        if not (unverified_allowed() if allow_unverified is None else allow_unverified):
            raise Unverified(f"no content hash (set {ALLOW_UNVERIFIED}=1 to use predictions written before hashes)")
        return
    if not verify:
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
