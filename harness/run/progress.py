"""One progress bar for a whole cell graph, whatever executor runs it: cells done of all,
how many run now and how many failed, and an ETA from the stored timings of similar cells.

Why not tqdm's own ETA: cells differ by orders of magnitude (a post-hoc cell takes 0.1 s, its
base a minute), so a rate of cells per second misleads. The ETA here is the estimated seconds of
the cells left (:func:`harness.run.estimate.estimate_seconds`) spread over the executor's slots, and
rescaled by how far the finished cells ran over or under their own estimates.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from harness.common.text import one_line
from harness.plan.cells import Cell


class GraphProgress:
    def __init__(self, cells: Sequence[Cell], store: Any, slots: int, *, enabled: bool = True) -> None:
        from tqdm import tqdm

        from harness.run.estimate import estimate_seconds

        self.slots = max(1, slots)
        self.estimate = {c.key: estimate_seconds(c, store) for c in cells} if enabled else {}
        self.left = set(self.estimate)
        self.running: set[str] = set()
        self.failed = 0
        self.spent = self.expected = 0.0  # wall seconds of the cells run here, and their estimates
        self.bar = tqdm(total=len(cells), unit="cell", disable=None if enabled else True, dynamic_ncols=True, file=sys.stderr,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} cells [{elapsed}{postfix}]")
        self._show()

    def started(self, cells: Sequence[Cell]) -> None:
        self.running |= {c.key for c in cells}
        if cells:
            self.bar.set_description(one_line(cells[-1].label())[:60], refresh=False)
        self._show()

    def finished(self, outcome: Any) -> None:
        key = outcome.cell.key
        self.running.discard(key)
        self.left.discard(key)
        if outcome.status.value == "failed":
            self.failed += 1
        if outcome.status.value == "ok" and key in self.estimate:
            self.spent += outcome.wall_s
            self.expected += self.estimate[key]
        self.bar.update()
        self._show()

    def retrying(self, cell: Cell, why: str) -> None:
        self.running.discard(cell.key)
        self.bar.write(one_line(f"retrying {cell.label()}: {why}"))

    def waiting(self, cell: Cell, why: str) -> None:
        self.running.discard(cell.key)
        self.bar.set_description(one_line(f"waiting: {cell.label()[:40]} ({why})"), refresh=False)

    def eta_seconds(self) -> float:
        scale = self.spent / self.expected if self.expected > 0 else 1.0
        return scale * sum(self.estimate.get(k, 0.0) for k in self.left) / self.slots

    def _show(self) -> None:
        if self.bar.disable:
            return
        eta = self.eta_seconds()
        shown = f"{eta / 60:.0f} min" if eta >= 90 else f"{eta:.0f} s"
        running = min(len(self.running), self.slots)  # submitted beyond the slots means queued
        self.bar.set_postfix_str(f"{running} running, {self.failed} failed, ETA ~{shown}", refresh=True)

    def close(self) -> None:
        self.bar.close()
