"""What every in-memory long-tail task shares: run = (reuse or train) → postprocess → metrics.

Subclasses provide ``load(scale)`` (a :class:`Split`), ``schedule(scale)`` and ``hidden``.
Importing this module does not import torch; ``run`` does.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from harness.api import CellFailure, CellResult, Method, Param, RunContext, Task, hooks
from methods.longtail.hooks import LongTailMethod
from tasks.longtail.metrics import longtail_metrics
from tasks.longtail.schedules import Schedule
from tasks.longtail.split import Split

if TYPE_CHECKING:
    import numpy as np

SHOT_PARAMS = (
    Param("many_threshold", "int", 100, "many-shot: more than this many training examples"),
    Param("few_threshold", "int", 20, "few-shot: fewer than this many training examples"),
)


class LongTailTask(Task):
    family: ClassVar[str] = "longtail"
    primary_metric: ClassVar[str] = "balanced_accuracy"
    table_metrics: ClassVar[tuple[str, ...]] = ("balanced_accuracy", "macro_f1", "accuracy", "few_shot_accuracy")
    baseline: ClassVar[str] = "erm"

    def load(self, scale: str) -> Split:  # pragma: no cover - abstract
        raise NotImplementedError

    def schedule(self, scale: str) -> Schedule:  # pragma: no cover - abstract
        raise NotImplementedError

    def model(self, split: Split) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def example_metric(cls, predictions: Any, metric: str) -> Callable[[Any], float] | None:
        """Accuracy and balanced accuracy recomputed on resampled test examples (label, prediction)."""
        from harness.api import accuracy, balanced_accuracy

        y, pred = predictions["y"].to_numpy(), predictions["pred"].to_numpy()
        n_classes = int(max(y.max(), pred.max())) + 1
        if metric == "accuracy":
            return lambda index: accuracy(y[index], pred[index])
        if metric == "balanced_accuracy":
            return lambda index: balanced_accuracy(y[index], pred[index], n_classes)
        return None

    def extra_metrics(self, split: Split, pred: np.ndarray) -> dict[str, float]:
        return {}

    def _train(self, method: LongTailMethod, split: Split, ctx: RunContext) -> np.ndarray:
        from tasks.longtail._train_loop import train_logits

        return train_logits(self.model(split), split.x_train, split.y_train, split.x_test, split.counts, method, self.schedule(ctx.scale), ctx)

    def _logits(self, method: LongTailMethod, split: Split, ctx: RunContext) -> tuple[np.ndarray, bool]:
        """Test logits of the model this method predicts with, and whether they were reused
        (a post-hoc method reads its base cell's stored logits; the scheduler ran that cell)."""
        import numpy as np

        if method.dependency() is None:
            return self._train(method, split, ctx), False
        return np.stack(ctx.base_predictions()["logits"].to_numpy()), True

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        import numpy as np

        method = hooks(method, LongTailMethod)
        split = self.load(ctx.scale)
        t0 = time.monotonic()
        logits, reused = self._logits(method, split, ctx)
        train_s = time.monotonic() - t0
        counts = split.counts
        log_prior = np.log(counts / counts.sum())
        scores = method.postprocess(logits, log_prior)
        finite = np.isfinite(scores).all(axis=1)
        if not finite.all():  # argmax would read NaN rows as class 0 and score them
            raise CellFailure(f"{method.name} gave non-finite scores on {int((~finite).sum())} of {len(finite)} test rows")
        pred = scores.argmax(1)
        metrics = longtail_metrics(split.y_test, pred, counts, self.p["many_threshold"], self.p["few_threshold"])
        metrics.update(self.extra_metrics(split, pred))
        metrics.update(method.diagnostics(logits, scores, log_prior, split.y_test))
        return CellResult(
            metrics=metrics,
            train_s=train_s,
            eval_s=time.monotonic() - t0 - train_s,
            predictions=predictions_frame(split.y_test, logits, pred),
            info={"batch_size": self.schedule(ctx.scale).batch_size, "notes": "reused base logits" if reused else ""},
        )


def predictions_frame(y: np.ndarray, logits: np.ndarray, pred: np.ndarray) -> Any:
    """Per-example outputs: label, raw logits (for post-hoc reuse) and the prediction."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame({"y": y.astype(np.int64), "pred": pred.astype(np.int64), "logits": list(logits.astype(np.float32))})
