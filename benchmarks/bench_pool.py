"""Speed benchmark (not a test) of the executors, measured side by side in one run:

    python benchmarks/bench_pool.py [--rounds 3] [--seeds 16] [--scale smoke|small] [--ray] [--task T --methods A,B]

* **throughput** — the same cells (by default the cheapest seeded torch task of the registry at
  smoke scale × up to 4 of its family's training methods × 16 seeds; ``--task``/``--methods`` to
  choose), each run a whole ``harness run`` from a fresh process into an empty
  store (start-up, imports and worker start included, as a user sees it), with ``--workers 1``
  and ``--workers 2``, in turns
  (1, 2, 1, 2, …) so that a change of machine load hits both alike. Prints each round and the
  median ratio of wall times (> 1: the pool is faster), and where each run's time went, from its
  records' timestamps: before the first cell started (start-up, planning, worker start), the
  cells' phase (first start to last finish) and after it. Torch is imported inside the first
  cell with one worker (in the driver) and before the first cell with two (in both workers at
  once), so the first phase and the cells' phase compare unlike things; the fixed part F is paid
  once on both sides, and bounds the ratio: (F + W) / (F + W/2) for W seconds of cells. Each
  round also prints that bound as measured in the round (the *ceiling*: a worker's imports in a
  fresh process, timed beside the runs, plus half the cells' work; see :func:`throughput`).
* **ray** (``--ray``) — the same cells under ``--executor ray`` (a local Ray started by the run),
  and the per-cell overhead against ``pool`` with as many slots: (ray − pool) / cells.
* **bases** — every post-processing method of that task's family (each reads a base cell) × 3
  seeds through a 2-worker pool: how many base trainings ran (from the records), against the
  distinct bases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple


def default_grid() -> tuple[str, list[str]]:
    """The cheapest seeded, torch-training task of the registry at smoke scale, and up to four
    training methods (no base cell) of its family: what the pool's speed-up is measured on."""
    from harness.plan import registry
    from harness.plan.cells import dependency_of

    tasks = [t for t in registry.tasks().values() if t.seeded and t.uses_torch and t.in_default_grid]
    task = min(tasks, key=lambda t: (t.estimate("smoke"), t.name))
    methods = [m.name for m in registry.methods().values() if m.applies_to(task) and dependency_of(m, ()) is None]
    return task.name, methods[:4]


def timed_run(store: Path, *flags: str) -> float:
    """Wall seconds of one ``harness run`` in a fresh process (exit status checked)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", "run", *flags, "--store", str(store)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


class Phases(NamedTuple):
    """Where one ``harness run``'s wall time went, read from its records' timestamps."""

    wall: float
    before: float  # before the first cell started: start-up, planning, worker start
    cells: float  # from the first cell's start to the last cell's finish
    first_extra: float  # how much longer the first cell took than the median cell (imports, warm-up)


def phased_run(store: Path, *flags: str) -> Phases:
    import pandas as pd

    from harness.store.store import Store

    t0 = time.time()
    wall = timed_run(store, *flags)
    records = Store(store).load().drop_duplicates("cell_key")
    started = pd.to_datetime(records["started_at"], utc=True)
    finished = pd.to_datetime(records["finished_at"], utc=True)
    first = records.loc[started.idxmin(), "wall_s"]
    return Phases(wall, started.min().timestamp() - t0, (finished.max() - started.min()).total_seconds(),
                  float(first - records["wall_s"].median()))


def worker_modules(task: str, methods: list[str]) -> list[str]:
    """What a pool worker imports before its first cell of this grid (torch included)."""
    from harness.run.executors.pool import preload_modules

    return preload_modules([SimpleNamespace(task=task, method=method) for method in methods])


def import_seconds(modules: list[str]) -> float:
    """Wall seconds a fresh process takes to import ``modules``."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {', '.join(modules)}"], check=True)
    return time.perf_counter() - t0


def throughput(grid: list[str], rounds: int, scratch: Path, modules: list[str]) -> list[tuple[float, float]]:
    """Each round: ``--workers 1``, ``--workers 2`` and a worker's imports (``modules``), side by
    side. The ceiling is what no executor that starts its workers as processes can beat on 2
    cores: each worker imports for ``I`` seconds before its first cell, and the cells' work ``C`` (the
    one-worker run's cells' phase less its first cell's imports) at best halves, so
    ``--workers 2`` takes at least ``I + C/2``."""
    pairs = []
    for r in range(rounds):
        one, two = (phased_run(scratch / f"w{n}-{r}", *grid, "--workers", str(n)) for n in (1, 2))
        ceiling = one.wall / (import_seconds(modules) + (one.cells - one.first_extra) / 2)
        pairs.append((one.wall, two.wall))
        print(f"  round {r + 1}: --workers 1 {one.wall:6.1f} s   --workers 2 {two.wall:6.1f} s   "
              f"ratio {one.wall / two.wall:.2f}× (ceiling {ceiling:.2f}×)   before the first cell {one.before:.1f} / "
              f"{two.before:.1f} s; cells' phase {one.cells:.1f} / {two.cells:.1f} s, {one.cells / two.cells:.2f}×",
              flush=True)
    return pairs


def ray_overhead(grid: list[str], cells: int, scratch: Path) -> None:
    pool = timed_run(scratch / "pool", *grid, "--workers", "2")
    ray = timed_run(scratch / "ray", *grid, "--executor", "ray")
    print(f"ray: {ray:.1f} s vs pool (2 workers) {pool:.1f} s for {cells} cells: "
          f"{(ray - pool) / cells * 1000:+.0f} ms per cell (a local Ray's start-up included)")


def bases(task: str, scratch: Path) -> None:
    from harness.plan import registry
    from harness.plan.cells import dependency_of
    from harness.store.store import Store

    task_cls = registry.get_task(task)
    post = [m.name for m in registry.methods().values() if m.applies_to(task_cls) and dependency_of(m, ()) is not None]
    if not post:
        print(f"bases: {task}'s family has no post-processing method")
        return
    store = scratch / "bases"
    timed_run(store, "--tasks", task, "--methods", ",".join(post), "--no-baseline", "--scale", "smoke", "--seeds", "0-2",
              "--workers", "2", "--no-report")
    records = Store(store).load([task]).drop_duplicates("cell_key")
    bases_needed = {dependency_of(registry.get_method(m), ()).method for m in post}
    trained = int(records["method"].isin(bases_needed).sum())
    dependents = int(records["method"].isin(post).sum())
    print(f"bases: {trained} base trainings for {3 * len(bases_needed)} distinct bases; {dependents} post-processing cells "
          f"({', '.join(post)} × 3 seeds) read them")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=16, help="seeds per method")
    parser.add_argument("--scale", default="smoke", choices=["smoke", "small"], help="smoke: 0.2 s cells; small: about 2 s")
    parser.add_argument("--ray", action="store_true", help="also measure the ray executor's per-cell overhead")
    parser.add_argument("--task", help="the task (default: the registry's cheapest seeded torch task at smoke scale)")
    parser.add_argument("--methods", help="comma-separated methods (default: up to 4 training methods of its family)")
    args = parser.parse_args()
    task, methods = default_grid()
    task = args.task or task
    methods = args.methods.split(",") if args.methods else methods
    grid = ["--tasks", task, "--methods", ",".join(methods), "--no-baseline", "--no-report", "--scale", args.scale,
            "--seeds", f"0-{args.seeds - 1}"]
    cells = len(methods) * args.seeds
    print(f"{os.cpu_count()} cores; {cells} {task} {args.scale} cells per run ({', '.join(methods)} × {args.seeds} seeds)")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        pairs = throughput(grid, args.rounds, scratch, worker_modules(task, methods))
        ratios = [one / two for one, two in pairs]
        print(f"throughput: --workers 2 is {statistics.median(ratios):.2f}× --workers 1 (median of {len(ratios)} rounds; "
              f"range {min(ratios):.2f}–{max(ratios):.2f})")
        if args.ray:
            ray_overhead(grid, cells, scratch)
        bases(task, scratch)


if __name__ == "__main__":
    main()
