"""How long cells will take, from what the store has seen.

From the store the run writes to, else from the committed records. In order of preference: the
median stored wall time of the same task, method and scale; else,
the median of the task's other methods of the same kind at that scale (training, or only
post-processing: a new method on a known task costs about what its like cost); else the task's
declared guess (``Task.estimate_s``). A post-processing cell with nothing of its kind stored is
guessed at :data:`POST_PROCESS_SHARE` of a training cell: it evaluates, it does not train.
"""

from __future__ import annotations

import statistics
import weakref
from pathlib import Path
from typing import Any

from harness.plan import registry
from harness.plan.cells import Cell, dependency_of

#: A post-processing cell's wall time as a share of its task's training cells. Measured on the
#: committed small-scale records: post-hoc logit adjustment and CAN take 0.0-1.4 % of ERM's time
#: on 11 of 12 (task, method) pairs (14 % for CAN on TNEWS, whose training is 1.5 s).
POST_PROCESS_SHARE = 0.01


_TIMINGS: "weakref.WeakKeyDictionary[Any, dict[str, dict[tuple[str, str], float]]]" = weakref.WeakKeyDictionary()


def _observed(store: Any, task: str) -> dict[tuple[str, str], float]:
    """Median wall seconds per (method, scale) of ``task`` in ``store`` (read through the run's
    own store handle and its read cache), else in the committed records (``results/store``), so
    that a fresh clone's first dry run is calibrated too. Memoised on the store object."""
    from harness.common.files import ROOT
    from harness.store.store import Store

    memo = _TIMINGS.setdefault(store, {})
    if task not in memo:
        seen = _medians(store.load([task]))
        committed = ROOT / "results" / "store"
        if not seen and committed.is_dir() and Path(store.root).resolve() != committed.resolve():
            seen = _medians(Store(committed, verify=False).load([task]))
        memo[task] = seen
    return memo[task]


def _medians(records: Any) -> dict[tuple[str, str], float]:
    if not len(records) or "wall_s" not in records:
        return {}
    per_cell = records.drop_duplicates("cell_key")
    return {k: statistics.median(g["wall_s"]) for k, g in per_cell.groupby(["method", "scale"])}


def estimate_seconds(cell: Cell, store: Any) -> float:
    seen = _observed(store, cell.task)
    exact = seen.get((cell.method, cell.scale))
    if exact is not None:
        return float(exact)
    same_kind = [v for (method, scale), v in seen.items() if scale == cell.scale and _trains(method) is (cell.base is None)]
    if same_kind:
        return float(statistics.median(same_kind))
    training = [v for (method, scale), v in seen.items() if scale == cell.scale and _trains(method)]
    guess = statistics.median(training) if training else registry.get_task(cell.task).estimate(cell.scale)
    return float(guess) * (POST_PROCESS_SHARE if cell.base is not None else 1.0)


def _trains(method: str) -> bool | None:
    """Whether stored cells of ``method`` trained or only post-processed; None for a method no
    longer registered (its timings are left out of both kinds)."""
    if method not in registry.methods():
        return None
    return dependency_of(registry.get_method(method), ()) is None
