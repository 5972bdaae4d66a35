"""One cell: run it under its lease, record its result or its failure, never raise.

A cell is finished when its record is in the store; failed cells are recorded apart and are
retried on the next run. One cell raising, producing non-finite metrics (or scores, where its
family checks them), or overrunning ``--timeout`` never stops the others. Which cells run, in what order and where, is
the scheduler's business (:mod:`harness.run.scheduler`, :mod:`harness.run.executors`); this module is
what every executor calls, in whatever process or machine runs the cell.

Shared use: each cell is computed under a lease (``<store>/leases/<key>.lease``, see
harness.store.lease), so two runs asking for the same cells split them instead of both computing all.
"""

from __future__ import annotations

import os
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from harness.plan.contract import RunContext
from harness.plan.cells import Cell
from harness.run.device import gpu_name, seed_everything
from harness.common.errors import CellFailure, UserError
from harness.plan.metrics import unregistered
from harness.store.checkpoints import CellCheckpoints, every_epochs
from harness.store.records import non_finite_metrics, record_table, utc_now
from harness.store.store import Store


class Status(str, Enum):
    CACHED = "cached"
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Outcome:
    cell: Cell
    status: Status
    wall_s: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class RunOptions:
    """How cells run. The executor settings are read by the driver; the rest travels with each
    cell to whichever process or machine runs it."""

    device: str = "cpu"
    workers: int = 1  # cells at once (pool processes; the number of GPU slots under --gpus)
    timeout_s: float | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    progress: bool = True
    executor: str = "auto"  # local | pool | ray | slurm; auto: pool for several workers or on GPUs, else local
    retries: int = 0  # re-runs of a cell whose worker died (never of a cell that raised)
    gpus: tuple[int, ...] = ()  # GPU ids for slots; empty: every visible GPU (device cuda)
    cells_per_gpu: int = 1
    threads: int | None = None  # torch threads per cell; None: the cores shared among workers
    cluster: tuple[tuple[str, Any], ...] = ()  # executor settings: address (ray); partition, gpus_per_node, time, slurm_backend (slurm)

    @property
    def executor_name(self) -> str:
        if self.executor != "auto":
            return self.executor
        # on GPUs always the pool: it pins each worker to its GPU and spreads cells over all of them
        return "pool" if self.workers > 1 or self.device.startswith("cuda") else "local"

    def setting(self, name: str, default: Any = None) -> Any:
        return dict(self.cluster).get(name, default)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a SLURM allocation, a container's
    cpuset), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_threads(task_max: int | None, workers: int) -> int:
    """Torch threads per cell: ``$HARNESS_THREADS``, else the cores shared among the workers,
    capped by what the task can use (more threads than work only spin and slow down)."""
    if os.environ.get("HARNESS_THREADS"):
        return max(1, int(os.environ["HARNESS_THREADS"]))
    share = max(1, usable_cores() // max(1, workers))
    return min(share, task_max) if task_max else share


def run_cell(cell: Cell, store: Store, options: RunOptions) -> Outcome:
    """Run one cell in this process and store its record, or its failure. Never raises."""
    started_at, t0 = utc_now(), time.monotonic()
    deadline = t0 + options.timeout_s if options.timeout_s else None
    try:
        task, method = cell.make_task(), cell.make_method()
        threads = cpu_threads(task.max_threads, options.workers) if options.threads is None else min(options.threads, task.max_threads or options.threads)
        seed_everything(cell.seed, use_torch=task.uses_torch, threads=threads, deterministic=not options.device.startswith("cuda"))
        ctx = RunContext(seed=cell.seed, scale=cell.scale, device=options.device, deadline=deadline, store=store, cell=cell,
                         checkpoints=CellCheckpoints(store.root, cell.key, every_epochs()))
        result = task.run(method, ctx)
        bad = non_finite_metrics(result)
        if bad:
            raise CellFailure(f"non-finite metric(s) {', '.join(sorted(bad))}")
        undeclared = unregistered(result.metrics)
        if undeclared:
            raise CellFailure(f"metric(s) {', '.join(undeclared)} not registered: the family declares each metric it reports "
                              f"with register_metric(Metric(name, higher_is_better, description))")
        if options.timeout_s and time.monotonic() - t0 > options.timeout_s:
            raise CellFailure(f"timeout: ran {time.monotonic() - t0:.1f}s > --timeout {options.timeout_s:g}s")
        on_gpu = options.device.startswith("cuda")
        result.info.setdefault("device", f"cuda:{os.environ['HARNESS_GPU']}" if on_gpu and os.environ.get("HARNESS_GPU") else options.device)
        result.info.setdefault("gpu_name", gpu_name(options.device))
        wall = time.monotonic() - t0
        table = record_table(
            cell,
            result,
            run_id=options.run_id,
            started_at=started_at,
            wall_s=wall,
            executor=options.executor_name,
            workers_on_device=options.cells_per_gpu if on_gpu else options.workers,
        )
        store.write_record(cell, table, result.predictions)
        ctx.checkpoints.remove()  # finished: its record replaces the checkpoint (a failed cell keeps it, to resume)
        return Outcome(cell, Status.OK, wall)
    except Exception as exc:  # noqa: BLE001 - isolation is the point
        wall = time.monotonic() - t0
        error = f"{type(exc).__name__}: {exc}"
        detail = "" if isinstance(exc, (CellFailure, UserError)) else traceback.format_exc(limit=6)
        try:
            store.write_failure(cell, error, traceback=detail, wall_s=wall, started_at=started_at, run_id=options.run_id)
        except OSError:
            pass
        return Outcome(cell, Status.FAILED, wall, error)


def run_leased(cell: Cell, store: Store, options: RunOptions, since: datetime) -> Outcome:
    """Run a cell under its lease. SKIPPED (with who holds it) when another live run is
    computing it; CACHED when a concurrent run stored it after this run started."""
    lease = store.try_lease(cell, options.run_id)
    if lease is None:
        holder = store.lease_holder(cell)
        return Outcome(cell, Status.SKIPPED, 0.0, f"being computed by {holder.describe() if holder else 'another run'}")
    with lease:
        if store.finished_after(cell, since):
            return Outcome(cell, Status.CACHED)
        return run_cell(cell, store, options)


