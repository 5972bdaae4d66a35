"""What every in-memory long-tail task shares: run = (reuse or train) → postprocess → metrics.

Subclasses provide ``load(scale)`` (a :class:`Split`), ``schedule(scale)`` and ``hidden``.
Importing this module does not import torch; ``run`` does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from harness.api import CellResult, Method, RunContext, Task
from harness.cells import Cell
from harness.params import Param
from tasks.longtail.metrics import longtail_metrics

SHOT_PARAMS = (
    Param("many_threshold", "int", 100, "many-shot: more than this many training examples"),
    Param("few_threshold", "int", 20, "few-shot: fewer than this many training examples"),
)


@dataclass(frozen=True)
class Schedule:
    """Optimiser schedule of one scale (Adam on shuffled mini-batches)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.y_train, minlength=self.n_classes)


def exp_profile(n_max: int, rho: float, n_classes: int) -> list[int]:
    """EXP long-tail profile n_c = ⌊n_max · ρ^(−c/(C−1))⌋ (Cao et al. 2019; Menon et al. 2021)."""
    return [int(n_max * rho ** (-c / (n_classes - 1))) for c in range(n_classes)]


class LongTailTask(Task):
    family: ClassVar[str] = "longtail"
    primary_metric: ClassVar[str] = "balanced_accuracy"
    table_metrics: ClassVar[tuple[str, ...]] = ("balanced_accuracy", "accuracy", "few_shot_accuracy")
    higher_is_better: ClassVar[dict[str, bool]] = {}  # every metric here: higher is better

    def load(self, scale: str) -> Split:  # pragma: no cover - abstract
        raise NotImplementedError

    def schedule(self, scale: str) -> Schedule:  # pragma: no cover - abstract
        raise NotImplementedError

    def model(self, split: Split) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_metrics(self, split: Split, pred: np.ndarray) -> dict[str, float]:
        return {}

    def _train(self, method: Method, split: Split, ctx: RunContext) -> np.ndarray:
        from tasks.longtail.protocol import train_logits

        return train_logits(self.model(split), split.x_train, split.y_train, split.x_test, split.counts, method, self.schedule(ctx.scale), ctx)

    def _logits(self, method: Method, split: Split, ctx: RunContext) -> tuple[np.ndarray, bool]:
        """Test logits of the model this method predicts with, and whether they were reused."""
        base = getattr(method, "base", None)
        if base is None:
            return self._train(method, split, ctx), False
        name, params = base
        base_cell = Cell.build(self.name, name, ctx.seed, ctx.scale, self.p, params)
        stored = ctx.store.load_predictions(base_cell.key) if ctx.store is not None else None
        if stored is not None:
            return np.stack(stored["logits"].to_numpy()), True
        logits = self._train(base_cell.make_method(), split, ctx)
        if ctx.store is not None:  # later post-hoc cells (a τ sweep) reuse this training run
            ctx.store.write_predictions(base_cell.key, predictions_frame(split.y_test, logits, logits.argmax(1)))
        return logits, False

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        split = self.load(ctx.scale)
        t0 = time.monotonic()
        logits, reused = self._logits(method, split, ctx)
        train_s = time.monotonic() - t0
        counts = split.counts
        log_prior = np.log(counts / counts.sum())
        scores = method.postprocess(logits, log_prior)  # type: ignore[attr-defined]
        pred = scores.argmax(1)
        metrics = longtail_metrics(split.y_test, pred, counts, self.p["many_threshold"], self.p["few_threshold"])
        metrics.update(self.extra_metrics(split, pred))
        metrics.update(method.diagnostics(logits, scores, log_prior, split.y_test))  # type: ignore[attr-defined]
        return CellResult(
            metrics=metrics,
            train_s=train_s,
            eval_s=time.monotonic() - t0 - train_s,
            predictions=predictions_frame(split.y_test, logits, pred),
            info={"batch_size": self.schedule(ctx.scale).batch_size, "notes": "reused base logits" if reused else ""},
        )


def predictions_frame(y: np.ndarray, logits: np.ndarray, pred: np.ndarray) -> Any:
    """Per-example outputs: label, raw logits (for post-hoc reuse) and the prediction."""
    import pandas as pd

    return pd.DataFrame({"y": y.astype(np.int64), "pred": pred.astype(np.int64), "logits": list(logits.astype(np.float32))})
