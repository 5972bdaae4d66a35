"""Numeric regression: re-run the smoke grid and compare with ``results/reference/smoke.csv``.

The reference stores, per (task, method, metric), the mean over the reference seeds and a
tolerance derived from the measured seed variance: ``3 · std / sqrt(n)`` (three standard
errors of the mean), floored at ``1e-9·max(1, |mean|)`` for deterministic cells. Re-running the
same seeds on the same platform reproduces the numbers exactly; a change larger than the
tolerance is a drift that a maintainer must look at (or accept with ``--update``).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import registry
from harness.cells import Cell
from harness.provenance import ROOT
from harness.runner import RunOptions, execute
from harness.store import Store

REFERENCE = ROOT / "results" / "reference" / "smoke.csv"
REFERENCE_SEEDS = (0, 1, 2)
SIGMAS = 3.0


def smoke_grid(tasks: list[str] | None = None) -> list[Cell]:
    """Every registered task × applicable method, default params, reference seeds, smoke scale."""
    chosen = registry.select_tasks(tasks) if tasks else list(registry.tasks().values())
    cells: dict[str, Cell] = {}
    for task in chosen:
        for method in registry.methods().values():
            if task.family in method.families:
                for seed in REFERENCE_SEEDS:
                    cell = Cell.build(task.name, method.name, seed, "smoke")
                    cells.setdefault(cell.key, cell)
    return list(cells.values())


def run_smoke_grid(tasks: list[str] | None = None, progress: bool = True) -> tuple[Any, list[Any]]:
    """Run the smoke grid in a throw-away store; all records and the failed outcomes."""
    with tempfile.TemporaryDirectory(prefix="harness-check-") as tmp:
        store = Store(tmp)
        outcomes = execute(smoke_grid(tasks), store, RunOptions(device="cpu", progress=progress))
        records = store.load()
    return records, [o for o in outcomes if o.status.value == "failed"]


def summarize_records(records: Any) -> Any:
    """Per (task, method, metric): mean, std, n over seeds and the tolerance derived from them."""
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


def write_reference(summary: Any, path: Path = REFERENCE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    summary.sort_values(["task", "method", "metric"]).to_csv(path, index=False, float_format="%.10g")


def load_reference(tasks: list[str] | None = None) -> Any:
    """The committed reference, restricted to ``tasks`` (names or families) when given."""
    import pandas as pd

    reference = pd.read_csv(REFERENCE)
    if tasks:
        names = {t.name for t in registry.select_tasks(tasks)}
        reference = reference[reference["task"].isin(names)]
    return reference


def run_check(update: bool, tasks: list[str] | None) -> int:
    """Entry point of ``harness check``; prints its findings, returns the exit code."""
    records, failed = run_smoke_grid(tasks)
    summary = summarize_records(records)
    for o in failed:
        print(f"FAILED {o.cell.label()}: {o.error}")
    if update:
        if failed:
            print("reference not written: some smoke cells failed")
            return 1
        write_reference(summary)
        print(f"wrote {REFERENCE.relative_to(ROOT)}: {len(summary)} (task, method, metric) groups")
        return 0
    if not REFERENCE.exists():
        print(f"no reference at {REFERENCE}; create it with `harness check --update`")
        return 1
    drifts, unmatched = compare(summary, load_reference(tasks))
    for line in [d.line() for d in drifts] + unmatched:
        print(line)
    ok = not drifts and not unmatched and not failed
    print(f"check {'passed' if ok else 'FAILED'}: {len(summary)} groups compared, {len(drifts)} drifted, "
          f"{len(unmatched)} unmatched, {len(failed)} cells failed")
    return 0 if ok else 1
