"""scikit-learn's bundled 8×8 digits and the fixed per-class splits the experiments use.

Read straight from the CSV scikit-learn ships (what ``load_digits`` reads): importing
``sklearn.datasets`` costs seconds in every fresh worker, the file 20 ms."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.api import UserError, sha256_of


def digits_file() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the digits experiments need scikit-learn's bundled digits (pip install scikit-learn)")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


def fingerprint() -> str:
    return "sklearn-digits:" + sha256_of(digits_file())[:16]


@lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797 × 64 float32 pixels in [0, 1], int64 labels 0–9)."""
    table = np.loadtxt(digits_file(), delimiter=",")
    return (table[:, :-1] / 16.0).astype(np.float32), table[:, -1].astype(np.int64)


def per_class_split(y: np.ndarray, counts: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Index arrays: ``counts[k]`` images of every class in part k, the rest of each class in a
    last part; a fixed permutation per class drawn from ``seed`` (the split seed, not the run's)."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(counts) + 1)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        if len(idx) <= sum(counts):
            raise UserError(f"digits class {c} has {len(idx)} images, not more than the {sum(counts)} the split takes")
        bounds = np.cumsum((0, *counts, len(idx) - sum(counts)))
        for k in range(len(parts)):
            parts[k].append(idx[bounds[k] : bounds[k + 1]])
    return [np.sort(np.concatenate(p)) for p in parts]
