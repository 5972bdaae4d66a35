"""The tidy, long schema of a finished cell: one row per metric (see DESIGN.md).

Method parameters are columns ``p_<name>``, task parameters ``tp_<name>``; both are also in
``params_json`` so nothing is lost when two families share a column name.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from harness.api import CellResult
from harness.cells import Cell, canonical_json
from harness.provenance import provenance

def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def record_table(
    cell: Cell,
    result: CellResult,
    *,
    run_id: str,
    started_at: datetime,
    wall_s: float,
    executor: str,
    workers_on_device: int,
    higher_is_better: dict[str, bool],
) -> pa.Table:
    """One row per metric; every row carries identity, params, timing and provenance."""
    ident = cell.identity
    common: dict[str, Any] = {
        "cell_key": cell.key,
        "run_id": run_id,
        "task": cell.task,
        "task_version": ident["task_version"],
        "family": cell.family,
        "method": cell.method,
        "method_version": ident["method_version"],
        "seed": cell.seed,
        "scale": cell.scale,
        "split": result.split,
        "data_fingerprint": ident["data"],
        **{f"tp_{k}": v for k, v in cell.task_params.items()},
        **{f"p_{k}": v for k, v in cell.method_params.items()},
        "params_json": canonical_json({"task": cell.task_params, "method": cell.method_params}),
        "status": "ok",
        "error": "",
        "wall_s": wall_s,
        "train_s": result.train_s,
        "eval_s": result.eval_s,
        "started_at": started_at,
        "finished_at": utc_now(),
        **provenance(),
        "device": result.info.get("device", "cpu"),
        "gpu_name": result.info.get("gpu_name", ""),
        "executor": executor,
        "workers_on_device": workers_on_device,
        "batch_size": int(result.info.get("batch_size", 0)),
        "precision": str(result.info.get("precision", "fp32")),
        "notes": str(result.info.get("notes", "")),
    }
    rows = [
        {**common, "metric": name, "value": float(value), "higher_is_better": higher_is_better.get(name, True)}
        for name, value in sorted(result.metrics.items())
    ]
    return pa.Table.from_pylist(rows)


def non_finite_metrics(result: CellResult) -> list[str]:
    return [k for k, v in result.metrics.items() if not (isinstance(v, (int, float)) and math.isfinite(v))]
