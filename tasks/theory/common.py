"""What every exact ``theory`` task shares: the family, its metric declarations, and a ``run``
that checks the method's hook and times one deterministic measurement.

An exact task is a pure computation: it does not depend on the seed (``seeded = False``, one
cell per task × method × scale) and each scale only refines a grid or adds repeats. A subclass
names the protocol its methods implement (``hook``, from ``methods/theory/base.py``) and
implements :meth:`ExactTask.measure`: method, scale → metrics, or a :class:`Measured` when it also
keeps curves (stored beside the cell as its predictions, for the figures). Metric names carry a
short prefix per task so that they never collide with another family's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.api import (
    CellFailure,
    CellResult,
    Method,
    Metric,
    RunContext,
    Task,
    register_metric,
)

FAMILY = "theory"


def exact_metric(name: str, description: str, higher_is_better: bool | None = False, measures_time: bool = False) -> str:
    """Register one metric of the family and return its name. Most exact metrics are errors or
    violation counts (lower is better, the default); a measured constant, a fitted order, a count
    or a flag has no better side (``None``): its claim says which value the article predicts."""
    register_metric(Metric(name, higher_is_better, description, measures_time=measures_time))
    return name


@dataclass
class Measured:
    """Metrics and the curves they were read from (a pandas DataFrame)."""

    metrics: dict[str, float]
    curves: Any = None


class ExactTask(Task):
    """Base of the deterministic ``theory`` tasks (see the module docstring)."""

    family: ClassVar[str] = FAMILY
    seeded: ClassVar[bool] = False
    uses_torch: ClassVar[bool] = False
    max_threads: ClassVar[int | None] = 1
    hook: ClassVar[type] = object  # the protocol of methods/theory/base.py its methods implement
    precision: ClassVar[str] = "fp64"

    def fingerprint(self) -> str:
        return "computed"  # no data file: the numbers come from the code and the params

    def measure(self, method: Method, scale: str) -> dict[str, float] | Measured:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        if not isinstance(method, self.hook):
            raise CellFailure(f"method {method.name} does not implement {self.hook.__name__}, the hook task {self.name} calls")
        t0 = time.monotonic()
        result = self.measure(method, ctx.scale)
        measured = result if isinstance(result, Measured) else Measured(result)
        metrics = {k: float(v) for k, v in measured.metrics.items()}
        bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
        if bad:
            raise CellFailure(f"non-finite metric(s): {', '.join(bad)}")
        return CellResult(metrics=metrics, eval_s=time.monotonic() - t0, predictions=measured.curves,
                          info={"precision": self.precision})


def log_slope(x: Any, y: Any) -> float:
    """Least-squares slope of log y on log x: the fitted order p of y ≈ C·xᵖ."""
    import numpy as np

    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])
