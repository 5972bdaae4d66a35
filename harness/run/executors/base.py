"""What every executor shares: the interface, a lost worker, future-based waiting, extras."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Protocol, Sequence

from harness.common.errors import UserError
from harness.run.cell import Outcome

EXECUTORS = ("local", "pool", "ray", "slurm")


class WorkerLost(Exception):
    """The process or machine running a cell died (killed, out of memory, node gone). Unlike a
    cell that raised (recorded as failed by the worker), the cell may be retried: ``--retries``."""


class Executor(Protocol):
    name: str
    slots: int  # cells that run at once

    def start(self, cells: Sequence[Any]) -> None:
        """Begin what is slow to begin (worker processes and their imports) for a run of these
        cells, so that it overlaps the driver's last preparations; a no-op where nothing is."""

    def submit(self, cells: Sequence[Any]) -> list[Any]:
        """Start these jobs (all ready to run: a cell, or a ``CellBatch`` of cells run together
        under ``--batch-cells``), each through :func:`harness.run.cell.run_job`; one handle per job, in order."""

    def wait(self, handles: Sequence[Any], timeout: float) -> list[Any]:
        """The handles among ``handles`` that finished (possibly none after ``timeout`` s)."""

    def outcome(self, handle: Any) -> Outcome:
        """A finished handle's outcome (a batch's: one per cell, a list); raises :class:`WorkerLost` when its worker died."""

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


