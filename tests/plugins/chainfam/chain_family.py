"""The ``chain`` family: a base that "trains" (sleeps, logs one line per training to
``$CHAIN_LOG``) and dependents that read its stored predictions, as post-hoc methods do."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import ClassVar

from harness.plan.contract import CellResult, Dependency, Method, RunContext, Task
from harness.common.errors import CellFailure
from harness.plan.metrics import Metric, register_metric
from harness.plan.params import Param
from harness.plan.registry import register

register_metric(Metric("chain_score", True, "a test score"))


def log(event: str, ctx: RunContext) -> None:
    """One line per event, appended atomically (O_APPEND), from whatever process runs the cell."""
    where = os.environ.get("CHAIN_LOG")
    if where:
        line = f"{event} {ctx.cell.method} seed={ctx.seed} key={ctx.cell.key[:12]} pid={os.getpid()} gpu={os.environ.get('CUDA_VISIBLE_DEVICES', '')}\n"
        with open(where, "a", encoding="utf-8") as handle:
            handle.write(line)


@register
class ChainTask(Task):
    """Scheduler test task: trains (sleeps) or post-processes a stored base."""

    name: ClassVar[str] = "chain-task"
    family: ClassVar[str] = "chain"
    uses_torch: ClassVar[bool] = False
    max_threads: ClassVar[int | None] = 1
    primary_metric: ClassVar[str] = "chain_score"
    baseline: ClassVar[str] = "chain_train"
    in_default_grid: ClassVar[bool] = False
    params = (Param("work_s", "float", 0.2, "seconds a training sleeps"),)

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        import pandas as pd

        if method.dependency() is not None:
            base = ctx.base_predictions()
            log("post", ctx)
            return CellResult(metrics={"chain_score": float(base["value"].iloc[0]) + method.p["shift"]})
        log("train", ctx)
        if method.name == "chain_crash" and not _crashed_before(ctx):
            os._exit(9)  # the worker dies, as on an out-of-memory kill
        if method.name == "chain_raise":
            raise CellFailure("chain_raise always raises")
        time.sleep(self.p["work_s"])
        value = 0.5 + 0.01 * ctx.seed
        return CellResult(metrics={"chain_score": value}, predictions=pd.DataFrame({"value": [value]}))


def _crashed_before(ctx: RunContext) -> bool:
    marker = Path(os.environ["CHAIN_LOG"] + f".crashed-{ctx.cell.key[:12]}")
    if marker.exists():
        return True
    marker.touch()
    return False


@register
class ChainTrain(Method):
    """Trains."""

    name: ClassVar[str] = "chain_train"
    families: ClassVar[tuple[str, ...]] = ("chain",)


@register
class ChainPost(Method):
    """Post-processes chain_train's stored output."""

    name: ClassVar[str] = "chain_post"
    families: ClassVar[tuple[str, ...]] = ("chain",)
    params = (Param("shift", "float", 0.1, "added to the base's value"), Param("base", "str", "chain_train", "the base method"))

    def dependency(self) -> Dependency:
        return Dependency(self.p["base"])


@register
class ChainCrash(Method):
    """Kills its worker process the first time it runs (per cell)."""

    name: ClassVar[str] = "chain_crash"
    families: ClassVar[tuple[str, ...]] = ("chain",)


@register
class ChainRaise(Method):
    """Raises every time."""

    name: ClassVar[str] = "chain_raise"
    families: ClassVar[tuple[str, ...]] = ("chain",)
