"""The results store: one parquet file per finished cell, written atomically.

Layout under the store root (``results/runs`` unless ``--store``/``$HARNESS_STORE``)::

    records/<task>/<cell_key>.parquet   finished cells (tidy rows, one per metric)
    preds/<cell_key>.parquet            per-example outputs, for paired tests and reuse
    failed/<cell_key>.json              the last failure of a cell; never a cache hit
    quarantine/                         corrupt files moved aside, with a warning

DuckDB reads the records directly:
``SELECT * FROM read_parquet('results/runs/records/*/*.parquet', union_by_name=true)``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from harness.cells import Cell
from harness.errors import UserError
from harness.provenance import ROOT

PARQUET_MAGIC = b"PAR1"


def default_store() -> Path:
    return Path(os.environ.get("HARNESS_STORE") or ROOT / "results" / "runs")


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Write through a temp file in the same folder, fsync, then rename over ``path``.

    A process killed at any point leaves either the old file or the new one, never a partial
    file under the final name (the temp file starts with '.' and is ignored by readers).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_store()

    # -- paths -----------------------------------------------------------------------------
    def record_path(self, cell: Cell) -> Path:
        return self.root / "records" / cell.task / f"{cell.key}.parquet"

    def preds_path(self, key: str) -> Path:
        return self.root / "preds" / f"{key}.parquet"

    def failure_path(self, cell: Cell) -> Path:
        return self.root / "failed" / f"{cell.key}.json"

    def ensure_writable(self) -> None:
        """Fail before any work when results could not be saved."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe", delete=True)
            probe.close()
        except OSError as exc:
            raise UserError(
                f"store directory {self.root} is not writable ({exc.strerror}); pass --store DIR or set $HARNESS_STORE"
            ) from None

    # -- state of a cell -------------------------------------------------------------------
    def is_finished(self, cell: Cell) -> bool:
        """A readable record exists. A corrupt one is quarantined and the cell counts as missing."""
        path = self.record_path(cell)
        if not path.exists():
            return False
        if _looks_like_parquet(path):
            return True
        self.quarantine(path)
        return False

    def has_failed(self, cell: Cell) -> bool:
        return self.failure_path(cell).exists()

    # -- writing ---------------------------------------------------------------------------
    def write_predictions(self, key: str, predictions: Any) -> None:
        """Per-example outputs (a pandas DataFrame) for paired tests and post-hoc reuse."""
        preds = pa.Table.from_pandas(predictions, preserve_index=False)
        atomic_write_bytes(self.preds_path(key), lambda h: pq.write_table(preds, h))

    def write_record(self, cell: Cell, table: pa.Table, predictions: Any = None) -> Path:
        if predictions is not None:
            self.write_predictions(cell.key, predictions)
        path = self.record_path(cell)
        atomic_write_bytes(path, lambda h: pq.write_table(table, h))
        self.failure_path(cell).unlink(missing_ok=True)
        return path

    def write_failure(self, cell: Cell, error: str, **timing: Any) -> None:
        payload = {"cell_key": cell.key, "label": cell.label(), "error": error, **cell.identity, **timing}
        text = json.dumps(payload, indent=1, default=str, ensure_ascii=False).encode()
        atomic_write_bytes(self.failure_path(cell), lambda h: h.write(text))

    def delete(self, cell: Cell) -> None:
        self.record_path(cell).unlink(missing_ok=True)
        self.preds_path(cell.key).unlink(missing_ok=True)

    def quarantine(self, path: Path) -> None:
        target = self.root / "quarantine" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        print(f"warning: {path} is not a readable parquet file; moved to {target}, the cell will be recomputed", file=sys.stderr)

    # -- reading ---------------------------------------------------------------------------
    def record_files(self, tasks: Iterable[str] | None = None) -> list[Path]:
        base = self.root / "records"
        if tasks is None:
            return sorted(base.glob("*/*.parquet"))
        return sorted(p for t in tasks for p in (base / t).glob("*.parquet"))

    def load(self, tasks: Iterable[str] | None = None) -> "Any":
        """All finished records as one pandas DataFrame (empty with no columns if none)."""
        import pandas as pd

        from concurrent.futures import ThreadPoolExecutor

        paths = self.record_files(tasks)
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:  # arrow reads release the GIL
            read = list(pool.map(_read_or_none, paths))
        for path, table in zip(paths, read):
            if table is None:
                self.quarantine(path)
        tables = [t for t in read if t is not None]
        if not tables:
            return pd.DataFrame(columns=["cell_key", "task", "method", "seed", "scale", "metric", "value"])
        # one conversion to pandas; columns a family lacks (its params) become nulls
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()

    def load_predictions(self, key: str) -> "Any":
        path = self.preds_path(key)
        if not path.exists():
            return None
        try:
            return pq.read_table(path).to_pandas()
        except (pa.ArrowInvalid, OSError):
            self.quarantine(path)
            return None

    def failures(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.root / "failed").glob("*.json"))]


def _read_or_none(path: Path) -> pa.Table | None:
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError):
        return None


def _looks_like_parquet(path: Path) -> bool:
    """Cheap check (header and footer magic) so a cache hit costs no full read."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4)
            handle.seek(max(size - 4, 0))
            tail = handle.read(4)
    except OSError:
        return False
    return size > 12 and head == PARQUET_MAGIC and tail == PARQUET_MAGIC
