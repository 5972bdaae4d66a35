"""CIFAR-10 from the bundle's parquet files: decode the JPEG bytes once, cache uint8 arrays.

``images/cifar10/{train,test}.parquet`` hold the original JPEG files (column ``image``) with
their ``label``, sorted by label then file number. :func:`load_images` returns ``per_class[c]``
rows of each class ``c`` — a seeded random subset, as the long-tailed CIFAR generator of
kaidic/LDAM-DRW draws it (``np.random.seed(seed)``, then for each class in turn shuffle its indices
and keep the first n_c), or the first rows in stored order when no seed is given — as ``uint8``
(N, 32, 32, 3) images (HWC, RGB, as decoded) and ``int64`` labels, class by class. The images
are the bundle's JPEG files (quality ≈ 75), not the lossless PNG-equivalent arrays of the
original CIFAR-10 release: published numbers are beside ours for direction only.

Decoding happens once per (file sha256, selection): the arrays are cached as an uncompressed
``.npz`` under :func:`cache_dir` and read back on later calls. No torch here.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CACHE_FORMAT = "2"  # bump when the cached layout changes


def cache_dir() -> Path:
    """The project's one cache folder (``harness.plan.data.cache_dir``: ``$HARNESS_CACHE`` first)."""
    from harness.api import cache_dir as shared_cache_dir

    return shared_cache_dir()


def select_per_class(labels: np.ndarray, per_class: Sequence[int], seed: int | None = None) -> np.ndarray:
    """Row indices of ``per_class[c]`` rows of each class c, class by class.

    ``seed=None``: the first rows in stored order. Otherwise the reference generator's draw: one
    ``RandomState(seed)`` shuffles each class's row indices in turn (class 0 first), and the first
    n_c of the shuffled indices are kept.
    """
    rng = None if seed is None else np.random.RandomState(seed)
    chosen = []
    for c, n in enumerate(per_class):
        rows = np.flatnonzero(labels == c)
        if len(rows) < n:
            raise ValueError(f"class {c} has {len(rows)} rows, {n} requested")
        if rng is not None:
            rng.shuffle(rows)
        chosen.append(rows[:n])
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def decode_jpegs(blobs: Sequence[bytes]) -> np.ndarray:
    """JPEG bytes → uint8 (N, H, W, 3) RGB, with PIL (all images must share one size)."""
    from PIL import Image

    images = [np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"), dtype=np.uint8) for blob in blobs]
    if not images:
        return np.zeros((0, 32, 32, 3), dtype=np.uint8)
    return np.stack(images)


def cache_path(sha256: str, per_class: Sequence[int] | None, seed: int | None = None) -> Path:
    kind = "first" if seed is None else f"seed{seed}"
    selection = "all" if per_class is None else f"{kind}-" + hashlib.sha256(",".join(map(str, per_class)).encode()).hexdigest()[:16]
    return cache_dir() / "cifar10" / f"{sha256}-{selection}-v{CACHE_FORMAT}.npz"


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, KeyError, ValueError):
        return None
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels):
        return None
    return images, labels


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Atomic (temp file + rename); a read-only cache folder only costs a re-decode next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, images=images, labels=labels)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def load_images(path: Path, sha256: str, per_class: Sequence[int] | None = None, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 32, 32, 3) images and int64 labels; all rows, or ``per_class[c]`` of each class
    (:func:`select_per_class`: seeded random, or the first in stored order when ``seed`` is None).

    ``sha256`` is the verified digest of ``path`` (from :func:`harness.plan.data.resolve`'s DataFile);
    it names the cache entry, so a changed file never reads a stale cache.
    """
    target = cache_path(sha256, per_class, seed)
    cached = _read_cache(target)
    if cached is not None:
        return cached
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["image", "label"])
    labels = table.column("label").to_numpy().astype(np.int64)
    rows = np.arange(len(labels)) if per_class is None else select_per_class(labels, per_class, seed)
    blobs = table.column("image").take(rows).to_pylist()
    images, labels = decode_jpegs(blobs), labels[rows]
    _write_cache(target, images, labels)
    return images, labels
