"""Sentence pairs: read through Hugging Face ``datasets``, validated, carved into splits.

Every source goes through ``datasets.load_dataset``: the bundle's TSV files and a user's own
pair file with the ``csv`` builder (tab or comma, header or none, quoting off because the
sentences hold ``"``), JSON lines with the ``json`` builder, and ``hf:<id>`` with the hub
builder for a user who has a network (never on these machines). The same reader serves all of
them, so a user's file is checked exactly as the bundle is.

Bad input is one line (:class:`harness.common.errors.UserError`) naming the file and, where it
can, the line and column: a file that is empty, binary or not UTF-8 (:func:`read_text`, checked
before ``datasets`` sees the bytes, whose own error would only say ``DatasetGenerationError``),
a column that is not in the file, a label that is not a number or lies outside the task's
declared range. A pair with an empty sentence is skipped and counted (the count is in the
cell's notes), since a few blank lines in a large file should not stop a run; a file with no
usable pair is an error.

This module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api import DataFile, UserError, read_user_text, resolve

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

    def check(self, y: np.ndarray, where: str, at: Any = None) -> None:
        """Every label inside the range (exactly 0 or 1 when binary); ``at(i)`` names row i's line."""
        import numpy as np

        bad = (y < self.low) | (y > self.high)
        if self.binary:
            bad |= ~np.isin(y, (self.low, self.high))
        if np.any(bad):
            i = int(np.argmax(bad))
            kind = "0/1" if self.binary else f"in [{self.low:g}, {self.high:g}]"
            place = f" (first:{at(i)}, {float(y[i]):g})" if at is not None else f" (first: {float(y[i]):g})"
            raise UserError(f"{where}: {int(bad.sum())} labels are not {kind}{place}; set label_min/label_max or fix the file")

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
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # a builder's ERROR log line would come before our one line
    return datasets


def _cache_dir() -> str:
    """Hugging Face's Arrow cache of our files, under the project's cache (``$HARNESS_CACHE``)."""
    from harness.api import cache_dir

    return str(cache_dir() / "hf-datasets")


def read_text(path: Path, what: str = "pair file") -> str:
    """A user's pair file as text, or one error naming the file, line and column."""
    return read_user_text(path, what, "it needs one pair per line (text a, text b, label)",
                          folder_hint="; give the path of a TSV, CSV or JSONL file")


def check_json_lines(text: str, path: Path) -> None:
    """Every non-blank line of a ``.jsonl`` file is one JSON object (``datasets``' json builder
    says only "Trailing data at position 30" otherwise)."""
    import json

    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UserError(f"pair file {path} line {number} column {getattr(exc, 'colno', 1)}: not JSON ({getattr(exc, 'msg', exc)}); "
                                "a .jsonl file holds one JSON object per line") from None
            if not isinstance(row, dict):
                raise UserError(f"pair file {path} line {number}: a JSON {type(row).__name__}, not an object with the three fields")


def row_lines(text: str, header: bool) -> tuple[int, ...]:
    """The line (1-based) each row of ``datasets``' csv/json builders comes from: blank lines are
    skipped, the header line is not a row. With quoting off, one line is one row."""
    lines = [i for i, line in enumerate(text.split("\n"), 1) if line.rstrip("\r")]
    return tuple(lines[1:] if header else lines)


def _root_message(exc: BaseException) -> str:
    """The first line of the innermost cause: ``datasets`` wraps pandas' "Expected 3 fields in
    line 5, saw 4" into a bare ``DatasetGenerationError``."""
    while exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


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
        raise UserError(f"cannot read pair file {path}: {_root_message(exc)}") from None


def load_hub(dataset_id: str, split: str) -> Any:
    """A split of a hub dataset (``hf:<id>`` or ``hf:<id>/<config>``); needs a network."""
    datasets = _quiet_datasets()
    name, _, config = dataset_id.partition("/") if dataset_id.count("/") == 2 else (dataset_id, "", "")
    try:
        return datasets.load_dataset(name, config or None, split=split, cache_dir=_cache_dir())
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise UserError(f"cannot load hub dataset {dataset_id!r} split {split!r} (offline machine?): {type(exc).__name__}: {reason}") from None


def to_pairs(table: Any, columns: Columns, labels: LabelRange, where: str, rows: np.ndarray | None = None,
             lines: tuple[int, ...] | None = None) -> Pairs:
    """Validate and convert a ``datasets.Dataset`` into :class:`Pairs` (optionally a row subset).
    ``lines``: the file line of each row (:func:`row_lines`), so that an error names it."""
    import numpy as np

    missing = [c for c in (columns.a, columns.b, columns.label) if c not in table.column_names]
    if missing:
        shown = ", ".join(table.column_names[:20]) + (" …" if len(table.column_names) > 20 else "")
        raise UserError(f"{where}: no column {missing[0]!r} (columns: {shown}); set text_a/text_b/label"
                        " (names with header=true, 0-based positions without)")
    if rows is not None:
        table = table.select(rows.tolist())
    if len(table) == 0:
        raise UserError(f"{where}: no pairs (a header line only?)")

    def at(i: int) -> str:
        return f" line {lines[i]}" if lines is not None and i < len(lines) else f" row {i + 1}"

    a = [_text(x) for x in table[columns.a]]
    b = [_text(x) for x in table[columns.b]]
    raw = table[columns.label]
    try:
        y = np.asarray([float(str(v).strip()) for v in raw], dtype=np.float64)
    except ValueError:
        i = next(i for i, v in enumerate(raw) if not _is_number(v))
        raise UserError(f"{where}{at(i)}: label {str(raw[i])[:60]!r} in column {columns.label!r} is not a number") from None
    if not np.all(np.isfinite(y)):
        i = int(np.argmax(~np.isfinite(y)))
        raise UserError(f"{where}{at(i)} column {columns.label!r}: {int(np.sum(~np.isfinite(y)))} labels are NaN or infinite")
    labels.check(y, where, at)
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


def carve(pairs: Pairs, fractions: tuple[float, ...], seed: int, where: str = "") -> list[Pairs]:
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
        sizes = "/".join(str(len(p)) for p in parts)
        raise UserError(f"{where + ': ' if where else ''}carving {len(pairs)} pairs into fractions {fractions} leaves an empty split ({sizes} pairs); "
                        "give more pairs, larger fractions, or separate valid/test files")
    return parts


def subsample(pairs: Pairs, limit: int | None, seed: int) -> Pairs:
    """At most ``limit`` pairs, a fixed seeded sample in file order (``None``: all)."""
    import numpy as np

    if limit is None or len(pairs) <= limit:
        return pairs
    keep = np.sort(np.random.default_rng(seed + 7919).choice(len(pairs), size=limit, replace=False))
    return pairs.take(keep)
