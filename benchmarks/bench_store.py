"""Benchmark of the store's read path (not a test): ``python benchmarks/bench_store.py [--records N]``.

Writes N synthetic records shaped like the real ones (every column of the record schema, a few
parameters, 7 metric rows per cell) into a temporary store, then times, in this one run on this
machine, reading them all into one DataFrame:

- ``per-file, before``: the pre-issue-12 reader (threaded ``pq.read_table`` per file, concat);
- ``per-file, verified`` / ``unverified``: today's reader (hash and schema checked, or not);
- ``packed, verified`` / ``unverified``: after ``harness compact`` (one file named by its sha256);

and prints the ratios: compaction speed-up (before ÷ packed verified) and verification overhead
(verified ÷ unverified, per-file and packed). Each timing is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq

from harness.store.records import RECORD_SCHEMA
from harness.store.codec import encode_record
from harness.store.store import Store

METRICS = ("accuracy", "balanced_accuracy", "few_shot_accuracy", "many_shot_accuracy", "medium_shot_accuracy",
           "prior_weighted_accuracy", "loss")


def synthetic_record(i: int, task: str) -> pa.Table:
    """Cell ``i``: a record with realistic columns and values (not the output of a run)."""
    key = f"{i:064x}"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=i)
    common = {
        "cell_key": key, "run_id": f"{i // 50:012x}", "task": task, "task_version": "2", "family": "longtail",
        "method": ("erm", "focal", "logit_adjust", "ldam_drw")[i % 4], "method_version": "1", "seed": i % 10,
        "scale": "small", "split": "test", "data_fingerprint": "a" * 64, "params_json": f'{{"method":{{"tau":{i % 7}}}}}',
        "status": "ok", "error": "", "wall_s": 1.0 + i % 13, "train_s": 0.9, "eval_s": 0.1, "started_at": start,
        "finished_at": start + timedelta(seconds=2), "git_sha": "b" * 40, "git_dirty": False, "harness_version": "0.1.0",
        "python": "3.11.7", "torch": "2.13.0", "hostname": "bench-host", "platform": "linux-x86_64", "device": "cpu",
        "gpu_name": "", "executor": "local", "workers_on_device": 1, "batch_size": 128, "precision": "fp32",
        "notes": "", "tp_imbalance": 10.0, "tp_epochs": 150, "p_tau": float(i % 7), "higher_is_better": True,
    }
    rows = [{**common, "metric": m, "value": (i * 7919 + j) % 1000 / 1000} for j, m in enumerate(METRICS)]
    table = pa.Table.from_pylist(rows)
    return table.select([n for n in RECORD_SCHEMA.names if n in table.column_names]
                        + [n for n in table.column_names if n not in RECORD_SCHEMA.names])


def write_store(root: Path, n: int, tasks: int = 4) -> None:
    """N verified record files, spread over a few tasks (no fsync: this is a benchmark fixture)."""
    for i in range(n):
        task = f"bench-{i % tasks}"
        path = root / "records" / task / f"{i:064x}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_record(synthetic_record(i, task)))


def read_before(root: Path) -> int:
    """What Store.load did before issue 12: one threaded pq.read_table per file, then concat."""
    paths = sorted((root / "records").glob("*/*.parquet"))
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        tables = list(pool.map(pq.read_table, paths))
    return len(pa.concat_tables(tables, promote_options="permissive").to_pandas())


def best(variants: dict[str, Callable[[], int]], repeat: int, cells: int) -> dict[str, tuple[float, int]]:
    """Best of ``repeat`` timings of each variant, the variants interleaved round by round (so
    that a load change on a shared machine hits them alike), printed when measured."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    rows: dict[str, int] = {}
    for _ in range(repeat):
        for name, run in variants.items():
            t0 = time.perf_counter()
            rows[name] = run()
            times[name].append(time.perf_counter() - t0)
    for name in variants:
        print(f"  {name:<22} {min(times[name]) * 1000:9.1f} ms  ({rows[name]} rows, {min(times[name]) / cells * 1e3:.3f} ms per cell)",
              flush=True)
    return {name: (min(times[name]), rows[name]) for name in variants}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="record files to write and read (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per variant; the best is kept (default 3)")
    parser.add_argument("--dir", help="where to build the temporary store (default: the system temp dir)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="harness-bench-store-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        write_store(root, args.records)
        files = len(list((root / "records").glob("*/*.parquet")))
        size = sum(p.stat().st_size for p in (root / "records").glob("*/*.parquet"))
        print(f"{files} record files, {size / files / 1024:.1f} KiB each, written in {time.perf_counter() - t0:.1f}s", flush=True)

        def load(verify: bool) -> Callable[[], int]:
            return lambda: len(Store(root, verify=verify, auto_compact=0).load())

        timings = best({"per-file, before": lambda: read_before(root), "per-file, verified": load(True),
                        "per-file, unverified": load(False)}, args.repeat, files)
        from harness.store.compact import compact

        t0 = time.perf_counter()
        results = compact(Store(root, auto_compact=0))
        packed = sum(p.stat().st_size for p in (root / "packs").glob("*/*.parquet"))
        print(f"compacted into {len(results)} packs ({packed / 1024:.0f} KiB) in {time.perf_counter() - t0:.1f}s", flush=True)
        timings.update(best({"packed, verified": load(True), "packed, unverified": load(False)}, max(10, args.repeat), files))
        rows = {r for _, r in timings.values()}
        assert len(rows) == 1, f"variants read different row counts: {timings}"
        t = {k: v[0] for k, v in timings.items()}
        print(f"compaction speed-up (per-file before / packed verified): {t['per-file, before'] / t['packed, verified']:.1f}x")
        print(f"compaction speed-up (per-file verified / packed verified): {t['per-file, verified'] / t['packed, verified']:.1f}x")
        print(f"verification overhead, per-file (verified / unverified): {t['per-file, verified'] / t['per-file, unverified']:.2f}x")
        print(f"verification overhead, packed (verified / unverified): {t['packed, verified'] / t['packed, unverified']:.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
