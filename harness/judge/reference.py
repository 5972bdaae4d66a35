"""Numeric regression: re-run the smoke grid and compare with ``results/reference/<family>.csv``.

One reference file per family (as pytest-regressions keeps one per test), so a new family adds
its own file and an update of one family never touches another's. Each file stores, per
(task, method, metric), the mean over the reference seeds and a
tolerance derived from the measured seed variance: ``3 · std / sqrt(n)`` (three standard
errors of the mean), floored at ``1e-9·max(1, |mean|)`` for deterministic cells. Re-running the
same seeds on the same platform reproduces the numbers exactly; a change larger than the
tolerance is a drift that a maintainer must look at (or accept with ``--update``, which merges
the (task, method) groups it re-measured into the files and keeps every other row).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.plan import registry
from harness.plan.cells import Cell
from harness.plan.grid import default_grid
from harness.common.files import ROOT
from harness.run.cell import RunOptions
from harness.run.scheduler import execute
from harness.store.store import Store

REFERENCE_DIR = Path(os.environ.get("HARNESS_REFERENCE") or ROOT / "results" / "reference")
REFERENCE_SEEDS = (0, 1, 2)
SIGMAS = 3.0
COLUMNS = ["task", "method", "metric", "mean", "std", "n", "tol"]


def smoke_grid(tasks: list[str] | None = None) -> list[Cell]:
    """Every selected task (default: all) × applicable method, default params, reference seeds, smoke scale."""
    chosen = registry.select_tasks(tasks) if tasks else list(registry.tasks().values())
    return default_grid(chosen, list(REFERENCE_SEEDS), "smoke")


def run_smoke_grid(tasks: list[str] | None = None, progress: bool = True, workers: int = 1,
                   store_dir: str | Path | None = None) -> tuple[Any, list[Any]]:
    """Run the smoke grid in ``store_dir`` (default: a throw-away store); all records and the
    failed outcomes. A cell is deterministic on a CPU for a given number of torch threads; more
    workers give each cell fewer threads, which moves a multi-threaded task (CIFAR: logits by
    ~1e-3 between 1 and 2 threads) in its last digits, inside the tolerances derived from the
    seed variance."""
    if store_dir is None:
        with tempfile.TemporaryDirectory(prefix="harness-check-") as tmp:
            return run_smoke_grid(tasks, progress, workers, tmp)
    store = Store(store_dir)
    outcomes = execute(smoke_grid(tasks), store, RunOptions(device="cpu", progress=progress, workers=workers))
    return store.load(), [o for o in outcomes if o.status.value == "failed"]


def summarize_records(records: Any) -> Any:
    """Per (task, method, metric): mean, std, n over seeds and the tolerance derived from them.
    Speeds and durations (metrics registered with ``measures_time``) are left out: they follow
    the machine's load, and their regressions are a benchmark's job."""
    from harness.plan.metrics import measures_time

    records = records[[not measures_time(m) for m in records["metric"]]]
    grouped = records.groupby(["task", "method", "metric"])["value"]
    summary = grouped.agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "n"})
    summary["std"] = summary["std"].fillna(0.0)
    summary["tol"] = [
        max(SIGMAS * s / math.sqrt(n), 1e-9 * max(1.0, abs(m))) for m, s, n in zip(summary["mean"], summary["std"], summary["n"])
    ]
    return summary


@dataclass
class Drift:
    task: str
    method: str
    metric: str
    reference: float
    measured: float
    tol: float

    def line(self) -> str:
        return (f"{self.task} × {self.method} {self.metric}: reference {self.reference:.6g}, "
                f"measured {self.measured:.6g}, |Δ|={abs(self.measured - self.reference):.3g} > tol {self.tol:.3g}")


def compare(summary: Any, reference: Any) -> tuple[list[Drift], list[str]]:
    """Drifts beyond tolerance, and groups present on one side only."""
    ref = {(r.task, r.method, r.metric): r for r in reference.itertuples()}
    now = {(r.task, r.method, r.metric): r for r in summary.itertuples()}
    drifts = [
        Drift(*k, ref[k].mean, now[k].mean, ref[k].tol)
        for k in sorted(set(ref) & set(now))
        if not abs(now[k].mean - ref[k].mean) <= ref[k].tol
    ]
    unmatched = [f"not in reference: {' × '.join(k)}" for k in sorted(set(now) - set(ref))]
    unmatched += [f"missing from this run: {' × '.join(k)}" for k in sorted(set(ref) - set(now))]
    return drifts, unmatched


def reference_path(family: str) -> Path:
    return REFERENCE_DIR / f"{family}.csv"


def _family_of(tasks: Any) -> Any:
    return tasks.map(lambda t: registry.get_task(t).family)


def merge_reference(old: Any, new: Any) -> Any:
    """``old`` with every (task, method) group that ``new`` re-measured replaced by ``new``'s rows."""
    import pandas as pd

    measured = set(zip(new["task"], new["method"]))
    kept = old[[pair not in measured for pair in zip(old["task"], old["method"])]] if len(old) else old
    merged = pd.concat([kept, new[COLUMNS]], ignore_index=True).sort_values(["task", "method", "metric"]).reset_index(drop=True)
    return merged.astype({"mean": float, "std": float, "n": int, "tol": float})  # one number format, whatever the old file held


def write_reference(summary: Any) -> list[Path]:
    """Merge ``summary`` into each family's file; the files written."""
    import pandas as pd

    written = []
    for family, part in summary.groupby(_family_of(summary["task"])):
        path = reference_path(family)
        old = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=COLUMNS)
        path.parent.mkdir(parents=True, exist_ok=True)
        merge_reference(old, part).to_csv(path, index=False, float_format="%.10g")
        written.append(path)
    return written


def load_reference(tasks: list[str] | None = None) -> Any:
    """The committed references of the selected tasks' families (names or families; default all),
    restricted to those tasks. A family with no file contributes no rows (its groups are then
    reported as not in the reference)."""
    import pandas as pd

    chosen = registry.select_tasks(tasks) if tasks else list(registry.tasks().values())
    names = {t.name for t in chosen}
    frames = [pd.read_csv(reference_path(f)) for f in sorted({t.family for t in chosen}) if reference_path(f).exists()]
    reference = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return reference[reference["task"].isin(names)]


def run_check(update: bool, tasks: list[str] | None, progress: bool = True, workers: int = 1) -> tuple[int, list[str]]:
    """``harness check``: the exit code and the lines to print (the CLI prints them)."""
    records, failed = run_smoke_grid(tasks, progress, workers)
    summary = summarize_records(records)
    lines = [f"FAILED {o.cell.label()}: {o.error}" for o in failed]
    if update:
        if failed:
            return 1, [*lines, "reference not written: some smoke cells failed"]
        lines += [f"merged into {path}" for path in write_reference(summary)]
        return 0, [*lines, f"{len(summary)} (task, method, metric) groups re-measured; other rows kept"]
    drifts, unmatched = compare(summary, load_reference(tasks))
    lines += [d.line() for d in drifts] + unmatched
    ok = not drifts and not unmatched and not failed
    lines.append(f"check {'passed' if ok else 'FAILED'}: {len(summary)} groups compared, {len(drifts)} drifted, "
                 f"{len(unmatched)} unmatched, {len(failed)} cells failed")
    return (0 if ok else 1), lines
