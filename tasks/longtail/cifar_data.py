"""CIFAR-10 from the bundle's parquet files: decode the JPEG bytes once, cache uint8 arrays.

``images/cifar10/{train,test}.parquet`` hold the original JPEG files (column ``image``) with
their ``label``, sorted by label then file number. :func:`load_images` returns the first
``per_class[c]`` rows of each class ``c`` in that stored order, as ``uint8`` (N, 32, 32, 3)
images (HWC, RGB, as decoded) and ``int64`` labels, class by class.

Decoding happens once per (file sha256, selection): the arrays are cached as an uncompressed
``.npz`` under :func:`cache_dir` and read back on later calls. No torch here.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

CACHE_FORMAT = "1"  # bump when the cached layout changes


def cache_dir() -> Path:
    """``$HARNESS_CACHE``, else ``$XDG_CACHE_HOME/harness``, else ``~/.cache/harness``."""
    if os.environ.get("HARNESS_CACHE"):
        return Path(os.environ["HARNESS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness"


def first_per_class(labels: np.ndarray, per_class: Sequence[int]) -> np.ndarray:
    """Row indices of the first ``per_class[c]`` rows of each class c, in stored order, class by class."""
    chosen = []
    for c, n in enumerate(per_class):
        rows = np.flatnonzero(labels == c)
        if len(rows) < n:
            raise ValueError(f"class {c} has {len(rows)} rows, {n} requested")
        chosen.append(rows[:n])
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def decode_jpegs(blobs: Sequence[bytes]) -> np.ndarray:
    """JPEG bytes → uint8 (N, H, W, 3) RGB, with PIL (all images must share one size)."""
    from PIL import Image

    images = [np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"), dtype=np.uint8) for blob in blobs]
    if not images:
        return np.zeros((0, 32, 32, 3), dtype=np.uint8)
    return np.stack(images)


def cache_path(sha256: str, per_class: Sequence[int] | None) -> Path:
    selection = "all" if per_class is None else "first-" + hashlib.sha256(",".join(map(str, per_class)).encode()).hexdigest()[:16]
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


def load_images(path: Path, sha256: str, per_class: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 32, 32, 3) images and int64 labels; all rows, or the first ``per_class[c]`` of each class.

    ``sha256`` is the verified digest of ``path`` (from :func:`harness.data.resolve`'s DataFile);
    it names the cache entry, so a changed file never reads a stale cache.
    """
    target = cache_path(sha256, per_class)
    cached = _read_cache(target)
    if cached is not None:
        return cached
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["image", "label"])
    labels = table.column("label").to_numpy().astype(np.int64)
    rows = np.arange(len(labels)) if per_class is None else first_per_class(labels, per_class)
    blobs = table.column("image").take(rows).to_pylist()
    images, labels = decode_jpegs(blobs), labels[rows]
    _write_cache(target, images, labels)
    return images, labels
