"""Sentence pairs: read through Hugging Face ``datasets``, validated, carved into splits.

Every source goes through ``datasets.load_dataset``: the bundle's TSV files and a user's own
pair file with the ``csv`` builder (tab or comma, header or none, quoting off because the
sentences hold ``"``), JSON lines with the ``json`` builder, and ``hf:<id>`` with the hub
builder for a user who has a network (never on these machines). The same reader serves all of
them, so a user's file is checked exactly as the bundle is.

Bad input is one line (:class:`harness.common.errors.UserError`): a column that is not in the file, a
label that is not a number or lies outside the task's declared range. A pair with an empty
sentence is skipped and counted (the count is in the cell's notes), since a few blank lines in
a large file should not stop a run; a file with no usable pair is an error.

This module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api import DataFile, UserError, resolve

if TYPE_CHECKING:
    import numpy as np

HF_PREFIX = "hf:"


@dataclass(frozen=True)
class Pairs:
    """Parallel sentence pairs with float labels; ``skipped`` counts dropped empty pairs."""

    a: tuple[str, ...]
    b: tuple[str, ...]
    label: np.ndarray
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.a)

    def take(self, index: np.ndarray) -> "Pairs":
        idx = [int(i) for i in index]
        return Pairs(tuple(self.a[i] for i in idx), tuple(self.b[i] for i in idx), self.label[idx], self.skipped)


@dataclass(frozen=True)
class Columns:
    """Which columns hold text a, text b and the label (names, or 0-based positions as strings)."""

    a: str
    b: str
    label: str


@dataclass(frozen=True)
class LabelRange:
    """The declared label range; ``binary`` tasks have labels exactly 0 and 1."""

    low: float
    high: float
    binary: bool

    def check(self, y: np.ndarray, where: str) -> None:
        import numpy as np

        bad = (y < self.low) | (y > self.high)
        if self.binary:
            bad |= ~np.isin(y, (self.low, self.high))
        if np.any(bad):
            first = float(y[np.argmax(bad)])
            kind = "0/1" if self.binary else f"in [{self.low:g}, {self.high:g}]"
            raise UserError(f"{where}: {int(bad.sum())} labels are not {kind} (first: {first:g}); set label_min/label_max or fix the file")

    def normalised(self, y: np.ndarray) -> np.ndarray:
        """Labels mapped to [0, 1] (cos-MSE's regression target)."""
        return (y - self.low) / (self.high - self.low)

    def binarised(self, y: np.ndarray) -> np.ndarray:
        """0/1 labels for softmax training; graded scores split at the middle of the range (as
        bojone/CoSENT's sbert.py does for STS-B: label > 2.5)."""
        import numpy as np

        return (y > (self.low + self.high) / 2).astype(np.int64)


BINARY = LabelRange(0.0, 1.0, True)
SCORE_0_5 = LabelRange(0.0, 5.0, False)


def _quiet_datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise UserError("the matching family reads its pairs through Hugging Face datasets: `pip install datasets`") from None

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def _cache_dir() -> str:
    """Hugging Face's Arrow cache of our files, under the project's cache (``$HARNESS_CACHE``)."""
    from harness.api import cache_dir

    return str(cache_dir() / "hf-datasets")


def load_table(path: Path, *, header: bool, delimiter: str = "\t", encoding: str = "utf-8") -> Any:
    """A ``datasets.Dataset`` of one local file: ``.jsonl``/``.json`` through the json builder,
    anything else (``.tsv``, ``.csv``, ``.txt``, ``.data``, ``.gz``) through the csv builder.
    Headerless files get columns ``"0"``, ``"1"``, …"""
    datasets = _quiet_datasets()
    if not path.is_file():
        raise UserError(f"pair file {path} not found")
    suffixes = [s.lower() for s in path.suffixes]
    try:
        if ".jsonl" in suffixes or ".json" in suffixes:
            return datasets.load_dataset("json", data_files={"x": str(path)}, split="x", cache_dir=_cache_dir())
        return datasets.load_dataset(
            "csv",
            data_files={"x": str(path)},
            split="x",
            delimiter=delimiter,
            header=0 if header else None,
            quoting=3,  # csv.QUOTE_NONE: sentences contain '"'
            keep_default_na=False,  # "NA", "null" are sentences, not missing values
            encoding=encoding,
            cache_dir=_cache_dir(),
        )
    except UserError:
        raise
    except Exception as exc:  # a malformed file: one line, not the builder's traceback
        raise UserError(f"cannot read pair file {path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


def load_hub(dataset_id: str, split: str) -> Any:
    """A split of a hub dataset (``hf:<id>`` or ``hf:<id>/<config>``); needs a network."""
    datasets = _quiet_datasets()
    name, _, config = dataset_id.partition("/") if dataset_id.count("/") == 2 else (dataset_id, "", "")
    try:
        return datasets.load_dataset(name, config or None, split=split, cache_dir=_cache_dir())
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise UserError(f"cannot load hub dataset {dataset_id!r} split {split!r} (offline machine?): {type(exc).__name__}: {reason}") from None


def to_pairs(table: Any, columns: Columns, labels: LabelRange, where: str, rows: np.ndarray | None = None) -> Pairs:
    """Validate and convert a ``datasets.Dataset`` into :class:`Pairs` (optionally a row subset)."""
    import numpy as np

    missing = [c for c in (columns.a, columns.b, columns.label) if c not in table.column_names]
    if missing:
        raise UserError(f"{where}: no column {missing[0]!r} (columns: {', '.join(table.column_names)}); set text_a/text_b/label")
    if rows is not None:
        table = table.select(rows.tolist())
    a = [_text(x) for x in table[columns.a]]
    b = [_text(x) for x in table[columns.b]]
    try:
        y = np.asarray([float(str(v).strip()) for v in table[columns.label]], dtype=np.float64)
    except ValueError:
        bad = next(v for v in table[columns.label] if not _is_number(v))
        raise UserError(f"{where}: label {bad!r} in column {columns.label!r} is not a number") from None
    if not np.all(np.isfinite(y)):
        raise UserError(f"{where}: {int(np.sum(~np.isfinite(y)))} labels are NaN or infinite")
    labels.check(y, where)
    keep = np.array([bool(x) and bool(z) for x, z in zip(a, b)], dtype=bool)
    if not keep.any():
        raise UserError(f"{where}: no pair with two non-empty sentences")
    idx = np.flatnonzero(keep)
    return Pairs(tuple(a[i] for i in idx), tuple(b[i] for i in idx), y[idx], skipped=int((~keep).sum()))


def _text(value: Any) -> str:
    return "" if value is None else str(value).replace("\r", "").strip()


def _is_number(value: Any) -> bool:
    try:
        float(str(value).strip())
        return True
    except ValueError:
        return False


@lru_cache(maxsize=64)
def bundle_pairs(file: DataFile, columns: Columns, labels: LabelRange, header: bool = False, encoding: str = "utf-8",
                 split_column: str = "", split_value: str = "") -> Pairs:
    """Pairs of a verified bundle file, memoised per process (every cell of a run reads it)."""
    import numpy as np

    table = load_table(resolve(file), header=header, encoding=encoding)
    rows = None
    if split_column:
        rows = np.flatnonzero(np.asarray(table[split_column]) == split_value)
    return to_pairs(table, columns, labels, f"{file.path}{f' [{split_value}]' if split_value else ''}", rows)


def carve(pairs: Pairs, fractions: tuple[float, ...], seed: int) -> list[Pairs]:
    """Split ``pairs`` into consecutive parts of a seeded permutation with the given fractions
    (the last part takes the rest). Independent of the cell's seed, so every seed and method
    of a task sees the same split."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(pairs))
    parts, start = [], 0
    for f in fractions:
        n = int(round(f * len(pairs)))
        parts.append(pairs.take(order[start:start + n]))
        start += n
    parts.append(pairs.take(order[start:]))
    if any(len(p) == 0 for p in parts):
        raise UserError(f"carving {len(pairs)} pairs into fractions {fractions} leaves an empty split")
    return parts


def subsample(pairs: Pairs, limit: int | None, seed: int) -> Pairs:
    """At most ``limit`` pairs, a fixed seeded sample in file order (``None``: all)."""
    import numpy as np

    if limit is None or len(pairs) <= limit:
        return pairs
    keep = np.sort(np.random.default_rng(seed + 7919).choice(len(pairs), size=limit, replace=False))
    return pairs.take(keep)
