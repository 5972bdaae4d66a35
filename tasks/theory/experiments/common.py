"""What the seeded ``theory`` experiments share: the family, a ``run`` that checks the method's
hook and times the cell, and the declaration of their metrics (prefixed per task so that they
never collide with another family's or with the exact tasks')."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

from harness.api import CellFailure, CellResult, Method, Metric, RunContext, Task, register_metric
from methods.theory.experiments import FAMILY


def experiment_metric(name: str, description: str, higher_is_better: bool | None = True) -> str:
    """Register one metric of the experiments and return its name."""
    register_metric(Metric(name, higher_is_better, description))
    return name


class ExperimentTask(Task):
    """Base of the experiment tasks: a subclass names its hook protocol and implements ``train``."""

    family: ClassVar[str] = FAMILY
    max_threads: ClassVar[int | None] = 1  # tiny models: a second thread only spins
    hook: ClassVar[type] = object  # the protocol of methods/theory/experiments.py its methods implement

    def train(self, method: Any, ctx: RunContext) -> tuple[dict[str, float], dict[str, Any]]:  # pragma: no cover - abstract
        """(metrics, info) of one cell."""
        raise NotImplementedError

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        if not isinstance(method, self.hook):
            raise CellFailure(f"method {method.name} does not implement {self.hook.__name__}, the hook task {self.name} calls")
        t0 = time.monotonic()
        metrics, info = self.train(method, ctx)
        bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
        if bad:
            raise CellFailure(f"non-finite metric(s): {', '.join(bad)}")
        return CellResult(metrics={k: float(v) for k, v in metrics.items()}, train_s=time.monotonic() - t0, info=info)
