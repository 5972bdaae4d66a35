"""Scheduler and executors: decide which cells to run, run them, isolate failures.

A cell is finished when its record is in the store; failed cells are recorded apart and are
retried on the next run. One cell raising, producing NaN, or overrunning ``--timeout`` never
stops the others. ``--workers N`` runs N cells at once in separate processes (on one GPU when
the device is CUDA, so that small cells share it).

Shared use: each cell is computed under a lease (``<store>/leases/<key>.lease``, see
harness.lease), so two runs asking for the same cells split them instead of both computing all;
a cell another live run holds is waited for and then read from the store. Pool workers die with
their parent (a parent-death signal where the OS has one, and a watchdog on the parent's pid).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing import get_context

from datetime import datetime

from harness.api import RunContext
from harness.cells import Cell
from harness.device import gpu_name, seed_everything
from harness.errors import CellFailure, UserError
from harness.records import non_finite_metrics, record_table, utc_now
from harness.store import Store


class Overwrite(str, Enum):
    NEVER = "never"  # skip finished cells; run missing and previously failed ones
    MISSING = "missing"  # run only cells with no record at all (do not retry failures)
    ALWAYS = "always"  # recompute everything asked for


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


@dataclass
class Plan:
    to_run: list[Cell] = field(default_factory=list)
    cached: list[Cell] = field(default_factory=list)
    skipped_failed: list[Cell] = field(default_factory=list)


def plan(cells: list[Cell], store: Store, overwrite: Overwrite) -> Plan:
    result = Plan()
    for cell in cells:
        if overwrite is Overwrite.ALWAYS:
            result.to_run.append(cell)
        elif store.is_finished(cell):
            result.cached.append(cell)
        elif overwrite is Overwrite.MISSING and store.has_failed(cell):
            result.skipped_failed.append(cell)
        else:
            result.to_run.append(cell)
    return result


@dataclass(frozen=True)
class RunOptions:
    device: str = "cpu"
    workers: int = 1
    timeout_s: float | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    progress: bool = True


def cpu_threads(task_max: int | None, workers: int) -> int:
    """Torch threads per cell: ``$HARNESS_THREADS``, else the cores shared among the workers,
    capped by what the task can use (more threads than work only spin and slow down)."""
    if os.environ.get("HARNESS_THREADS"):
        return max(1, int(os.environ["HARNESS_THREADS"]))
    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    return min(share, task_max) if task_max else share


def run_cell(cell: Cell, store: Store, options: RunOptions) -> Outcome:
    """Run one cell in this process and store its record, or its failure. Never raises."""
    started_at, t0 = utc_now(), time.monotonic()
    deadline = t0 + options.timeout_s if options.timeout_s else None
    try:
        task, method = cell.make_task(), cell.make_method()
        threads = cpu_threads(task.max_threads, options.workers)
        seed_everything(cell.seed, use_torch=task.uses_torch, threads=threads, deterministic=not options.device.startswith("cuda"))
        ctx = RunContext(seed=cell.seed, scale=cell.scale, device=options.device, deadline=deadline, store=store, cell=cell)
        result = task.run(method, ctx)
        bad = non_finite_metrics(result)
        if bad:
            raise CellFailure(f"non-finite metric(s) {', '.join(sorted(bad))}")
        if options.timeout_s and time.monotonic() - t0 > options.timeout_s:
            raise CellFailure(f"timeout: ran {time.monotonic() - t0:.1f}s > --timeout {options.timeout_s:g}s")
        result.info.setdefault("device", options.device)
        result.info.setdefault("gpu_name", gpu_name(options.device))
        wall = time.monotonic() - t0
        table = record_table(
            cell,
            result,
            run_id=options.run_id,
            started_at=started_at,
            wall_s=wall,
            executor="process-pool" if options.workers > 1 else "local",
            workers_on_device=options.workers,
            higher_is_better=dict(task.higher_is_better),
        )
        store.write_record(cell, table, result.predictions)
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


def _die_with_parent(parent_pid: int) -> None:
    """Pool worker start-up: never outlive the run that started us (an orphan would go on
    writing records and hold its memory forever after a kill -9 of the parent)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before we could ask to follow it
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _run_leased(cell: Cell, store: Store, options: RunOptions, since: datetime) -> Outcome:
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


def _wait_for_others(deferred: list[Cell], store: Store, options: RunOptions, since: datetime, bar: object) -> list[Outcome]:
    """Cells another run was computing: read them once stored; compute them here if that run
    dies or fails (its lease goes stale or is released without a record)."""
    outcomes: list[Outcome] = []
    pending = list(deferred)
    while pending:
        still = []
        for cell in pending:
            if store.finished_after(cell, since):
                outcomes.append(Outcome(cell, Status.CACHED))
                bar.update()  # type: ignore[attr-defined]
                continue
            outcome = _run_leased(cell, store, options, since)
            if outcome.status is Status.SKIPPED:
                still.append(cell)
            else:
                outcomes.append(outcome)
                bar.update()  # type: ignore[attr-defined]
        pending = still
        if pending:
            bar.set_description(f"waiting for {len(pending)} cell(s) another run is computing")  # type: ignore[attr-defined]
            time.sleep(0.2)
    return outcomes


def execute(cells: list[Cell], store: Store, options: RunOptions) -> list[Outcome]:
    """Run cells, sequentially or in a process pool, with a progress bar on stderr."""
    from tqdm import tqdm

    outcomes: list[Outcome] = []
    since = utc_now()
    bar = tqdm(total=len(cells), unit="cell", disable=not options.progress or not cells, dynamic_ncols=True)
    try:
        if options.workers <= 1:
            for cell in cells:
                bar.set_description(f"{cell.task}×{cell.method} s{cell.seed}")
                outcomes.append(_run_leased(cell, store, options, since))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=options.workers, mp_context=get_context("spawn"),
                                     initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(_run_leased, cell, store, options, since): cell for cell in cells}
                for future in as_completed(futures):
                    try:
                        outcomes.append(future.result())
                    except Exception as exc:  # noqa: BLE001 - a crashed worker fails its cell only
                        outcomes.append(Outcome(futures[future], Status.FAILED, 0.0, f"worker crashed: {exc}"))
                    bar.update()
        deferred = [o.cell for o in outcomes if o.status is Status.SKIPPED]
        if deferred:
            bar.update(-len(deferred))
            outcomes = [o for o in outcomes if o.status is not Status.SKIPPED]
            outcomes += _wait_for_others(deferred, store, options, since, bar)
    finally:
        bar.close()
    return outcomes


def run_missing(cells: list[Cell], store: Store, options: RunOptions | None = None) -> list[Outcome]:
    """Run the cells that ``store`` does not hold yet (a page that needs the cells of its claims);
    returns the failed outcomes."""
    todo = plan(cells, store, Overwrite.NEVER).to_run
    if not todo:
        return []
    store.ensure_writable()
    return [o for o in execute(todo, store, options or RunOptions(progress=False)) if o.status is Status.FAILED]
