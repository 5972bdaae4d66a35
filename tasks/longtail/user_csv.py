"""``csv-lt``: your own classification CSV as a long-tail text task, with no code to write.

    harness run --tasks csv-lt --methods logit_adjust --param csv-lt.data=intents.csv \\
        --param csv-lt.text_column=utterance --param csv-lt.label_column=intent

The file (and an optional test file) is read with Hugging Face ``datasets`` (``load_dataset(
"csv", data_files=…)``), the field's own CSV loader, so quoting and encodings behave as users
expect. Without a test file, a stratified split with ``split_seed`` keeps ``test_fraction`` of
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
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from harness.api import Param, UserError, register
from tasks.longtail import text_data as td
from tasks.longtail.text import NGRAM_MAX, TextLongTailTask, by_scale, ngram_params, shot_params

if TYPE_CHECKING:
    import numpy as np


def check_header(path: str, columns: tuple[str, ...]) -> None:
    """One clear error when the file's header line lacks one of ``columns``."""
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    missing = [c for c in columns if c not in header]
    if missing:
        raise UserError(f"csv-lt: {path} has no column {missing[0]!r} (columns: {', '.join(header)}); "
                        "set --param csv-lt.text_column=… / csv-lt.label_column=…")


def read_csv(path: str, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """Texts and labels (as strings) of a CSV file with a header; one clear error per bad input."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"csv-lt: no file {path!r}; give --param csv-lt.data=PATH (a CSV with a header line)")
    import datasets

    datasets.disable_progress_bars()
    try:
        table = datasets.load_dataset("csv", data_files=str(file), split="train", keep_in_memory=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise UserError(f"csv-lt: cannot read {path} as CSV: {type(exc).__name__}: {exc}") from None
    missing = [c for c in (text_column, label_column) if c not in table.column_names]
    if missing:
        raise UserError(f"csv-lt: {path} has no column {missing[0]!r} (columns: {', '.join(table.column_names)}); "
                        "set --param csv-lt.text_column=… / csv-lt.label_column=…")
    texts, labels = table[text_column], table[label_column]
    empty = [i + 2 for i, (t, y) in enumerate(zip(texts, labels)) if t is None or not str(t).strip() or y is None or str(y) == ""]
    if empty:
        raise UserError(f"csv-lt: {path} line {empty[0]}: empty text or label ({len(empty)} such rows); remove or fill them")
    return [str(t) for t in texts], [str(y) for y in labels]


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
        Param("test_fraction", "float", 0.2, "share of each class kept for testing when there is no test file", minimum=0.0),
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
        if not 0.0 < self.p["test_fraction"] < 1.0 and not self.p["test_data"]:
            raise UserError(f"csv-lt: test_fraction must be between 0 and 1, got {self.p['test_fraction']}")
        if 0.0 < self.p["rho"] < 1.0:
            raise UserError(f"csv-lt: rho is an imbalance ratio n_max/n_min >= 1 (or 0 for none), got {self.p['rho']}")
        self.scheme = self.p["scheme"]

    def fingerprint(self) -> str:
        from harness.api import sha256_of

        files = [f for f in (self.p["data"], self.p["test_data"]) if f]
        if not files:
            raise UserError("csv-lt needs a file: --param csv-lt.data=PATH (a CSV with a header line)")
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            raise UserError(f"csv-lt: no file {missing[0]!r}")
        for f in files:  # the columns are checked here, before any cell runs
            check_header(f, (self.p["text_column"], self.p["label_column"]))
        return ",".join(sha256_of(Path(f)) for f in files)

    def corpora(self) -> tuple[td.Corpus, td.Corpus]:
        import numpy as np

        texts, names = read_csv(self.p["data"], self.p["text_column"], self.p["label_column"])
        test_texts, test_names = (read_csv(self.p["test_data"], self.p["text_column"], self.p["label_column"])
                                  if self.p["test_data"] else ([], []))
        classes = sorted(set(names))
        unknown = sorted(set(test_names) - set(classes))
        if unknown:
            raise UserError(f"csv-lt: the test file has labels the training file lacks (e.g. {unknown[0]!r})")
        if len(classes) < 2:
            raise UserError(f"csv-lt: {self.p['data']} has {len(classes)} class(es); a classifier needs at least 2")
        ids = {c: i for i, c in enumerate(classes)}
        labels = np.asarray([ids[n] for n in names], dtype=np.int64)
        if self.p["test_data"]:
            train = td.Corpus(tuple(texts), labels)
            test = td.Corpus(tuple(test_texts), np.asarray([ids[n] for n in test_names], dtype=np.int64))
        else:
            tr, te = stratified_split(labels, self.p["test_fraction"], self.p["split_seed"])
            train = td.Corpus(tuple(texts[i] for i in tr), labels[tr])
            test = td.Corpus(tuple(texts[i] for i in te), labels[te])
        if self.p["rho"] >= 1.0:
            keep = long_tail_subsample(train.labels, self.p["rho"], self.p["split_seed"])
            train = td.Corpus(tuple(train.texts[i] for i in keep), train.labels[keep])
        self.n_classes = len(classes)
        return train, test
