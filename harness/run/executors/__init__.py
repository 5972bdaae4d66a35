"""Executors: where cells run. One small interface, so the scheduler's graph, retries, progress
and Ctrl-C handling are written once, and every executor writes the same records.

* ``local`` — in this process, one cell at a time;
* ``pool`` — N persistent worker processes on this machine, or K per GPU under ``--gpus``;
* ``ray`` — Ray tasks on a Ray cluster (:mod:`harness.run.executors.ray_cluster`);
* ``slurm`` — SLURM jobs through submitit (:mod:`harness.run.executors.slurm`).

Every executor runs :func:`harness.run.cell.run_leased` next to the data: the worker writes its
cell's record into the store itself (atomic rename, under the cell's lease), so a finished cell
is kept whatever happens to the driver or to other workers. An executor only reports outcomes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.common.errors import UserError
from harness.run.cell import RunOptions
from harness.run.executors.base import EXECUTORS, Executor, WorkerLost, require

__all__ = ["EXECUTORS", "Executor", "WorkerLost", "make_executor", "planned_slots", "require"]


def planned_slots(options: RunOptions) -> int:
    """How many cells the chosen executor will run at once, as far as the driver can tell before
    it starts one (Ray's slots are its cluster's CPUs or GPUs; ``--workers`` stands in for them)."""
    name = options.executor_name
    if name == "pool":
        from harness.run.executors.pool import layout

        gpus, per_pool = layout(options, strict=False)
        return per_pool * len(gpus)
    if name == "slurm":
        from harness.run.executors.slurm import array_slots

        return array_slots(options)
    return options.workers if name == "ray" else 1


def make_executor(options: RunOptions, store: Any, since: datetime) -> Executor:
    """The executor ``options`` names. Ray and submitit are imported only here, when chosen."""
    name = options.executor_name
    if name == "local":
        from harness.run.executors.local import LocalExecutor

        return LocalExecutor(options, store, since)
    if name == "pool":
        from harness.run.executors.pool import PoolExecutor

        return PoolExecutor(options, store, since)
    if name == "ray":
        from harness.run.executors.ray_cluster import RayExecutor

        return RayExecutor(options, store, since)
    if name == "slurm":
        from harness.run.executors.slurm import SlurmExecutor

        return SlurmExecutor(options, store, since)
    raise UserError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
