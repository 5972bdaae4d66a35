"""Shared fixtures: a throw-away store, a fake family registered only while a test needs it,
and the smoke grid run once per session (it serves the contract and regression tests)."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import pytest

from harness.plan import registry
from harness.plan.contract import CellResult, Method, RunContext, Task
from harness.plan.metrics import Metric, register_metric
from harness.plan.params import Param
from harness.store.store import Store

register_metric(Metric("score", True, "the fake family's score"))
CALLS: list[str] = []  # one entry per executed fake cell, to prove what was (not) recomputed


class FakeTask(Task):
    """A task whose score is a known function of the method's params and the seed."""

    name: ClassVar[str] = "fake-task"
    family: ClassVar[str] = "testing"
    uses_torch: ClassVar[bool] = False
    primary_metric: ClassVar[str] = "score"
    params = (Param("offset", "float", 0.0, "added to every score"),)

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        CALLS.append(f"{method.name}:{ctx.seed}")
        value = method.score(ctx)  # type: ignore[attr-defined]
        return CellResult(metrics={"score": value + self.p["offset"]})


class ConstMethod(Method):
    """Scores ``value`` + 0.001·seed."""

    name: ClassVar[str] = "const"
    families: ClassVar[tuple[str, ...]] = ("testing",)
    params = (Param("value", "float", 0.5, "the score"), Param("label", "str", "x", "unused text"))

    def score(self, ctx: RunContext) -> float:
        return self.p["value"] + 0.001 * ctx.seed


class NanMethod(Method):
    """Produces a NaN score, like a diverged training run."""

    name: ClassVar[str] = "nan-method"
    families: ClassVar[tuple[str, ...]] = ("testing",)

    def score(self, ctx: RunContext) -> float:
        return math.nan


class SlowMethod(Method):
    """Overruns any small --timeout, checking the deadline like a training loop does."""

    name: ClassVar[str] = "slow-method"
    families: ClassVar[tuple[str, ...]] = ("testing",)

    def score(self, ctx: RunContext) -> float:
        for _ in range(100):
            time.sleep(0.01)
            ctx.check_deadline()
        return 1.0


FAKES = (FakeTask, ConstMethod, NanMethod, SlowMethod)


@pytest.fixture
def fake_family() -> Any:
    registry.load_plugins()
    for cls in FAKES:
        registry.register(cls)
    CALLS.clear()
    yield CALLS
    for cls in FAKES:
        (registry._tasks if issubclass(cls, Task) else registry._methods).pop(cls.name, None)


@pytest.fixture
def store(tmp_path: Any) -> Store:
    return Store(tmp_path / "store")


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The whole smoke grid (every task × applicable method × reference seeds), run once per
    session on two workers into a store the tests that need smoke records share; yields the
    store's folder, its records and the failed outcomes."""
    from harness.judge.reference import run_smoke_grid
    from harness.run.cell import usable_cores

    root = tmp_path_factory.mktemp("smoke") / "store"
    records, failed = run_smoke_grid(progress=False, workers=min(2, usable_cores()), store_dir=root)
    return root, records, failed


@pytest.fixture(scope="session")
def smoke_grid_results(smoke_store: Any) -> Any:
    """(records, failed outcomes) of the session's smoke grid."""
    return smoke_store[1], smoke_store[2]
