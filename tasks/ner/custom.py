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
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from harness.api import Param, UserError, register, sha256_of
from tasks.ner import data as nd
from tasks.ner.base import ENCODER, MAXLEN, NerTask
from tasks.ner.data import Corpus, Splits
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
    version: ClassVar[str] = "1"
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
