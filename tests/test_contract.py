"""Generated for every registered task × applicable method at smoke scale, plus the numeric
regression against results/reference/<family>.csv. The smoke grid runs once per session."""

from __future__ import annotations

import math

import pytest

from harness.plan import registry
from harness.judge.reference import REFERENCE_SEEDS, compare, load_reference, merge_reference, summarize_records

PAIRS = [
    (t.name, m.name)
    for t in registry.tasks().values()
    for m in registry.methods().values()
    if m.applies_to(t) and t.in_default_grid
]


@pytest.mark.parametrize("task,method", PAIRS, ids=[f"{t}×{m}" for t, m in PAIRS])
def test_contract(smoke_grid_results: tuple, task: str, method: str) -> None:
    records, failed = smoke_grid_results
    errors = [o.error for o in failed if (o.cell.task, o.cell.method) == (task, method)]
    assert not errors, errors[0]
    rows = records[(records["task"] == task) & (records["method"] == method)]
    task_cls = registry.get_task(task)
    seeds = set(REFERENCE_SEEDS) if task_cls.seeded else {0}
    assert set(rows["seed"]) == seeds
    assert rows["value"].map(math.isfinite).all()
    assert (rows["status"] == "ok").all() and (rows["scale"] == "smoke").all()
    if task_cls.primary_metric:
        assert task_cls.primary_metric in set(rows["metric"])
    assert rows["cell_key"].nunique() == len(seeds)


FAMILIES = sorted({t.family for t in registry.tasks().values()})


@pytest.mark.parametrize("family", FAMILIES)
def test_smoke_grid_matches_reference(smoke_grid_results: tuple, family: str) -> None:
    """`harness check` in test form, one family (one reference file) at a time: drifts beyond
    3 standard errors of the seed mean fail, and so do groups missing on either side."""
    records, failed = smoke_grid_results
    records = records[records["family"] == family]
    assert not [o for o in failed if o.cell.family == family]
    drifts, unmatched = compare(summarize_records(records), load_reference([family]))
    assert not unmatched, unmatched[:5]
    assert not drifts, [d.line() for d in drifts[:5]]


def test_reference_update_merges_and_never_drops_other_groups() -> None:
    import pandas as pd

    row = {"metric": "acc", "std": 0.0, "n": 3, "tol": 1e-9}
    old = pd.DataFrame([{"task": "a", "method": "m", "mean": 0.1, **row}, {"task": "a", "method": "gone", "mean": 0.2, **row},
                        {"task": "b", "method": "m", "mean": 0.3, **row}])
    new = pd.DataFrame([{"task": "a", "method": "m", "mean": 0.5, **row}, {"task": "a", "method": "m", "mean": 0.6, **row, "metric": "f1"}])
    merged = merge_reference(old, new)
    got = {(r.task, r.method, r.metric): r.mean for r in merged.itertuples()}
    assert got == {("a", "gone", "acc"): 0.2, ("a", "m", "acc"): 0.5, ("a", "m", "f1"): 0.6, ("b", "m", "acc"): 0.3}


def test_cpu_runs_are_deterministic(tmp_path) -> None:
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, run_cell
    from harness.store.store import Store

    cell = Cell.build("digits-lt", "focal", 1, "smoke")
    values = []
    for name in ("a", "b"):
        store = Store(tmp_path / name)
        assert run_cell(cell, store, RunOptions(progress=False)).status.value == "ok"
        values.append(store.load().sort_values("metric")["value"].tolist())
    assert values[0] == values[1]


def test_drift_is_detected() -> None:
    import pandas as pd

    reference = pd.DataFrame({"task": ["t"], "method": ["m"], "metric": ["acc"], "mean": [0.80], "std": [0.01], "n": [3], "tol": [0.017]})
    same = reference.assign(mean=[0.81])
    moved = reference.assign(mean=[0.83])
    assert compare(same, reference) == ([], [])
    drifts, _ = compare(moved, reference)
    assert len(drifts) == 1 and "tol 0.017" in drifts[0].line()
    assert compare(reference.assign(method=["other"]), reference)[1]  # unmatched both ways
