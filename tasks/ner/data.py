"""Reading NER corpora into sentences of tokens + gold spans, through Hugging Face ``datasets``.

Files are read with ``datasets.load_dataset("text", …)`` (one row per line, blank lines kept:
they separate sentences) and parsed here, so the same code reads the bundle's files and a
user's own files:

* **CoNLL-style**: one token per line, whitespace-separated columns, the tag in the last
  column, a blank line between sentences, ``-DOCSTART-`` lines skipped (CoNLL-2003 in this
  bundle has them *after* each document). The tag scheme (``bio``, ``iob1``, ``bioes``) is
  declared by the caller; tags are turned into spans at once (:mod:`methods.ner.spans`).
* **CLUENER-style JSON lines**: ``{"text": str, "label": {type: {entity: [[start, end], …]}}}``
  with character offsets, end inclusive; every span is checked against its entity string.

``load_dataset("json")`` is not used for CLUENER on purpose: its ``label`` field has the entity
strings as keys, which Arrow would turn into one struct column per distinct entity.
Parsed corpora are memoised per process and file version (a grid reads each file once: the
check before the run and the cells read the same parse). A user's file is checked byte-wise
first (:func:`read_text`: missing, empty, binary, not UTF-8, with its line and column), since
``datasets``' own error for those says only ``DatasetGenerationError``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from harness.api import DataFile, UserError, read_user_text
from methods.ner.spans import Span, check_spans, parse_tag, spans_from_tags


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Corpus:
    """Sentences of one split, and how many gold tags were repaired while reading them."""

    sentences: tuple[Sentence, ...]
    repaired: int = 0

    def __len__(self) -> int:
        return len(self.sentences)


@dataclass(frozen=True)
class Splits:
    train: Corpus
    valid: Corpus
    test: Corpus
    types: tuple[str, ...]
    note: str = ""  # how train/valid were made, for the record


def read_text(path: Path) -> str:
    """A user's NER file as text, or one error naming the file, line and column."""
    return read_user_text(path, "NER file", "it needs one token and its tag per line (or CLUENER JSON lines)", iconv_from="gbk")


def read_lines(path: Path) -> list[str]:
    """The file's lines (newline stripped, blank lines kept) through ``datasets``' text builder,
    after :func:`read_text` has checked the bytes."""
    import datasets

    read_text(path)

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # our one line says what a builder's ERROR log would
    try:
        ds = datasets.load_dataset("text", data_files={"data": str(path)}, split="data", keep_linebreaks=False)
    except FileNotFoundError:
        raise UserError(f"NER file {path} not found") from None
    return [line.rstrip("\r") for line in ds["text"]]


def parse_conll(lines: Sequence[str], scheme: str, on_invalid: str = "repair", name: str = "") -> Corpus:
    """CoNLL columns → sentences with spans; a line with fewer than 2 columns is a UserError."""
    sentences: list[Sentence] = []
    repaired = 0
    tokens: list[str] = []
    tags: list[str] = []
    first_line = 0
    seen_tags: set[str] = set()

    def flush() -> None:
        nonlocal repaired
        if tokens:
            got = spans_from_tags(tags, scheme, on_invalid, where=f"{name}: sentence at line {first_line + 1}: ")
            sentences.append(Sentence(tuple(tokens), got.spans))
            repaired += got.repaired
        tokens.clear()
        tags.clear()

    for i, line in enumerate(lines):
        cols = line.split()
        if not cols:
            flush()
            continue
        if cols[0] == "-DOCSTART-":
            flush()
            continue
        if len(cols) < 2:
            raise UserError(f"{name}: line {i + 1} is malformed: {line[:60]!r} (expected 'token … TAG', tag in the last column)")
        if not tokens:
            first_line = i
        if cols[-1] not in seen_tags:  # a tag that does not parse: named with its own line and column
            parse_tag(cols[-1], scheme, f"{name} line {i + 1} column {len(cols)}, sentence at line {first_line + 1}: ")
            seen_tags.add(cols[-1])
        tokens.append(cols[0])
        tags.append(cols[-1])
    flush()
    return Corpus(tuple(sentences), repaired)


def parse_cluener(lines: Sequence[str], name: str = "") -> tuple[Corpus, tuple[str, ...]]:
    """CLUENER JSON lines → sentences of characters with spans, and the types seen (sorted)."""
    sentences: list[Sentence] = []
    types: set[str] = set()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{name}: line {i + 1}: "
        try:
            row: Any = json.loads(line)
            text, label = row["text"], row.get("label", {})
            if not isinstance(text, str) or not isinstance(label, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{where}not a CLUENER JSON object {{\"text\": str, \"label\": {{type: {{entity: [[start, end]]}}}}}}") from None
        spans: set[Span] = set()
        for etype, entities in label.items():
            for entity, offsets in entities.items():
                for pair in offsets:
                    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair)):
                        raise UserError(f"{where}offsets of {entity!r} must be [start, end] integer pairs, got {pair!r}")
                    start, end = pair
                    check_spans([(start, end, etype)], len(text), [etype], where)
                    if text[start : end + 1] != entity:
                        raise UserError(f"{where}span [{start}, {end}] reads {text[start:end + 1]!r}, not {entity!r} (offsets are 0-based, end inclusive)")
                    spans.add((start, end, etype))
            types.add(etype)
        sentences.append(Sentence(tuple(text), tuple(sorted(spans))))
    return Corpus(tuple(sentences)), tuple(sorted(types))


def types_of(*corpora: Corpus) -> tuple[str, ...]:
    return tuple(sorted({s[2] for c in corpora for sent in c.sentences for s in sent.spans}))


def split_off(corpus: Corpus, n_valid: int, seed: int) -> tuple[Corpus, Corpus]:
    """A fixed random ``n_valid`` sentences as valid, the rest (in file order) as train."""
    order = list(range(len(corpus)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_valid])
    keep = tuple(s for i, s in enumerate(corpus.sentences) if i not in held)
    valid = tuple(s for i, s in enumerate(corpus.sentences) if i in held)
    return Corpus(keep, corpus.repaired), Corpus(valid)


def subsample(corpus: Corpus, n: int | None, seed: int = 0) -> Corpus:
    """A fixed random ``n`` sentences (file order kept); all of them when ``n`` is None or larger."""
    if n is None or n >= len(corpus):
        return corpus
    pick = sorted(random.Random(seed).sample(range(len(corpus)), n))
    return Corpus(tuple(corpus.sentences[i] for i in pick), corpus.repaired)


def _version(path: str) -> tuple[int, int]:
    """(size, mtime) of ``path``: part of the parse memo's key, so an edited file is read again."""
    try:
        stat = Path(path).stat()
    except OSError:
        return (-1, -1)
    return stat.st_size, stat.st_mtime_ns


def load_conll_file(path: str, scheme: str, on_invalid: str = "repair") -> Corpus:
    return _conll(path, scheme, on_invalid, _version(path))


def load_cluener_file(path: str) -> tuple[Corpus, tuple[str, ...]]:
    return _cluener(path, _version(path))


@lru_cache(maxsize=32)
def _conll(path: str, scheme: str, on_invalid: str, version: tuple[int, int]) -> Corpus:
    return parse_conll(read_lines(Path(path)), scheme, on_invalid, name=path)


@lru_cache(maxsize=32)
def _cluener(path: str, version: tuple[int, int]) -> tuple[Corpus, tuple[str, ...]]:
    return parse_cluener(read_lines(Path(path)), name=path)


# --- the bundle's files ------------------------------------------------------------------

def _f(path: str, sha: str, source: str) -> DataFile:
    return DataFile(path, sha, source)


CLUENER_TRAIN = _f("ner/cluener/train.json", "60299d202779dc84f3c3bd81f4dc08f5323d0dbf762cb50cd62dd51aa9a871f8", "gaohongkui/GlobalPointer_pytorch@64d5cb88:datasets/cluener/train.json")
CLUENER_DEV = _f("ner/cluener/dev.json", "90036b59832e007c45d11eafe5ed80549f58a18a29aaa7fe8b1229622c69ec38", "gaohongkui/GlobalPointer_pytorch@64d5cb88:datasets/cluener/dev.json")
PD_DEV = _f("ner/peoples_daily/example.dev", "7d8e6fcd1745e6adcb99d90307d84c3a0f9f8ff5ee6fe62ca27646cb765fc38a", "zjy-ucas/ChineseNER@48e1007e:data/example.dev")
PD_TEST = _f("ner/peoples_daily/example.test", "233299005f941a4b055e38aadcf3ee853e44bc1f88166078d3b52b26b77ea362", "zjy-ucas/ChineseNER@48e1007e:data/example.test")
CONLL_TRAIN = _f("ner/conll2003/eng.train", "bed631399cb0e859c4b446438ce57dfe0208792ca6106ef11620877355494c3a", "ZhixiuYe/HSCRF-pytorch@86bb6489:data/eng.train")
CONLL_DEV = _f("ner/conll2003/eng.testa", "aa83a45b88e4952998156583e2ff5a8be7c1f04fb9efa3a29cd87fac2c883807", "ZhixiuYe/HSCRF-pytorch@86bb6489:data/eng.testa")
CONLL_TEST = _f("ner/conll2003/eng.testb", "443914daf51328868558859b28252a28caee2fd02b65e77987977d6489246c5f", "ZhixiuYe/HSCRF-pytorch@86bb6489:data/eng.testb")
WNUT_TRAIN = _f("ner/wnut17/wnut17train.conll", "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5", "leondz/emerging_entities_17@e52a2d2a:wnut17train.conll")
WNUT_DEV = _f("ner/wnut17/emerging.dev.conll", "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8", "leondz/emerging_entities_17@e52a2d2a:emerging.dev.conll")
WNUT_TEST = _f("ner/wnut17/emerging.test.annotated", "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0", "leondz/emerging_entities_17@e52a2d2a:emerging.test.annotated")

CLUENER_TYPES = ("address", "book", "company", "game", "government", "movie", "name", "organization", "position", "scene")
PD_TYPES = ("LOC", "ORG", "PER")
CONLL_TYPES = ("LOC", "MISC", "ORG", "PER")
WNUT_TYPES = ("corporation", "creative-work", "group", "location", "person", "product")
SPLIT_SEED = 20210501  # fixed, recorded: carving valid (and People's Daily train) never depends on the cell seed


def load_hf(dataset_id: str) -> Splits:
    """A hub dataset with ``tokens`` and ``ner_tags`` (a ClassLabel of BIO names), for users with a network."""
    import datasets

    try:
        dd = datasets.load_dataset(dataset_id)
    except Exception as exc:  # noqa: BLE001 - offline machines, unknown ids: one clear line
        raise UserError(f"cannot load hub dataset {dataset_id!r}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    names = dd["train"].features["ner_tags"].feature.names

    def corpus(split: str) -> Corpus:
        sents, repaired = [], 0
        for row in dd[split]:
            got = spans_from_tags([names[t] for t in row["ner_tags"]], "bio")
            sents.append(Sentence(tuple(row["tokens"]), got.spans))
            repaired += got.repaired
        return Corpus(tuple(sents), repaired)

    train, test = corpus("train"), corpus("test")
    valid_name = next((s for s in ("validation", "valid", "dev") if s in dd), None)
    if valid_name is None:
        train, valid = split_off(train, max(1, len(train) // 10), SPLIT_SEED)
    else:
        valid = corpus(valid_name)
    return Splits(train, valid, test, types_of(train, valid, test), note=f"hub dataset {dataset_id}")
