"""Speed benchmark (not a test) of the executors, measured side by side in one run:

    python -m harness.bench_pool [--rounds 3] [--seeds 16] [--scale smoke|small] [--ray]

* **throughput** — the same 64 cells (digits-lt: 4 methods × 16 seeds; ``--scale smoke`` 0.2 s
  a cell, ``small`` longer), each run a whole ``harness run`` from a fresh process into an empty
  store (start-up, imports and worker start included, as a user sees it), with ``--workers 1``
  and ``--workers 2``, in turns
  (1, 2, 1, 2, …) so that a change of machine load hits both alike. Prints each round and the
  median ratio of wall times (> 1: the pool is faster).
* **ray** (``--ray``) — the same cells under ``--executor ray`` (a local Ray started by the run),
  and the per-cell overhead against ``pool`` with as many slots: (ray − pool) / cells.
* **bases** — a τ sweep of post-hoc logit adjustment (5 τ × 3 seeds on gaussian-lt) through a
  2-worker pool: how many base trainings ran (from the records), against the distinct bases.
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

GRID = ["--tasks", "digits-lt", "--methods", "erm,focal,reweight,class_balanced", "--no-baseline", "--no-report"]


def timed_run(store: Path, *flags: str) -> float:
    """Wall seconds of one ``harness run`` in a fresh process (exit status checked)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli", "run", *flags, "--store", str(store)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def throughput(rounds: int, seeds: int, scale: str, scratch: Path) -> list[tuple[float, float]]:
    grid = [*GRID, "--scale", scale, "--seeds", f"0-{seeds - 1}"]
    pairs = []
    for r in range(rounds):
        one = timed_run(scratch / f"w1-{r}", *grid, "--workers", "1")
        two = timed_run(scratch / f"w2-{r}", *grid, "--workers", "2")
        pairs.append((one, two))
        print(f"  round {r + 1}: --workers 1 {one:6.1f} s   --workers 2 {two:6.1f} s   ratio {one / two:.2f}×", flush=True)
    return pairs


def ray_overhead(seeds: int, scratch: Path) -> None:
    grid = [*GRID, "--scale", "smoke", "--seeds", f"0-{seeds - 1}"]
    pool = timed_run(scratch / "pool", *grid, "--workers", "2")
    ray = timed_run(scratch / "ray", *grid, "--executor", "ray")
    cells = 4 * seeds
    print(f"ray: {ray:.1f} s vs pool (2 workers) {pool:.1f} s for {cells} cells: "
          f"{(ray - pool) / cells * 1000:+.0f} ms per cell (a local Ray's start-up included)")


def bases(scratch: Path) -> None:
    from harness.store.store import Store

    store = scratch / "bases"
    timed_run(store, "--tasks", "gaussian-lt", "--methods", "logit_adjust_posthoc", "--no-baseline", "--scale", "smoke",
              "--seeds", "0-2", "--param", "tau=0.25,0.5,1,1.5,2", "--workers", "2")
    records = Store(store).load(["gaussian-lt"]).drop_duplicates("cell_key")
    trained = int((records["method"] == "erm").sum())
    reused = int((records["notes"] == "reused base logits").sum())
    print(f"bases: {trained} base trainings for 3 distinct bases; {reused} of 15 post-hoc cells reused a stored base")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=16, help="seeds per method (4 methods)")
    parser.add_argument("--scale", default="smoke", choices=["smoke", "small"], help="smoke: 0.2 s cells; small: about 2 s")
    parser.add_argument("--ray", action="store_true", help="also measure the ray executor's per-cell overhead")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; {4 * args.seeds} digits-lt {args.scale} cells per run")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        pairs = throughput(args.rounds, args.seeds, args.scale, scratch)
        ratios = [one / two for one, two in pairs]
        print(f"throughput: --workers 2 is {statistics.median(ratios):.2f}× --workers 1 (median of {len(ratios)} rounds; "
              f"range {min(ratios):.2f}–{max(ratios):.2f})")
        if args.ray:
            ray_overhead(args.seeds, scratch)
        bases(scratch)


if __name__ == "__main__":
    main()
