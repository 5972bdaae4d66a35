"""The ``local`` executor: cells run one after another in the driver's own process."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Sequence

from harness.run.cell import Outcome, RunOptions, run_job


class LocalExecutor:
    """Submitting queues a cell; waiting runs the next queued one. No process boundary, so a
    crash of the cell's code takes the run down; use ``pool`` to isolate crashes."""

    name = "local"
    slots = 1

    def __init__(self, options: RunOptions, store: Any, since: datetime) -> None:
        self.options, self.store, self.since = options, store, since
        self.queue: deque[tuple[Any, Future[Outcome]]] = deque()

    def start(self, cells: Sequence[Any]) -> None:
        pass

    def submit(self, cells: Sequence[Any]) -> list[Future[Outcome]]:
        handles = []
        for cell in cells:
            future: Future[Outcome] = Future()
            self.queue.append((cell, future))
            handles.append(future)
        return handles

    def wait(self, handles: Sequence[Future[Outcome]], timeout: float) -> list[Future[Outcome]]:
        done = [h for h in handles if h.done()]
        if done or not self.queue:
            return done
        cell, future = self.queue.popleft()
        future.set_result(run_job(cell, self.store, self.options, self.since))
        return [future]

    def outcome(self, handle: Future[Outcome]) -> Outcome:
        return handle.result()

    def cancel(self) -> None:
        self.queue.clear()

    def close(self) -> None:
        self.queue.clear()
