"""Several stores read as one: the project's store beside the committed records, or stores
from several machines, for the readers (tables, verdicts, figures, the report, estimates)."""

from __future__ import annotations

from typing import Any

from harness.store.records import latest_per_cell


class StoreUnion:
    """Several stores read as one (e.g. the project's store plus a family's own): what the
    verdicts read — ``load``, ``has_failed``, ``load_predictions`` — asked of each in turn. A
    cell stored twice counts once, the copy finished last."""

    def __init__(self, stores: list[Any]) -> None:
        self.stores = stores

    def load(self, tasks: Any = None) -> Any:
        import pandas as pd

        tasks = list(tasks) if tasks is not None else None
        frames = [f for f in (s.load(tasks) for s in self.stores) if len(f)]
        if not frames:
            return self.stores[0].load(tasks)
        if len(frames) == 1:
            return frames[0]
        return latest_per_cell(pd.concat(frames, ignore_index=True)).reset_index(drop=True)

    def has_failed(self, cell: Any) -> bool:
        return any(s.has_failed(cell) for s in self.stores) and not any(s.is_finished(cell) for s in self.stores)

    def load_predictions(self, key: str) -> Any:
        return next((p for p in (s.load_predictions(key) for s in self.stores) if p is not None), None)
