"""Planning a run once: cached cells whose family code changed are named, and identities are
built from per-class memos (not a Task and a Method object per question)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.plan.cells import Cell
from harness.run.cell import RunOptions
from harness.run.graph import plan
from harness.run.scheduler import execute
from harness.store.store import Store


def test_a_cached_cell_run_by_other_code_is_named(fake_family: Any, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = [Cell.build("fake-task", "const", s, "small") for s in range(2)]
    execute(cells, store, RunOptions(progress=False))
    assert store.load(["fake-task"])["code_sha"].str.len().eq(64).all()  # recorded with every row
    assert plan(cells, store).stale == []
    monkeypatch.setattr("harness.store.provenance.code_sha", lambda task, method: "0" * 64)  # the family's code changed
    again = plan(cells, store)
    assert again.cached == cells and again.stale == cells and "computed by other code" in again.summary()


def test_identities_come_from_memos_not_new_objects(fake_family: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: a 9-cell run built 379 Task/Method objects (identity, labels, bases each made new ones)."""
    from collections import Counter

    from conftest import ConstMethod, FakeTask

    made: Counter[str] = Counter()
    for cls in (FakeTask, ConstMethod):
        original = cls.__init__

        def counting(self: Any, _original: Any = original, **given: Any) -> None:
            made[type(self).__name__] += 1
            _original(self, **given)

        monkeypatch.setattr(cls, "__init__", counting)
    def ask() -> None:  # what grids, plans, progress and verdicts ask of the cells of a 9-cell run
        cells = [Cell.build("fake-task", "const", s, "small", {}, {"value": v}) for s in range(3) for v in (0.125, 0.25, 0.375)]
        for cell in cells:
            cell.key, cell.label(), cell.base, cell.identity  # noqa: B018
            Cell.build(cell.task, cell.method, cell.seed, cell.scale, {}, cell.method_params).key  # noqa: B018

    ask()
    first = dict(made)
    assert first.get("FakeTask", 0) <= 2 and first.get("ConstMethod", 0) <= 10  # a few per distinct params, not per question
    for _ in range(5):
        ask()
    assert dict(made) == first  # asked again: no new object at all
