"""``csv-lt``: your own classification CSV as a long-tail text task, with no code to write.

    harness run --tasks csv-lt --methods logit_adjust --param csv-lt.data=intents.csv \\
        --param csv-lt.text_column=utterance --param csv-lt.label_column=intent

The file (and an optional test file) is read with Python's ``csv`` module (RFC 4180 quoting; a
label such as ``NA`` is a class, not a missing value), as UTF-8, once per process: the same parse
is validated before the run (:meth:`UserCsvLT.validate`: missing columns, empty or binary files,
other encodings, empty fields, ragged lines, fewer than two classes, a split with no test example,
each one line with the file, line and column) and trained on. Without a test file, a stratified split with ``split_seed`` keeps ``test_fraction`` of
each class for testing (at least one example of every class with two or more). ``rho`` > 1
subsamples the training classes to an EXP long-tail profile n_c = ⌊n_max·ρ^(−r/(C−1))⌋ (classes
ranked by their count, ties by label), as the image tasks do; ``rho = 0`` keeps the data's own
distribution. The backbone is the family's hashed n-gram bag, trained from scratch (``scheme``:
``en`` word uni/bigrams + char 3-grams, ``zh`` char n-grams). The cell key holds the file's
sha256, and records keep only its name (not the path), so the same file anywhere is the same cell.

This module does not import torch or NumPy at import time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.api import Param, UserError, read_user_text, register
from tasks.longtail import text_data as td
from tasks.longtail.text import NGRAM_MAX, TextLongTailTask, by_scale, ngram_params, shot_params

if TYPE_CHECKING:
    import numpy as np


MAX_NAME = 60  # characters of a column name or label quoted in an error


def _short(text: str) -> str:
    return repr(text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…")


def read_text(path: str, what: str) -> str:
    """The CSV as text (a UTF-8 byte-order mark dropped), or one error naming the file, line and column."""
    return read_user_text(path, "csv-lt:", "a CSV needs a header line naming its columns, then one line per example",
                          missing=f"csv-lt: no file {path!r}; give --param csv-lt.{what}=PATH (a CSV with a header line)",
                          folder_hint=f"; give --param csv-lt.{what}=PATH of a CSV file", encoding="utf-8-sig")


@dataclass(frozen=True)
class Rows:
    """A CSV's examples: texts, labels and the line each starts on (for errors)."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    lines: tuple[int, ...]


@lru_cache(maxsize=16)
def _parsed(path: str, size: int, mtime_ns: int, text_column: str, label_column: str, what: str) -> Rows:
    """The examples of ``path``, parsed once per process and file version (validation before the
    run and the cell that trains on it read the same parse)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(read_text(path, what), newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        shown = ", ".join(_short(h) for h in header[:20]) + (" …" if len(header) > 20 else "")
        raise UserError(f"csv-lt: {path} line 1: no column {missing[0]!r} (columns: {shown}); "
                        "set --param csv-lt.text_column=… / csv-lt.label_column=…")
    t, y = header.index(text_column), header.index(label_column)
    texts, labels, lines = [], [], []
    line = 1
    for row in reader:
        first, line = line + 1, reader.line_num  # a quoted field may span lines: the row starts after the last one
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            raise UserError(f"csv-lt: {path} line {first}: {len(row)} fields, the header has {len(header)}; "
                            "quote a field that holds a comma (\"a, b\")")
        if not row[t].strip() or not row[y].strip():
            empty = text_column if not row[t].strip() else label_column
            raise UserError(f"csv-lt: {path} line {first} column {empty}: empty {'text' if empty == text_column else 'label'}; "
                            "fill it or remove the line")
        texts.append(row[t])
        labels.append(row[y].strip())
        lines.append(first)
    if not texts:
        raise UserError(f"csv-lt: {path} has a header line but no examples")
    return Rows(tuple(texts), tuple(labels), tuple(lines))


def read_csv(path: str, text_column: str, label_column: str, what: str = "data") -> Rows:
    """The examples of a CSV file with a header (labels as strings); one clear error per bad input."""
    file = Path(path).expanduser()
    if not file.is_file():
        read_text(path, what)  # the error for a missing file or a folder
    stat = file.stat()
    return _parsed(str(file), stat.st_size, stat.st_mtime_ns, text_column, label_column, what)


def stratified_split(labels: "np.ndarray", fraction: float, seed: int) -> tuple["np.ndarray", "np.ndarray"]:
    """(train, test) indices: ⌈fraction·n_c⌉ of each class with n_c ≥ 2 to test, seeded; sorted."""
    import numpy as np

    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) >= 2:
            test.append(rng.permutation(idx)[: min(len(idx) - 1, max(1, math.ceil(fraction * len(idx))))])
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.arange(len(labels)), test_idx), test_idx


def long_tail_subsample(labels: "np.ndarray", rho: float, seed: int) -> "np.ndarray":
    """Sorted indices keeping n_c = max(1, ⌊n_max·ρ^(−r/(C−1))⌋) examples of the class ranked r
    (by count, descending; ties by label), drawn with ``seed``."""
    import numpy as np

    classes, counts = np.unique(labels, return_counts=True)
    order = sorted(range(len(classes)), key=lambda i: (-counts[i], classes[i]))
    n_max, last = counts[order[0]], max(1, len(classes) - 1)
    rng = np.random.default_rng(seed)
    keep = []
    for rank, i in enumerate(order):
        n = min(counts[i], max(1, int(n_max * rho ** (-rank / last))))
        keep.append(rng.permutation(np.flatnonzero(labels == classes[i]))[:n])
    return np.sort(np.concatenate(keep))


@register
class UserCsvLT(TextLongTailTask):
    """Your own CSV (a text column, a label column) as a long-tail text task; hashed n-gram bag."""

    name: ClassVar[str] = "csv-lt"
    version: ClassVar[str] = "1"
    in_default_grid: ClassVar[bool] = False  # it needs the user's file
    params = (
        Param("data", "str", "", "path of the CSV file (header line; any columns)"),
        Param("test_data", "str", "", "optional test CSV with the same columns; else a stratified split of data"),
        Param("text_column", "str", "text", "column holding the text"),
        Param("label_column", "str", "label", "column holding the class label (any strings)"),
        Param("test_fraction", "float", 0.2, "share of each class kept for testing when there is no test file",
              minimum=0.0, maximum=1.0, bounds="()"),
        Param("split_seed", "int", 0, "seed of the test split and of the long-tail subsample (not the cell seed)", minimum=0),
        Param("rho", "float", 0.0, "imbalance ratio of an EXP long-tail subsample of the training set (0: keep as is)", minimum=0.0),
        Param("scheme", "str", "en", "n-gram featurisation: en (words + char 3-grams) or zh (characters)", choices=("en", "zh")),
        NGRAM_MAX,
        *ngram_params(dim=100, dropout=0.5),
        *shot_params(100, 20, "the usual convention"),
    )
    schedules = by_scale((2, 8, 16), lr=3e-2)
    scales = {
        "smoke": "25% of train per class, at most 400 test examples, n-gram bag 2 epochs",
        "small": "the whole file(s), n-gram bag 8 epochs",
        "full": "the whole file(s), n-gram bag 16 epochs",
    }
    estimate_s = {"smoke": 2.0, "small": 10.0, "full": 20.0}

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        if 0.0 < self.p["rho"] < 1.0:
            raise UserError(f"csv-lt: rho is an imbalance ratio n_max/n_min >= 1 (or 0 for none), got {self.p['rho']}")
        self.scheme = self.p["scheme"]

    def fingerprint(self) -> str:
        from harness.api import sha256_of

        files = [f for f in (self.p["data"], self.p["test_data"]) if f]
        if not files:
            raise UserError("csv-lt needs a file: --param csv-lt.data=PATH (a CSV with a header line)")
        for f, what in ((self.p["data"], "data"), (self.p["test_data"], "test_data")):
            if f and not Path(f).expanduser().is_file():
                read_text(f, what)  # the error for a missing file or a folder
        return ",".join(sha256_of(Path(f).expanduser()) for f in files)

    def validate(self) -> None:
        """Read and check the file(s) before anything runs (the cell reuses the parse)."""
        self.corpora()

    def corpora(self) -> tuple[td.Corpus, td.Corpus]:
        import numpy as np

        columns = (self.p["text_column"], self.p["label_column"])
        rows = read_csv(self.p["data"], *columns)
        test_rows = read_csv(self.p["test_data"], *columns, what="test_data") if self.p["test_data"] else Rows((), (), ())
        texts, names, test_texts, test_names = rows.texts, rows.labels, test_rows.texts, test_rows.labels
        classes = sorted(set(names))
        unknown = sorted(set(test_names) - set(classes))
        if unknown:
            line = test_rows.lines[test_names.index(unknown[0])]
            raise UserError(f"csv-lt: {self.p['test_data']} line {line} column {self.p['label_column']}: label {_short(unknown[0])} "
                            f"is not in the training file {self.p['data']} ({len(unknown)} such label(s)); a classifier cannot predict it")
        if len(classes) < 2:
            raise UserError(f"csv-lt: {self.p['data']} column {self.p['label_column']}: every example has the label "
                            f"{_short(classes[0])}; a classifier needs at least 2 classes")
        ids = {c: i for i, c in enumerate(classes)}
        labels = np.asarray([ids[n] for n in names], dtype=np.int64)
        if self.p["test_data"]:
            train = td.Corpus(tuple(texts), labels)
            test = td.Corpus(tuple(test_texts), np.asarray([ids[n] for n in test_names], dtype=np.int64))
        else:
            tr, te = stratified_split(labels, self.p["test_fraction"], self.p["split_seed"])
            if not len(te):
                raise UserError(f"csv-lt: {self.p['data']}: no class has 2 examples, so the split keeps none for testing "
                                "(each class keeps at least one training example); give a test file with --param csv-lt.test_data=PATH")
            train = td.Corpus(tuple(texts[i] for i in tr), labels[tr])
            test = td.Corpus(tuple(texts[i] for i in te), labels[te])
        if self.p["rho"] >= 1.0:
            keep = long_tail_subsample(train.labels, self.p["rho"], self.p["split_seed"])
            train = td.Corpus(tuple(train.texts[i] for i in keep), train.labels[keep])
        self.n_classes = len(classes)
        return train, test
