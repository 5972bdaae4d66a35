"""The ``pool`` executor: persistent worker processes on this machine, optionally K per GPU.

Why the workers are kept warm: a fresh process pays seconds of imports (torch, pandas, the
family's modules) before its first cell, far more than a cheap cell takes. Workers are started
once per run, before the driver's progress bar and ETA (:meth:`PoolExecutor.start`), import what
the cells need at once (in parallel with each other and with the driver), and then take cell
after cell. On the CPU, workers are capped at the number of cores
(more only time-slice the same cores) and each cell gets ``cores // workers`` torch threads.

GPU slots: under ``--device cuda`` each GPU id in ``--gpus`` (default: every visible GPU) gets
its own pool of ``--cells-per-gpu`` workers, and each cell goes to the GPU with the fewest cells
in flight. A worker sees only its GPU (``CUDA_VISIBLE_DEVICES``, set before torch is imported)
and its records say which GPU it was (``device = cuda:<id>``) and how many cells shared it
(``workers_on_device``).

The pools are pebble's ``ProcessPool``, not ``concurrent.futures.ProcessPoolExecutor``: when a
worker dies (out of memory, killed), the standard pool breaks and fails every cell in flight,
while pebble fails only that worker's cell (``ProcessExpired``) and starts a replacement, which
keeps the same GPU because the GPU belongs to the pool.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future
from datetime import datetime
from multiprocessing import get_context
from typing import Any, Sequence

from pebble import ProcessPool

from harness.common.errors import UserError
from harness.run.executors.base import first_done, future_outcome
from harness.run.cell import Outcome, RunOptions, cells_of, run_job, usable_cores


def visible_gpus() -> tuple[int, ...]:
    """The GPU ids this process may use (``CUDA_VISIBLE_DEVICES`` when set, else all of them)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return tuple(int(g) for g in listed.split(",") if g.strip().isdigit())
    import torch

    return tuple(range(torch.cuda.device_count()))


def layout(options: RunOptions, *, strict: bool = True) -> tuple[tuple[int | None, ...], int]:
    """The pools and the workers in each: ``(None,)`` and ``min(workers, cores)`` on the CPU; on
    GPUs one pool per id in ``--gpus`` (default: every visible GPU) with ``--cells-per-gpu``
    workers, or more when ``--workers`` asks for more cells than that in all. ``strict=False`` (a
    dry run planning a GPU run on a machine without one) counts one GPU instead of failing."""
    if not options.device.startswith("cuda"):
        return (None,), min(options.workers, usable_cores())
    gpus: tuple[int | None, ...] = options.gpus or visible_gpus()
    if not gpus:
        if strict:
            raise UserError("--device cuda but no GPU is visible; give --gpus or use --device cpu")
        gpus = (0,)
    return gpus, max(options.cells_per_gpu, -(-options.workers // len(gpus)))


def preload_modules(cells: Sequence[Any]) -> list[str]:
    """What a worker imports before its first cell: the cells' task and method modules (and so
    their family's registry), and torch when a task uses it."""
    from harness.plan import registry

    modules = {"harness.run.cell"}
    for cell in (c for job in cells for c in cells_of(job)):
        task, method = registry.get_task(cell.task), registry.get_method(cell.method)
        modules |= {task.__module__, method.__module__}
        if task.uses_torch:
            modules.add("torch")
    return sorted(modules)


def _worker_start(parent_pid: int, gpu: int | None, modules: list[str]) -> None:
    """Pool worker start-up: follow the driver's death, see only its GPU, warm the imports."""
    _die_with_parent(parent_pid)
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)  # before torch is imported: the worker sees one GPU
        os.environ["HARNESS_GPU"] = str(gpu)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:  # the cell itself will report it
            pass


def _die_with_parent(parent_pid: int) -> None:
    """Never outlive the run that started us (an orphan would go on writing records and hold
    its memory forever after a kill -9 of the driver)."""
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


class PoolExecutor:
    name = "pool"

    def __init__(self, options: RunOptions, store: Any, since: datetime) -> None:
        self.store, self.since = store, since
        self.gpus, self.per_pool = layout(options)
        self.slots = self.per_pool * len(self.gpus)
        self.options = RunOptions(**{**options.__dict__, "workers": self.slots, "cells_per_gpu": self.per_pool, "executor": "pool"})
        self.pools: dict[int | None, ProcessPool] = {}
        self.in_flight: dict[Future[Outcome], int | None] = {}

    def _pool(self, gpu: int | None, cells: Sequence[Any]) -> ProcessPool:
        """The GPU's pool, started on first use, and started anew when it stopped working (pebble
        gives up on a pool whose every worker died while idle: an out-of-memory kill between cells)."""
        if gpu in self.pools and not self.pools[gpu].active:
            self.pools.pop(gpu).stop()
        if gpu not in self.pools:
            self.pools[gpu] = ProcessPool(max_workers=self.per_pool, context=get_context("spawn"), initializer=_worker_start,
                                          initargs=(os.getpid(), gpu, preload_modules(cells)))
        return self.pools[gpu]

    def start(self, cells: Sequence[Any]) -> None:
        """Start every pool's workers now: their imports (a second or more) then overlap the
        driver's progress bar and ETA instead of following them. Pebble starts a pool's workers
        at its first task, so each pool gets a no-op."""
        for gpu in self.gpus:
            self._pool(gpu, cells).schedule(os.getpid)

    def submit(self, cells: Sequence[Any]) -> list[Future[Outcome]]:
        handles = []
        for cell in cells:
            load = Counter(self.in_flight.values())
            gpu = min(self.gpus, key=lambda g: load[g])  # the GPU with the fewest cells in flight
            args = (cell, self.store, self.options, self.since)
            try:
                future = self._pool(gpu, cells).schedule(run_job, args=args)
            except RuntimeError:  # the pool broke since the last call: a fresh one takes the cell
                self.pools.pop(gpu).stop()
                future = self._pool(gpu, cells).schedule(run_job, args=args)
            self.in_flight[future] = gpu
            handles.append(future)
        return handles

    def wait(self, handles: Sequence[Future[Outcome]], timeout: float) -> list[Future[Outcome]]:
        return first_done(handles, timeout)

    def outcome(self, handle: Future[Outcome]) -> Outcome:
        self.in_flight.pop(handle, None)
        return future_outcome(handle, "worker")

    def cancel(self) -> None:
        for pool in self.pools.values():
            pool.stop()  # terminates the workers: a cell killed mid-way leaves no record (writes are atomic)
            pool.join()
        self.pools.clear()

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
            pool.join()
        self.pools.clear()
        self.in_flight.clear()
