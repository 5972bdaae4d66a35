"""The ``slurm`` executor: cells as SLURM jobs through submitit, one job array per wave of
ready cells (bases first, their dependents in a later array once the bases are stored).

``--slurm-backend local`` runs the very same submitit jobs as processes on this machine (the
scheduler keeps at most ``--workers`` in flight): that is what the test suite runs, so CI needs no cluster. Each job runs
:func:`harness.run.cell.run_job` and writes its record into the store on the cluster's shared
filesystem.

Submitit's own files are pickles that each job *executes* (the function, the cell, the store
handle), so they live in a private folder of the run, never in the store: anyone who may write
a (shared) store could otherwise plant or swap a pickle and run code as you on the cluster.
:func:`job_folder` makes ``$HARNESS_SLURM_DIR/<run id>`` (default ``~/.cache/harness/slurm``;
it must be on a filesystem the compute nodes read, as a home folder is) with mode 0700, and
refuses to go on when that folder, or any folder above it, is owned by another user or writable by
others (a sticky folder such as /tmp excepted): whoever can write a parent can rename the run's
folder away and put their own in its place. The folder also keeps the jobs' logs.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from harness.common.errors import UserError
from harness.plan import registry
from harness.run.executors.base import WorkerLost, require
from harness.run.cell import Outcome, RunOptions, run_job, usable_cores

POLL_S = 1.0
DEFAULT_CPUS = 4  # a task that declares no thread limit (a CNN) gets this many CPUs per job


def job_base() -> Path:
    """Where the runs' private job folders go: ``$HARNESS_SLURM_DIR``, else ``~/.cache/harness/slurm``
    (the user's own home, not ``$HARNESS_CACHE``, which may be a folder shared with others)."""
    return Path(os.environ.get("HARNESS_SLURM_DIR") or Path.home() / ".cache" / "harness" / "slurm")


def job_folder(run_id: str) -> Path:
    """The run's private folder for submitit's pickles and logs, created with mode 0700; a
    UserError (nothing submitted) when it or a folder above it is not safe (see the module)."""
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise UserError(f"run id {run_id!r} cannot name a folder")
    base = job_base()
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        base = base.resolve()
        folder = base / run_id
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        info = folder.lstat()
    except OSError as exc:
        raise UserError(f"cannot make the SLURM job folder under {base} ({exc.strerror}); set $HARNESS_SLURM_DIR "
                        "to a private folder the compute nodes can read") from None
    me = os.geteuid()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != me or info.st_mode & 0o077:
        what = ("is not a folder" if not stat.S_ISDIR(info.st_mode) else f"belongs to uid {info.st_uid}, not you"
                if info.st_uid != me else f"has mode {stat.S_IMODE(info.st_mode):o}, not 700")
        raise UserError(f"SLURM job folder {folder} {what}: its pickles run as you on the cluster; "
                        "remove it or set $HARNESS_SLURM_DIR to a private folder")
    for parent in (base, *base.parents):
        info = parent.stat()
        if info.st_uid not in (me, 0):
            raise UserError(f"SLURM job files would sit under {parent}, which belongs to uid {info.st_uid}: its owner could "
                            "swap the run's folder; set $HARNESS_SLURM_DIR to a private folder the compute nodes can read")
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            raise UserError(f"SLURM job files would sit under {parent}, which others may write (mode "
                            f"{stat.S_IMODE(info.st_mode):o}): they could swap the run's folder; set $HARNESS_SLURM_DIR "
                            "to a private folder the compute nodes can read")
    return folder


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
        self.folder = job_folder(options.run_id)
        if options.progress:
            print(f"SLURM job files and logs: {self.folder}", file=sys.stderr)
        self.executor = submitit.AutoExecutor(folder=self.folder, cluster="local" if local else "slurm")
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

    def start(self, cells: Sequence[Any]) -> None:
        pass

    def submit(self, cells: Sequence[Any]) -> list[Any]:
        """One job array; each job asks for the CPUs its task can use (its ``max_threads``, else
        ``DEFAULT_CPUS``), and the cell sizes its torch threads to what SLURM allotted."""
        cpus = self.threads or max(registry.get_task(c.task).max_threads or DEFAULT_CPUS for c in cells)
        self.executor.update_parameters(cpus_per_task=cpus)
        with self.executor.batch():
            jobs = [self.executor.submit(run_job, cell, self.store, self.options, self.since) for cell in cells]
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
