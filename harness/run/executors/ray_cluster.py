"""The ``ray`` executor: each cell is a Ray task on a Ray cluster (``--address``), or on a
local Ray started for the run.

* Resources: ``num_cpus`` = the task's ``max_threads`` (1 when it declares none) and, with
  ``--device cuda``, ``num_gpus = 1 / --cells-per-gpu``: Ray's fractional GPUs pack K cells on
  each GPU and sets ``CUDA_VISIBLE_DEVICES`` for each.
* Dependencies: ordered submission. The scheduler submits a dependent once its base is stored,
  the same code path as every other executor (Ray object references would also work, but would
  hand the base's logits through Ray's object store instead of the store the cells read).
* Records: the worker writes them into the store (a shared filesystem, as the data bundle must be
  anyway), atomically and under the cell's lease, so a finished cell survives the death of the
  driver or of any node; only its outcome travels back to the driver. Without a shared
  filesystem, give each node its own ``--store`` and ``harness merge`` them afterwards.
* Faults: Ray's own retries are off (``max_retries=0``); a task whose worker or node died comes
  back as :class:`~harness.run.executors.WorkerLost`, and the scheduler re-submits it
  ``--retries`` times, exactly as under ``pool``.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Sequence

from harness.plan import registry
from harness.common.errors import UserError
from harness.run.executors.base import first_done, future_outcome, require
from harness.run.cell import Outcome, RunOptions, run_job


def _run_on_ray(cell: Any, store: Any, options: RunOptions, since: datetime) -> Outcome:
    """What a Ray worker runs: note its GPU (Ray chose it), then the same cell code as anywhere."""
    import ray

    gpu_ids = ray.get_gpu_ids()
    if gpu_ids:
        os.environ["HARNESS_GPU"] = ",".join(str(g) for g in gpu_ids)
    return run_job(cell, store, options, since)


def forwarded_environment() -> dict[str, str]:
    """The driver's ``HARNESS_*`` settings (plugins, data, store, threads) and PYTHONPATH, for
    workers on other machines, whose environment Ray does not copy."""
    return {k: v for k, v in os.environ.items() if k.startswith("HARNESS_") or k == "PYTHONPATH"}


class RayExecutor:
    name = "ray"

    def __init__(self, options: RunOptions, store: Any, since: datetime) -> None:
        require("ray")
        import ray

        self.ray, self.store, self.since = ray, store, since
        address = options.setting("address")
        self.started_here = not ray.is_initialized()
        if self.started_here:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                         configure_logging=False, runtime_env={"env_vars": forwarded_environment()})
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserError(f"cannot join the Ray cluster at {address or 'a new local instance'}: {exc}") from None
        self.on_gpu = options.device.startswith("cuda")
        resources = ray.cluster_resources()
        self.slots = int(resources.get("GPU", 0) * options.cells_per_gpu) if self.on_gpu else int(resources.get("CPU", 1))
        if self.on_gpu and not self.slots:
            raise UserError("--device cuda but the Ray cluster has no GPUs")
        self.options = RunOptions(**{**options.__dict__, "executor": "ray", "workers": max(1, self.slots)})
        self.remote = ray.remote(max_retries=0, retry_exceptions=False)(_run_on_ray)
        self.refs: dict[Future[Outcome], Any] = {}

    def start(self, cells: Sequence[Any]) -> None:
        pass

    def submit(self, cells: Sequence[Any]) -> list[Future[Outcome]]:
        handles = []
        for cell in cells:
            cpus = registry.get_task(cell.task).max_threads or 1
            options = RunOptions(**{**self.options.__dict__, "threads": cpus})
            ref = self.remote.options(num_cpus=cpus, num_gpus=1 / options.cells_per_gpu if self.on_gpu else 0).remote(
                cell, self.store, options, self.since)
            future = ref.future()
            self.refs[future] = ref
            handles.append(future)
        return handles

    def wait(self, handles: Sequence[Future[Outcome]], timeout: float) -> list[Future[Outcome]]:
        return first_done(handles, timeout)

    def outcome(self, handle: Future[Outcome]) -> Outcome:
        self.refs.pop(handle, None)
        return future_outcome(handle, "Ray worker")

    def cancel(self) -> None:
        for ref in self.refs.values():
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass
        self.refs.clear()

    def close(self) -> None:
        self.refs.clear()
        if self.started_here:
            self.ray.shutdown()
