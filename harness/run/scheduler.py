"""The scheduler: runs a cell graph on an executor, bases before their dependents.

Written once for every executor (:mod:`harness.run.executors`): which cells are ready (never more
submitted than the executor runs at once, so that a free slot takes the next ready cell), retries of
cells whose worker died (``--retries``; a cell that raised is recorded as failed and never
retried), dependents failed with their base's error, one progress bar for the whole graph,
and Ctrl-C (running cells are stopped and not recorded, their leases released; finished ones
stay stored).

The outcomes it returns say what *this* run did with each cell it was asked to run: ``ok`` (it
computed the cell), ``failed``, or ``cached`` — another run, sharing the store, computed the cell
while this one waited for its lease or ran something else (:func:`summary` words it so).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.plan.cells import Cell, canonical_json
from harness.run.executors import WorkerLost, make_executor
from harness.run.graph import Overwrite, dependencies, plan, with_bases
from harness.store.lease import default_ttl, is_stale, release_run
from harness.run.progress import GraphProgress
from harness.store.records import utc_now
from harness.run.cell import CellBatch, Job, Outcome, RunOptions, Status, cells_of
from harness.store.store import Store

LOOK_AT_LEASE_EVERY_S = 1.0  # a cell another run computes: look at its lease this often


def execute(cells: list[Cell], store: Store, options: RunOptions) -> list[Outcome]:
    """Run ``cells`` (and the bases they need that are not stored yet); one outcome per cell run.

    Cells are run as asked, stored or not (callers plan first: :func:`harness.run.graph.plan`)."""
    order = with_bases(cells, store)
    if not order:
        return []
    base_of = dependencies(order)
    dependents: dict[str, list[Cell]] = defaultdict(list)
    for cell in order:
        if cell.key in base_of:
            dependents[base_of[cell.key]].append(cell)
    since = utc_now()
    executor = make_executor(options, store, since)
    executor.start(order)
    progress = GraphProgress(order, store, executor.slots, enabled=options.progress)
    ready = [c for c in order if c.key not in base_of]
    running: dict[Any, Job] = {}
    leased_elsewhere: dict[str, tuple[Cell, float]] = {}
    lost: dict[str, int] = defaultdict(int)
    outcomes: list[Outcome] = []

    def finish(outcome: Outcome) -> None:
        outcomes.append(outcome)
        progress.finished(outcome)
        if outcome.status is Status.FAILED:
            for dependent in dependents.pop(outcome.cell.key, []):
                error = f"base cell {outcome.cell.label()} failed: {outcome.error}"
                _record_failure(store, dependent, error, options)
                finish(Outcome(dependent, Status.FAILED, 0.0, error))
        else:
            ready.extend(dependents.pop(outcome.cell.key, []))

    try:
        while ready or running or leased_elsewhere:
            now = time.monotonic()
            for key, (cell, look_at) in list(leased_elsewhere.items()):
                if store.finished_after(cell, since):
                    del leased_elsewhere[key]
                    finish(Outcome(cell, Status.CACHED))
                elif now >= look_at:  # looked at here, on the driver: no job is spent on a held lease
                    if _lease_free(store, cell):
                        del leased_elsewhere[key]
                        ready.append(cell)
                    else:
                        leased_elsewhere[key] = (cell, now + LOOK_AT_LEASE_EVERY_S)
            room = executor.slots - len(running)
            if ready and room > 0:  # no more than the executor runs at once: the rest stay free to go anywhere
                jobs, ready[:] = take_jobs(ready, room, options.batch_cells)
                running.update(zip(executor.submit(jobs), jobs))
                progress.started([c for job in jobs for c in cells_of(job)])
            if not running:
                time.sleep(0.2)
                continue
            for handle in executor.wait(list(running), timeout=0.5):
                job = running.pop(handle)
                try:
                    result = executor.outcome(handle)
                except WorkerLost as exc:
                    result = []
                    for cell in cells_of(job):
                        lost[cell.key] += 1
                        if lost[cell.key] <= options.retries:
                            progress.retrying(cell, str(exc))
                            ready.append(cell)
                            continue
                        error = f"{exc}; gave up after {lost[cell.key]} attempt(s) (--retries {options.retries})"
                        _record_failure(store, cell, error, options)
                        result.append(Outcome(cell, Status.FAILED, 0.0, error))
                for outcome in result if isinstance(result, list) else [result]:
                    if outcome.status is Status.SKIPPED:  # another live run holds its lease
                        progress.waiting(outcome.cell, outcome.error)
                        leased_elsewhere[outcome.cell.key] = (outcome.cell, time.monotonic() + LOOK_AT_LEASE_EVERY_S)
                        continue
                    finish(outcome)
    except KeyboardInterrupt:
        with _shielded():  # a second Ctrl-C must not leave workers or leases behind
            executor.cancel()
            release_run(store.root / "leases", options.run_id)
        raise
    finally:
        executor.close()
        progress.close()
    return outcomes


@contextmanager
def _shielded() -> Iterator[None]:
    """Ignore SIGINT for the duration (main thread only: elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def summary(outcomes: list[Outcome], cached: int) -> str:
    """The run's count, honest when runs share a store: what this run computed, what another
    run finished meanwhile (named only when there is any), what was stored before it started
    (``cached``, from the plan), what failed."""
    count = Counter(o.status for o in outcomes)
    other = f"{count[Status.CACHED]} finished by another run, " if count[Status.CACHED] else ""
    return f"{count[Status.OK]} ran, {other}{cached} cached, {count[Status.FAILED]} failed"


def take_jobs(ready: list[Cell], room: int, batch_cells: int = 1) -> tuple[list[Job], list[Cell]]:
    """Up to ``room`` jobs from the front of ``ready``, and the cells left waiting. With
    ``--batch-cells K`` > 1, cells that train (no base) of one task, task params and scale go into
    one :class:`CellBatch` of up to K (and the task's ``batch_size_cells``) where the task batches;
    every other cell is a job of its own. Batching is how cells run, never what they are."""
    from harness.plan import registry

    jobs: list[list[Cell]] = []
    open_groups: dict[tuple[Any, ...], list[Cell]] = {}
    waiting: list[Cell] = []
    for cell in ready:
        limit = min(batch_cells, registry.get_task(cell.task).batch_size_cells) if batch_cells > 1 and cell.base is None else 1
        key = (cell.task, canonical_json(cell.task_params), cell.scale)
        group = open_groups.get(key) if limit > 1 else None
        if group is not None and len(group) < limit:
            group.append(cell)
        elif len(jobs) < room:
            jobs.append([cell])
            if limit > 1:
                open_groups[key] = jobs[-1]
        else:
            waiting.append(cell)
    return [CellBatch(tuple(g)) if len(g) > 1 else g[0] for g in jobs], waiting


def _lease_free(store: Store, cell: Cell) -> bool:
    """Whether nobody holds the cell's lease any more (released, or its holder died)."""
    path = store.lease_path(cell.key)
    return not path.exists() or is_stale(path, default_ttl())


def _record_failure(store: Store, cell: Cell, error: str, options: RunOptions) -> None:
    """A failure the worker could not record itself (its base failed, or it died)."""
    try:
        store.write_failure(cell, error, traceback="", wall_s=0.0, started_at=utc_now(), run_id=options.run_id)
    except OSError:
        pass


def run_missing(cells: list[Cell], store: Store, options: RunOptions | None = None) -> list[Outcome]:
    """Run the cells that ``store`` does not hold yet (a page that needs the cells of its claims);
    returns the failed outcomes."""
    todo = plan(cells, store, Overwrite.NEVER).to_run
    if not todo:
        return []
    store.ensure_writable()
    return [o for o in execute(todo, store, options or RunOptions(progress=False)) if o.status is Status.FAILED]
