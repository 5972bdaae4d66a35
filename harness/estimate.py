"""How long cells will take, from what the store has seen.

From the store the run writes to, else from the committed records. In order of preference: the
median stored wall time of the same task, method and scale; else,
for a cell that trains, the median of the task's other methods at that scale (a new method on a
known task costs about what the others cost); else the task's declared guess
(``Task.estimate_s``). A cell that only post-processes a stored base, with no timing of its own,
is guessed at 5 % of a training cell: it evaluates, it does not train.
"""

from __future__ import annotations

import statistics
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness import registry
from harness.cells import Cell
from harness.errors import UserError

POST_PROCESS_SHARE = 0.05


@lru_cache(maxsize=None)
def _observed(store_root: str, task: str) -> dict[tuple[str, str], float]:
    """Median wall seconds per (method, scale) of ``task`` in the store, else in the committed
    records (``results/store``), so that a fresh clone's first dry run is calibrated too."""
    from harness.provenance import ROOT
    from harness.store import Store

    seen = _medians(Store(store_root).load([task]))
    committed = ROOT / "results" / "store"
    if not seen and committed.is_dir() and Path(store_root).resolve() != committed.resolve():
        seen = _medians(Store(committed, verify=False).load([task]))
    return seen


def _medians(records: Any) -> dict[tuple[str, str], float]:
    if not len(records) or "wall_s" not in records:
        return {}
    per_cell = records.drop_duplicates("cell_key")
    return {k: statistics.median(g["wall_s"]) for k, g in per_cell.groupby(["method", "scale"])}


def estimate_seconds(cell: Cell, store: Any) -> float:
    seen = _observed(str(store.root), cell.task)
    exact = seen.get((cell.method, cell.scale))
    if exact is not None:
        return float(exact)
    others = [v for (method, scale), v in seen.items() if scale == cell.scale and _trains(method)]
    training = statistics.median(others) if others else registry.get_task(cell.task).estimate(cell.scale)
    return training * POST_PROCESS_SHARE if cell.base is not None else float(training)


def _trains(method: str) -> bool:
    """Whether stored cells of ``method`` trained (a post-hoc method's timings would mislead)."""
    try:
        return registry.get_method(method)().dependency() is None
    except UserError:  # a method no longer registered: its timing says nothing either way
        return False
