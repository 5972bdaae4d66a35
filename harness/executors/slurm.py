"""The ``slurm`` executor: cells as SLURM jobs through submitit, one job array per wave of
ready cells (bases first, their dependents in a later array once the bases are stored).

``--slurm-backend local`` runs the very same submitit jobs as processes on this machine (at most
``--workers`` at once): that is what the test suite runs, so CI needs no cluster. Each job runs
:func:`harness.runner.run_leased` and writes its record into the store on the cluster's shared
filesystem; submitit's own folder (``<store>/slurm/<run id>``) keeps the jobs' logs.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime
from typing import Any, Sequence

from harness.executors import WorkerLost, require
from harness.runner import Outcome, RunOptions, run_leased

POLL_S = 1.0


class SlurmExecutor:
    name = "slurm"

    def __init__(self, options: RunOptions, store: Any, since: datetime) -> None:
        require("slurm")
        import submitit

        self.submitit, self.store, self.since = submitit, store, since
        self.local = options.setting("slurm_backend", "slurm") == "local"
        folder = store.root / "slurm" / options.run_id
        self.executor = submitit.AutoExecutor(folder=folder, cluster="local" if self.local else "slurm")
        on_gpu = options.device.startswith("cuda")
        gpus = options.setting("gpus_per_node", 1 if on_gpu else 0)
        parameters: dict[str, Any] = {"timeout_min": options.setting("time", 60), "gpus_per_node": gpus, "nodes": 1,
                                      "tasks_per_node": 1, "cpus_per_task": options.threads or 1}
        if not self.local:
            parameters["slurm_array_parallelism"] = options.workers if options.workers > 1 else 256
            if options.setting("partition"):
                parameters["slurm_partition"] = options.setting("partition")
        self.executor.update_parameters(**parameters)
        self.slots = options.workers
        self.options = RunOptions(**{**options.__dict__, "executor": "slurm", "workers": 1})
        self.queued: deque[Any] = deque()  # local backend: cells waiting for a free slot
        self.jobs: list[Any] = []

    def _launch(self, cells: Sequence[Any]) -> list[Any]:
        with self.executor.batch():  # one job array
            jobs = [self.executor.submit(run_leased, cell, self.store, self.options, self.since) for cell in cells]
        self.jobs += jobs
        return jobs

    def submit(self, cells: Sequence[Any]) -> list[Any]:
        if not self.local:
            return self._launch(cells)
        handles = [_Pending(cell) for cell in cells]  # submitit's local backend starts every job at once
        self.queued.extend(handles)
        self._fill()
        return handles

    def _fill(self) -> None:
        running = sum(1 for job in self.jobs if not job.done())
        free = max(0, self.slots - running)
        batch = [self.queued.popleft() for _ in range(min(free, len(self.queued)))]
        if batch:
            for pending, job in zip(batch, self._launch([p.cell for p in batch])):
                pending.job = job

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            if self.local:
                self._fill()
            done = [h for h in handles if h.done()]
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    def outcome(self, handle: Any) -> Outcome:
        job = handle.job if isinstance(handle, _Pending) else handle
        try:
            return job.result()
        except (self.submitit.core.utils.UncompletedJobError, self.submitit.core.utils.FailedJobError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorkerLost(f"SLURM job {job.job_id} did not finish ({first})") from exc

    def cancel(self) -> None:
        self.queued.clear()
        for job in self.jobs:
            if not job.done():
                job.cancel(check=False)

    def close(self) -> None:
        self.queued.clear()


class _Pending:
    """A cell queued for the local backend; becomes its job once a slot is free."""

    def __init__(self, cell: Any) -> None:
        self.cell, self.job = cell, None

    def done(self) -> bool:
        return self.job is not None and self.job.done()
