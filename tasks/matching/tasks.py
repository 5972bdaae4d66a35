"""The matching benchmarks of kexue.fm 8847/8860 on the shared bundle, plus a user's pair file.

Chinese: ATEC, BQ, LCQMC, PAWSX (the bundle has only their valid and test files: train and
valid are carved from the valid file, 80/20, with ``carve_seed``; the articles train on the
full train sets, so numbers are lower and not directly comparable), STS-B-zh (train/valid/test,
scores 0–5), AFQMC (train carved 90/10 into train/valid, CLUE dev as test). English: STS-B
(train/dev/test, 0–5), MRPC (train carved 90/10, test).

``pair-file`` runs any TSV/CSV/JSONL of pairs without code: ``path``, the three columns, header
or none, label range; valid and test are carved from it unless ``valid_path``/``test_path``
are given. Its default is the bundle's STS-B-zh test file, so it runs as shipped. Its files are
read and checked once, before anything runs (:meth:`PairFile.validate`), and its test split is
scored whole at ``small`` and ``full`` (``small`` caps only train and valid: the number is then
the score on your test split, and the run says what the scale kept).

This module does not import torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from harness.api import DataFile, Metric, Param, UserError, register, register_metric

# Scoring speeds, measured in the cell: not reproducible, so kept out of the numeric reference.
for _name, _what in (
    ("pairs_per_s", "pairs scored per second"),
    ("pairs_per_s_with_encoding", "pairs scored per second, encoding each distinct sentence included"),
    ("log10_pairs_per_s", "log10 of pairs scored per second"),
):
    register_metric(Metric(_name, True, _what, measures_time=True))
from functools import lru_cache

from tasks.matching.base import BUDGETS, COMMON_PARAMS, MatchingTask
from tasks.matching.data import (
    BINARY,
    SCORE_0_5,
    Columns,
    LabelRange,
    Pairs,
    bundle_pairs,
    carve,
    check_json_lines,
    load_table,
    read_text,
    row_lines,
    subsample,
    to_pairs,
)

SRC = "shawroad/CoSENT_Pytorch data/"
TSV3 = Columns("0", "1", "2")
CARVE = Param("valid_fraction", "float", 0.2, "fraction of the carved file kept as valid (the rest trains)", minimum=0.01, maximum=0.99)


def _zh(name: str, split: str, sha: str) -> DataFile:
    return DataFile(f"matching/zh/{name}/{name}.{split}.data", sha, f"{SRC}{name}/{name}.{split}.data")


class CarvedTask(MatchingTask):
    """Train and valid carved from one file (``valid_fraction``, ``carve_seed``), test its own file."""

    params = (*COMMON_PARAMS, CARVE)
    labels: ClassVar[LabelRange] = BINARY
    columns: ClassVar[Columns] = TSV3
    header: ClassVar[bool] = False
    encoding: ClassVar[str] = "utf-8"

    def bundle_splits(self) -> tuple[Pairs, Pairs, Pairs]:
        source, test_file = self.data
        whole = bundle_pairs(source, self.columns, self.labels, self.header, self.encoding)
        valid, train = carve(whole, (self.p["valid_fraction"],), self.p["carve_seed"])
        return train, valid, bundle_pairs(test_file, self.columns, self.labels, self.header, self.encoding)


@register
class ATEC(CarvedTask):
    """ATEC (Ant Financial question pairs, 0/1, 18% positive); train/valid carved from its valid file."""

    name: ClassVar[str] = "atec"
    data = (_zh("ATEC", "valid", "994b6452cad5c0c1efca215f45f99b0cd26515de12936cc5aa23810b0b55f703"),
            _zh("ATEC", "test", "24c56edf6289a7f337af75553c360ece41a1e17e500cdb563f020ad25ece8319"))


@register
class BQ(CarvedTask):
    """BQ corpus (bank question pairs, 0/1, balanced); train/valid carved from its valid file."""

    name: ClassVar[str] = "bq"
    data = (_zh("BQ", "valid", "fe7ccff114f4d9ad75f8468a65437eb52d22e5fb8ca1d56a25340ba4c367442b"),
            _zh("BQ", "test", "9592b13afdfdc034d3d1b883d58807ea21989624d94e321bb802efb08d98c6d1"))


@register
class LCQMC(CarvedTask):
    """LCQMC (open-domain question pairs, 0/1, balanced); train/valid carved from its valid file."""

    name: ClassVar[str] = "lcqmc"
    data = (_zh("LCQMC", "valid", "d3cd41ed89b8f6196a76ebff2aa03d5ecf42edcd12942aa865d34f7e570af7c2"),
            _zh("LCQMC", "test", "8969f9c16050f40df9da6f591443a47bc14c17a504a354ee4cc4ab5b9aa303d9"))


@register
class PAWSX(CarvedTask):
    """PAWS-X zh (adversarial paraphrases, 0/1); train/valid carved from its 2,000-pair valid file."""

    name: ClassVar[str] = "pawsx"
    maxlen_factor = 2.0
    data = (_zh("PAWSX", "valid", "3a9da4b372d981e607eaf9b4ad4a1db0c0a7040f54535870198bda7f13e07dd2"),
            _zh("PAWSX", "test", "1e8aa66616c4f50499292aabd4a8c01685056f06ff2e97a977d836968cc50c11"))


@register
class AFQMC(CarvedTask):
    """AFQMC (CLUE, 0/1): train carved 90/10 into train/valid, the CLUE dev file as test."""

    name: ClassVar[str] = "afqmc"
    params = (*COMMON_PARAMS, Param("valid_fraction", "float", 0.1, CARVE.help, minimum=0.01, maximum=0.99))
    data = (DataFile("matching/zh/AFQMC/train.txt", "48642eebd4dcd2fa099ad20b47fdbda456bdc396f8359aa4384a452a36f31eb7", "zejunwang1/CSTS AFQMC/train.txt"),
            DataFile("matching/zh/AFQMC/dev.txt", "bd5136527078950a4d624a3d903ce86950cafb26b5092559b64c418e015f0df3", "zejunwang1/CSTS AFQMC/dev.txt"))


@register
class MRPC(CarvedTask):
    """MRPC (English news paraphrases, 0/1): train carved 90/10 into train/valid, its test file."""

    name: ClassVar[str] = "mrpc"
    params = (*COMMON_PARAMS, Param("valid_fraction", "float", 0.1, CARVE.help, minimum=0.01, maximum=0.99))
    columns = Columns("3", "4", "0")
    encoding = "utf-8-sig"  # the file starts with a BOM and has no header
    data = (DataFile("matching/en/mrpc/msr_paraphrase_train.txt", "2b70c53140816300a37fc7195a43285a09ca204493b7241bfd8ce17cf411b309", "a389965626/Sick- msr_paraphrase_train.txt"),
            DataFile("matching/en/mrpc/msr_paraphrase_test.txt", "209ea8fad226deac2e07e156b2a424cc1ca267c8c9697f8c3d5b369531d7b1d3", "a389965626/Sick- msr_paraphrase_test.txt"))


@register
class STSBzh(MatchingTask):
    """STS-B zh (CNSD translation; integer scores 0–5): its own train/valid/test files."""

    name: ClassVar[str] = "stsb-zh"
    labels: ClassVar[LabelRange] = SCORE_0_5
    data = (_zh("STS-B", "train", "456904474b184025fc620fa62d887bdcd6c0de28bc94888602fc8112b8d0719c"),
            _zh("STS-B", "valid", "5d3297cb522b763970631790508c567a141be4d3b729669ae2a19743383340c6"),
            _zh("STS-B", "test", "a22c0e4dba5d589b8f68feca2c11329031fdaee084c37c30ebea7feea12a3545"))

    def bundle_splits(self) -> tuple[Pairs, Pairs, Pairs]:
        return tuple(bundle_pairs(f, TSV3, self.labels) for f in self.data)  # type: ignore[return-value]


@register
class STSBen(MatchingTask):
    """STS Benchmark (English; scores 0–5): the train/dev/test rows of stsbenchmark.tsv.gz."""

    name: ClassVar[str] = "stsb-en"
    labels: ClassVar[LabelRange] = SCORE_0_5
    data = (DataFile("matching/en/stsb/stsbenchmark.tsv.gz", "aa3ae9b0060fdab8a7239df4bed7668086b4181e7cf6e921d086a70f9e42c17e", "shibing624/text2vec examples/data/English-STS-B/stsbenchmark.tsv.gz"),)

    def bundle_splits(self) -> tuple[Pairs, Pairs, Pairs]:
        cols = Columns("sentence1", "sentence2", "score")
        return tuple(bundle_pairs(self.data[0], cols, self.labels, True, "utf-8", "split", s) for s in ("train", "dev", "test"))  # type: ignore[return-value]


@lru_cache(maxsize=16)
def _user_pairs(path: str, size: int, mtime_ns: int, header: bool, delimiter: str, columns: Columns, labels: LabelRange) -> Pairs:
    """A user's pair file, checked and parsed once per process and file version: the check
    before the run and the cell that trains on it read the same parse."""
    file = Path(path)
    text = read_text(file)
    if file.suffix.lower() == ".jsonl":
        check_json_lines(text, file)
    lines = row_lines(text, header)
    if not lines:
        raise UserError(f"pair file {path} has a header line but no pairs")
    return to_pairs(load_table(file, header=header, delimiter=delimiter), columns, labels, path, lines=lines)


@register
class PairFile(MatchingTask):
    """Your own pair file (TSV/CSV/JSONL): name its columns and label range, no code needed."""

    name: ClassVar[str] = "pair-file"
    version: ClassVar[str] = "2"  # 2: the test split is scored whole at small (was: capped at 2,000 pairs)
    labels: ClassVar[LabelRange] = SCORE_0_5  # replaced per instance from label_min/label_max
    data = (_zh("STS-B", "test", "a22c0e4dba5d589b8f68feca2c11329031fdaee084c37c30ebea7feea12a3545"),)
    scales: ClassVar[dict[str, str]] = {
        "smoke": "160/80/160 train/valid/test pairs, 1-layer d=32 Transformer from scratch, 1 epoch",
        "small": "train and valid cut to ≤2000/500 pairs (a fixed subsample of yours), the whole test split scored; "
                 "1-layer d=64 Transformer from scratch, 3 epochs",
        "full": "all pairs, 5 epochs, batch 32; with encoder=hf:<BERT dir>: the articles' protocol (Adam 2e-5)",
    }
    params = (
        *[p for p in COMMON_PARAMS if p.name not in ("text_a", "text_b", "label")],
        Param("path", "str", "bundle", "the pair file (TSV/CSV/JSONL); bundle: the bundle's STS-B-zh test file, as an example"),
        Param("valid_path", "str", "", "a separate valid file (default: carved from path)"),
        Param("test_path", "str", "", "a separate test file (default: carved from path)"),
        Param("text_a", "str", "0", "column of the first sentence: its header name, or its 0-based position if header=false"),
        Param("text_b", "str", "1", "column of the second sentence"),
        Param("label", "str", "2", "column of the label"),
        Param("header", "bool", False, "the first line names the columns"),
        Param("delimiter", "str", "tab", "tab or comma (CSV files)", choices=("tab", "comma")),
        Param("label_min", "float", 0.0, "lowest label"),
        Param("label_max", "float", 5.0, "highest label; label_min=0, label_max=1 with 0/1 labels makes a binary task"),
        Param("valid_fraction", "float", 0.2, "fraction carved as valid when valid_path is empty", minimum=0.0, maximum=1.0, bounds="()"),
        Param("test_fraction", "float", 0.2, "fraction carved as test when test_path is empty", minimum=0.0, maximum=1.0, bounds="()"),
    )

    def __init__(self, **given: object) -> None:
        super().__init__(**given)
        low, high = self.p["label_min"], self.p["label_max"]
        if not high > low:
            raise UserError(f"pair-file: label_max ({high:g}) must be above label_min ({low:g})")
        carved = [name for name, file in (("valid_fraction", "valid_path"), ("test_fraction", "test_path")) if not self.p[file]]
        if sum(self.p[name] for name in carved) >= 1.0:
            raise UserError(f"pair-file: {' + '.join(f'{n}={self.p[n]:g}' for n in carved)} carve the whole file; "
                            "their sum must be below 1 so that some pairs train")
        self.labels = LabelRange(low, high, (low, high) == (0.0, 1.0))  # type: ignore[misc]

    def validate(self) -> None:
        """Read and check your files before anything runs: missing, empty, binary or non-UTF-8
        files, a missing column, a label that is not a number or out of range (with its line),
        and a carve that leaves a split empty. The cell reuses the parse."""
        if self.p["data"] == "bundle" and any(self.p[k] not in ("", "bundle") for k in ("path", "valid_path", "test_path")):
            self.bundle_splits()

    def fingerprint(self) -> str:
        if self.p["path"] == "bundle":
            return super().fingerprint()
        from harness.api import sha256_of

        paths = [self.p["path"], self.p["valid_path"], self.p["test_path"]]
        return ",".join(sha256_of(Path(p)) if Path(p).is_file() else f"missing:{p}" for p in paths if p)

    def _read(self, path: str) -> Pairs:
        from harness.api import resolve

        delim = "\t" if self.p["delimiter"] == "tab" else ","
        cols = Columns(self.p["text_a"], self.p["text_b"], self.p["label"])
        if path == "bundle":
            return to_pairs(load_table(resolve(self.data[0]), header=self.p["header"], delimiter=delim), cols, self.labels, path)
        file = Path(path).expanduser()
        if not file.is_file():
            read_text(file)  # the error for a missing file or a folder
        stat = file.stat()
        return _user_pairs(str(file), stat.st_size, stat.st_mtime_ns, self.p["header"], delim, cols, self.labels)

    def bundle_splits(self) -> tuple[Pairs, Pairs, Pairs]:
        whole = self._read(self.p["path"])
        valid = self._read(self.p["valid_path"]) if self.p["valid_path"] else None
        test = self._read(self.p["test_path"]) if self.p["test_path"] else None
        fractions = tuple(f for f, given in ((self.p["valid_fraction"], valid), (self.p["test_fraction"], test)) if given is None)
        parts = carve(whole, fractions, self.p["carve_seed"], self.p["path"]) if fractions else [whole]
        if valid is None:
            valid = parts.pop(0)
        if test is None:
            test = parts.pop(0)
        return parts[0], valid, test

    def splits(self, scale: str) -> tuple[Pairs, Pairs, Pairs]:
        """Train and valid cut to the scale's budget; the test split whole outside smoke (the
        number is the score on your test data, not on a sample of it)."""
        if self.p["data"] != "bundle" or scale == "smoke":
            return super().splits(scale)
        train, valid, test = self.bundle_splits()
        b, seed = BUDGETS[scale], self.p["carve_seed"]
        return subsample(train, b.max_train, seed), subsample(valid, b.max_valid, seed + 1), test
