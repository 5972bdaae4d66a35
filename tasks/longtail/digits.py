"""``digits-lt``: scikit-learn's bundled 8×8 digits, long-tailed by the EXP profile."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from harness.api import Param, UserError, register, sha256_of
from tasks.longtail.longtail_task import SHOT_PARAMS, LongTailTask
from tasks.longtail.schedules import Schedule
from tasks.longtail.split import Split, exp_profile

if TYPE_CHECKING:
    import numpy as np

TEST_PER_CLASS = 50


def _digits_file() -> Path:
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("digits-lt needs scikit-learn (pip install scikit-learn)")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


@lru_cache(maxsize=4)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """Read straight from scikit-learn's bundled CSV (what ``load_digits`` reads): importing
    ``sklearn.datasets`` costs about 2.5 s in every fresh worker process, the file 20 ms."""
    import numpy as np

    table = np.loadtxt(_digits_file(), delimiter=",")
    return (table[:, :-1] / 16.0).astype(np.float32), table[:, -1].astype(np.int64)


@register
class DigitsLT(LongTailTask):
    """sklearn digits (1,797 images, 10 classes), EXP long tail on train, 50 per class held out."""

    name: ClassVar[str] = "digits-lt"
    version: ClassVar[str] = "1"
    max_threads: ClassVar[int | None] = 1
    params = (
        Param("rho", "float", 10.0, "imbalance ratio n_max/n_min (100 leaves 1 image in the last class)", minimum=1.0),
        Param("n_max", "int", 125, "training images of the largest class", minimum=1),
        Param("split_seed", "int", 0, "seed of the fixed train/test split (not the run seed)"),
        *SHOT_PARAMS,
    )
    scales = {"smoke": "MLP-128, 15 epochs", "small": "MLP-128, 150 epochs", "full": "MLP-128, 400 epochs"}
    estimate_s = {"smoke": 0.3, "small": 2.0, "full": 6.0}

    def fingerprint(self) -> str:
        """sha256 of the data file scikit-learn ships, found without importing scikit-learn."""
        return "sklearn-digits:" + sha256_of(_digits_file())[:16]

    def load(self, scale: str) -> Split:
        import numpy as np

        x, y = _digits()
        rng = np.random.default_rng(self.p["split_seed"])
        sizes = exp_profile(self.p["n_max"], self.p["rho"], 10)
        train, test = [], []
        for c in range(10):
            idx = rng.permutation(np.flatnonzero(y == c))
            if len(idx) < TEST_PER_CLASS + sizes[c]:
                raise UserError(f"digits-lt: class {c} has {len(idx)} images, fewer than n_max+{TEST_PER_CLASS}; lower n_max")
            test.append(idx[:TEST_PER_CLASS])
            train.append(idx[TEST_PER_CLASS : TEST_PER_CLASS + sizes[c]])
        tr, te = np.concatenate(train), np.concatenate(test)
        return Split(x[tr], y[tr], x[te], y[te], 10)

    def schedule(self, scale: str) -> Schedule:
        epochs = {"smoke": 15, "small": 150, "full": 400}[scale]
        return Schedule(epochs=epochs, batch_size=64, lr=3e-3, weight_decay=1e-4)

    def model(self, split: Split):  # noqa: ANN201 - a torch module
        from tasks.longtail._train_loop import mlp

        return mlp(split.x_train.shape[1], split.n_classes, hidden=128)
