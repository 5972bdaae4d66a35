"""The ``slurm`` executor: cells as SLURM jobs through submitit, one job array per wave of
ready cells (bases first, their dependents in a later array once the bases are stored).

``--slurm-backend local`` runs the very same submitit jobs as processes on this machine (the
scheduler keeps at most ``--workers`` in flight): that is what the test suite runs, so CI needs no cluster. Each job runs
:func:`harness.run.cell.run_leased` and writes its record into the store on the cluster's shared
filesystem; submitit's own folder (``<store>/slurm/<run id>``) keeps the jobs' logs.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Sequence

from harness.plan import registry
from harness.run.executors.base import WorkerLost, require
from harness.run.cell import Outcome, RunOptions, run_leased, usable_cores

POLL_S = 1.0
DEFAULT_CPUS = 4  # a task that declares no thread limit (a CNN) gets this many CPUs per job


def array_slots(options: RunOptions) -> int:
    """Jobs in flight at once: ``--workers``; on a real cluster, by default, as many as SLURM
    schedules (an array of up to 256 running tasks: the queue, not the driver, is the limit)."""
    local = options.setting("slurm_backend", "slurm") == "local"
    return options.workers if options.workers > 1 or local else 256


class SlurmExecutor:
    name = "slurm"

    def __init__(self, options: RunOptions, store: Any, since: datetime) -> None:
        require("slurm")
        import submitit

        self.submitit, self.store, self.since = submitit, store, since
        local = options.setting("slurm_backend", "slurm") == "local"
        folder = store.root / "slurm" / options.run_id
        self.executor = submitit.AutoExecutor(folder=folder, cluster="local" if local else "slurm")
        on_gpu = options.device.startswith("cuda")
        parameters: dict[str, Any] = {"timeout_min": options.setting("time", 60), "nodes": 1, "tasks_per_node": 1,
                                      "gpus_per_node": options.setting("gpus_per_node", 1 if on_gpu else 0)}
        self.slots = array_slots(options)
        if not local:
            parameters["slurm_array_parallelism"] = self.slots
            if options.setting("partition"):
                parameters["slurm_partition"] = options.setting("partition")
        self.executor.update_parameters(**parameters)
        self.threads = options.threads
        # jobs on this machine share its cores; a cluster job sizes its threads to its allocation
        threads = options.threads or (max(1, usable_cores() // self.slots) if local else None)
        self.options = RunOptions(**{**options.__dict__, "executor": "slurm", "workers": 1, "threads": threads})
        self.jobs: list[Any] = []

    def submit(self, cells: Sequence[Any]) -> list[Any]:
        """One job array; each job asks for the CPUs its task can use (its ``max_threads``, else
        ``DEFAULT_CPUS``), and the cell sizes its torch threads to what SLURM allotted."""
        cpus = self.threads or max(registry.get_task(c.task).max_threads or DEFAULT_CPUS for c in cells)
        self.executor.update_parameters(cpus_per_task=cpus)
        with self.executor.batch():
            jobs = [self.executor.submit(run_leased, cell, self.store, self.options, self.since) for cell in cells]
        self.jobs += jobs
        return jobs

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            done = [job for job in handles if job.done()]
            if done or time.monotonic() >= deadline:
                return done
            time.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))

    def outcome(self, job: Any) -> Outcome:
        try:
            return job.result()
        except (self.submitit.core.utils.UncompletedJobError, self.submitit.core.utils.FailedJobError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorkerLost(f"SLURM job {job.job_id} did not finish ({first})") from exc

    def cancel(self) -> None:
        for job in self.jobs:
            if not job.done():
                job.cancel(check=False)

    def close(self) -> None:
        self.jobs.clear()
