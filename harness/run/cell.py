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
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from harness.plan.contract import RunContext
from harness.plan.cells import Cell
from harness.run.device import gpu_name, seed_everything
from harness.common.errors import CellFailure, UserError
from harness.common.memory import tune_allocators
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
    batch_cells: int = 1  # ready cells of one task, task params and scale run as one job (Task.run_batch), where the task batches
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


def _context(cell: Cell, store: Store, options: RunOptions, deadline: float | None) -> RunContext:
    return RunContext(seed=cell.seed, scale=cell.scale, device=options.device, deadline=deadline, store=store, cell=cell,
                      checkpoints=CellCheckpoints(store.root, cell.key, every_epochs()))


def _seed(task: Any, seed: int, options: RunOptions) -> None:
    threads = cpu_threads(task.max_threads, options.workers) if options.threads is None else min(options.threads, task.max_threads or options.threads)
    seed_everything(seed, use_torch=task.uses_torch, threads=threads, deterministic=not options.device.startswith("cuda"))


def _store_result(cell: Cell, result: Any, ctx: RunContext, store: Store, options: RunOptions, started_at: datetime, t0: float,
                  wall: float | None = None) -> Outcome:
    """Check a cell's result and write its record (and drop its checkpoint); raises CellFailure."""
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
    wall = time.monotonic() - t0 if wall is None else wall
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


def _failed(cell: Cell, exc: BaseException, store: Store, options: RunOptions, started_at: datetime, wall: float,
            trace: str | None = None) -> Outcome:
    error = f"{type(exc).__name__}: {exc}"
    detail = "" if isinstance(exc, (CellFailure, UserError)) else (trace if trace is not None else traceback.format_exc(limit=6))
    try:
        store.write_failure(cell, error, traceback=detail, wall_s=wall, started_at=started_at, run_id=options.run_id)
    except OSError:
        pass
    return Outcome(cell, Status.FAILED, wall, error)


def run_cell(cell: Cell, store: Store, options: RunOptions) -> Outcome:
    """Run one cell in this process and store its record, or its failure. Never raises."""
    started_at, t0 = utc_now(), time.monotonic()
    deadline = t0 + options.timeout_s if options.timeout_s else None
    try:
        task, method = cell.make_task(), cell.make_method()
        _seed(task, cell.seed, options)
        ctx = _context(cell, store, options, deadline)
        return _store_result(cell, task.run(method, ctx), ctx, store, options, started_at, t0)
    except Exception as exc:  # noqa: BLE001 - isolation is the point
        return _failed(cell, exc, store, options, started_at, time.monotonic() - t0)


def run_batch(cells: list[Cell], store: Store, options: RunOptions) -> list[Outcome]:
    """Run cells of one task, task params and scale through ``Task.run_batch`` in this process
    (the caller holds their leases) and store each one's record or failure; never raises. Each
    cell's record notes its share of the batch's wall time."""
    started_at, t0 = utc_now(), time.monotonic()
    deadline = t0 + options.timeout_s if options.timeout_s else None
    try:
        task = cells[0].make_task()
        jobs = [(cell.make_method(), _context(cell, store, options, deadline)) for cell in cells]
        _seed(task, cells[0].seed, options)
        results: list[Any] = task.run_batch(jobs)
        if len(results) != len(cells):
            raise CellFailure(f"{task.name}.run_batch returned {len(results)} results for {len(cells)} cells")
    except Exception as exc:  # noqa: BLE001 - the whole batch failed: every cell is recorded as failed
        trace = traceback.format_exc(limit=6)
        return [_failed(cell, exc, store, options, started_at, time.monotonic() - t0, trace) for cell in cells]
    share = (time.monotonic() - t0) / len(cells)
    outcomes = []
    for cell, (_, ctx), result in zip(cells, jobs, results):
        try:
            if isinstance(result, BaseException):
                raise result
            outcomes.append(_store_result(cell, result, ctx, store, options, started_at, t0, wall=share))
        except Exception as exc:  # noqa: BLE001
            outcomes.append(_failed(cell, exc, store, options, started_at, share))
    return outcomes


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


@dataclass(frozen=True)
class CellBatch:
    """Ready cells of one task, task params and scale that one worker runs together
    (``--batch-cells``): one job for an executor, one lease and one record per cell."""

    cells: tuple[Cell, ...]

    @property
    def task(self) -> str:  # what executors ask of a job (its task's CPUs)
        return self.cells[0].task

    def label(self) -> str:
        return f"{len(self.cells)} cells of {self.cells[0].task} ({self.cells[0].scale}) batched"


Job = Cell | CellBatch


def cells_of(job: Job) -> tuple[Cell, ...]:
    return job.cells if isinstance(job, CellBatch) else (job,)


def run_leased_batch(batch: CellBatch, store: Store, options: RunOptions, since: datetime) -> list[Outcome]:
    """The batch's cells, each under its own lease: those another run holds are SKIPPED, those
    stored meanwhile CACHED, the rest run together (:func:`run_batch`)."""
    outcomes: dict[str, Outcome] = {}
    with ExitStack() as leases:
        todo = []
        for cell in batch.cells:
            lease = store.try_lease(cell, options.run_id)
            if lease is None:
                holder = store.lease_holder(cell)
                outcomes[cell.key] = Outcome(cell, Status.SKIPPED, 0.0, f"being computed by {holder.describe() if holder else 'another run'}")
                continue
            leases.enter_context(lease)
            if store.finished_after(cell, since):
                outcomes[cell.key] = Outcome(cell, Status.CACHED)
            else:
                todo.append(cell)
        if len(todo) == 1:
            outcomes[todo[0].key] = run_cell(todo[0], store, options)
        elif todo:
            outcomes.update((o.cell.key, o) for o in run_batch(todo, store, options))
    return [outcomes[cell.key] for cell in batch.cells]


def run_job(job: Job, store: Store, options: RunOptions, since: datetime) -> Outcome | list[Outcome]:
    """What every executor runs for a job: one cell (its outcome) or a batch (one outcome per cell).
    A worker process tunes its allocators here, at its first job, as ``harness`` itself does."""
    tune_allocators()
    if isinstance(job, CellBatch):
        return run_leased_batch(job, store, options, since)
    return run_leased(job, store, options, since)
