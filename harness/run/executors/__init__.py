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

from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import datetime
from typing import Any, Protocol, Sequence

from harness.common.errors import UserError
from harness.run.cell import Outcome, RunOptions

EXECUTORS = ("local", "pool", "ray", "slurm")


class WorkerLost(Exception):
    """The process or machine running a cell died (killed, out of memory, node gone). Unlike a
    cell that raised (recorded as failed by the worker), the cell may be retried: ``--retries``."""


class Executor(Protocol):
    name: str
    slots: int  # cells that run at once

    def submit(self, cells: Sequence[Any]) -> list[Any]:
        """Start these cells (all ready to run); one handle per cell, in order."""

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        """The handles among ``handles`` that finished (possibly none after ``timeout`` s)."""

    def outcome(self, handle: Any) -> Outcome:
        """A finished handle's outcome; raises :class:`WorkerLost` when its worker died."""

    def cancel(self) -> None:
        """Stop every running cell now (Ctrl-C): nothing running is recorded as finished."""

    def close(self) -> None:
        """Release workers once the run is over."""


EXTRAS = {"ray": ("ray", "ray"), "slurm": ("submitit", "slurm")}  # executor → (module, pip extra)


def first_done(handles: Sequence[Future[Outcome]], timeout: float) -> list[Future[Outcome]]:
    """``Executor.wait`` for executors whose handles are ``concurrent.futures`` futures."""
    done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
    return list(done)


def future_outcome(handle: Future[Outcome], who: str) -> Outcome:
    """``Executor.outcome`` for future handles: :func:`harness.run.cell.run_leased` never raises,
    so an exception here means ``who`` (the worker, the Ray node) died."""
    try:
        return handle.result()
    except Exception as exc:  # noqa: BLE001
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise WorkerLost(f"{who} died or was lost ({type(exc).__name__}: {first})") from exc


def require(name: str) -> None:
    """Fail before anything is written when the chosen executor's library is missing."""
    import importlib.util

    if name in EXTRAS:
        module, extra = EXTRAS[name]
        if importlib.util.find_spec(module) is None:
            raise UserError(f"--executor {name} needs {module}: pip install -e '.[{extra}]'")


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
