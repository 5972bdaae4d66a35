"""How long cells will take: the median of stored wall times for the same task, method and
scale, else the task's own declared guess (``Task.estimate_s``)."""

from __future__ import annotations

import statistics
from functools import lru_cache
from typing import Any

from harness import registry
from harness.cells import Cell


@lru_cache(maxsize=None)
def _observed(store_root: str, task: str) -> dict[tuple[str, str], float]:
    from harness.store import Store

    records = Store(store_root).load([task])
    if not len(records) or "wall_s" not in records:
        return {}
    per_cell = records.drop_duplicates("cell_key")
    return {k: statistics.median(g["wall_s"]) for k, g in per_cell.groupby(["method", "scale"])}


def estimate_seconds(cell: Cell, store: Any) -> float:
    seen = _observed(str(store.root), cell.task).get((cell.method, cell.scale))
    if seen is not None:
        return float(seen)
    return registry.get_task(cell.task).estimate(cell.scale)
