"""``ner-files``: a user's own NER corpus as a task, without writing code.

``--param ner-files.data=FOLDER`` names a folder holding ``train.*``, ``test.*`` and optionally
``dev.*`` or ``valid.*`` (when absent, a fixed 10% of train becomes valid). Files ending in
``.json``/``.jsonl`` are CLUENER-style JSON lines; anything else is CoNLL-style (one token per
line, the tag in the last column, a blank line between sentences) in the declared ``scheme``
(``bio``, ``iob1`` or ``bioes``). ``lang=zh`` treats each token as a character (the char
encoder); ``lang=en`` uses the word + character encoder. ``data=hf:<id>`` loads a hub dataset
with ``tokens``/``ner_tags`` columns instead (needs a network). The default, ``example``, is the
toy corpus in ``tasks/ner/example``. Ill-formed tags follow ``on_invalid``: ``repair`` (read as
conlleval does, counted in ``gold_tags_repaired``) or ``error`` (stop at the first one).

The files are read and checked once, before anything runs (:meth:`NerFiles.validate`: a missing
folder or file, an empty, binary or non-UTF-8 file, a line without a tag, a tag that does not
parse, a CLUENER span outside its sentence, no entity at all), each one line naming the file and
line. A token column whose every token ends in a digit (raw Weibo NER files: ``女0``, the digit
marks the character's position in its word) is read as is, with a warning. Outside ``smoke`` the
test file is scored whole (``small`` caps only train and valid).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import ClassVar

from harness.api import Param, UserError, register, sha256_of
from tasks.ner import data as nd
from tasks.ner.base import ENCODER, MAXLEN, SIZES, NerTask
from tasks.ner.data import SPLIT_SEED, Corpus, Splits, subsample
from methods.ner.spans import SCHEMES

EXAMPLE = Path(__file__).parent / "example"
JSON_SUFFIXES = (".json", ".jsonl")


def _find(folder: Path, stems: tuple[str, ...], required: bool) -> Path | None:
    for stem in stems:
        hits = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file() and p.suffix != ".md")
        if hits:
            return hits[0]
    if required:
        raise UserError(f"ner-files: no {stems[0]}.* file in {folder} (expected train.*, test.* and optionally dev.* or valid.*)")
    return None


@register
class NerFiles(NerTask):
    """Your own NER files (CoNLL columns or CLUENER JSON lines) or a hub dataset, as a task."""

    name: ClassVar[str] = "ner-files"
    version: ClassVar[str] = "2"  # 2: the test file is scored whole at small (was: a 1,000-sentence subsample)
    scales: ClassVar[dict[str, str]] = {
        "smoke": "≤200/50/100 train/valid/test sentences, BiLSTM 1×32, 3 epochs",
        "small": "train and valid cut to ≤1500/300 sentences (a fixed subsample of yours), the whole test file scored; "
                 "BiLSTM 1×64, 4 epochs",
        "full": "all sentences, maxlen 256, batch 16, 10 epochs, best valid F1",
    }
    params = (
        Param("data", "str", "example", "folder with train.* / dev.* / test.*, or hf:<dataset id>; example = the toy corpus"),
        Param("scheme", "str", "bio", "tag scheme of CoNLL-style files", choices=SCHEMES),
        Param("lang", "str", "en", "en: word tokens (word+char encoder); zh: one character per token", choices=("en", "zh")),
        Param("on_invalid", "str", "repair", "ill-formed gold tags: repair (counted) or error", choices=("repair", "error")),
        ENCODER,
        MAXLEN,
    )

    @property
    def lang(self) -> str:  # type: ignore[override]
        return self.p["lang"]

    def folder(self) -> Path:
        raw = self.p["data"]
        folder = EXAMPLE if raw == "example" else Path(raw).expanduser()
        if not folder.is_dir():
            raise UserError(f"ner-files: data={raw!r} is not a folder (give a folder with train.* and test.*, or hf:<id>)")
        return folder

    def files(self) -> tuple[Path, Path | None, Path]:
        folder = self.folder()
        train = _find(folder, ("train",), True)
        test = _find(folder, ("test",), True)
        assert train is not None and test is not None
        return train, _find(folder, ("dev", "valid", "validation"), False), test

    def fingerprint(self) -> str:
        spec = self.p["encoder"]
        suffix = "" if spec == "bilstm" else f"+{spec}"
        if self.p["data"].startswith("hf:"):
            return self.p["data"] + suffix
        return ",".join(sha256_of(p) for p in self.files() if p is not None) + suffix

    def _read(self, path: Path) -> tuple[Corpus, tuple[str, ...]]:
        if path.suffix in JSON_SUFFIXES:
            return nd.load_cluener_file(str(path))
        corpus = nd.load_conll_file(str(path), self.p["scheme"], self.p["on_invalid"])
        return corpus, nd.types_of(corpus)

    def validate(self) -> None:
        """Read and check your files before anything runs (the cells reuse the parse), and say
        when a token column looks like it still carries Weibo's word-position digits."""
        if self.p["data"].startswith("hf:") or self.p["data"] == "example":
            return
        splits = self.splits()
        for what, corpus in (("train", splits.train), ("valid", splits.valid), ("test", splits.test)):
            if not len(corpus):
                raise UserError(f"ner-files: the {what} split of {self.folder()} has no sentence")
        train_path, _, _ = self.files()
        if train_path.suffix not in JSON_SUFFIXES:
            digit_marked(splits.train, str(train_path))

    def load(self, scale: str) -> Splits:
        """Train and valid cut to the scale's budget; the test file whole outside smoke (the F1 is
        then the score on your test file, not on a sample of it)."""
        if scale == "smoke" or self.p["data"].startswith("hf:"):
            return super().load(scale)
        full = self.splits()
        n_train, n_valid, _ = SIZES[scale]
        return Splits(subsample(full.train, n_train, SPLIT_SEED), subsample(full.valid, n_valid, SPLIT_SEED), full.test,
                      full.types, full.note)

    def splits(self) -> Splits:
        if self.p["data"].startswith("hf:"):
            return nd.load_hf(self.p["data"][3:])
        train_path, valid_path, test_path = self.files()
        train, t1 = self._read(train_path)
        test, t2 = self._read(test_path)
        note = f"files in {self.folder()}"
        if valid_path is None:
            train, valid = nd.split_off(train, max(1, len(train) // 10), nd.SPLIT_SEED)
            note += f"; valid = 10% of train (seed {nd.SPLIT_SEED})"
            t3: tuple[str, ...] = ()
        else:
            valid, t3 = self._read(valid_path)
        types = tuple(sorted(set(t1) | set(t2) | set(t3)))
        if not types:
            raise UserError(f"ner-files: no entity in {train_path.name} / {test_path.name} (every tag is O?)")
        return Splits(train, valid, test, types, note)


_DIGIT_END = re.compile(r"\D\d+$")


def digit_marked(corpus: Corpus, where: str) -> None:
    """A warning when every token ends in digits after something else (``女0``, ``孩1``): raw Weibo
    NER files mark each character's position in its word that way, and the mark is then read as
    part of the token (every character becomes several vocabulary entries)."""
    tokens = [t for sent in corpus.sentences for t in sent.tokens]
    if tokens and all(_DIGIT_END.search(t) for t in tokens):
        sample = ", ".join(dict.fromkeys(tokens[:3]))
        warnings.warn(f"ner-files: every token of {where} ends in a digit ({sample}, …), as raw Weibo NER files mark a "
                      "character's position in its word; they are read as part of the token. Strip them first if they are "
                      "such marks (e.g. sed -E 's/^([^[:space:]]*[^0-9[:space:]])[0-9]+/\\1/')", stacklevel=2)
