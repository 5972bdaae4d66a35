"""The tidy, long schema of a finished cell: one row per metric (see DESIGN.md).

Method parameters are columns ``p_<name>``, task parameters ``tp_<name>``; both are also in
``params_json`` so nothing is lost when two families share a column name.

:data:`RECORD_SCHEMA` is the contract every stored record is checked against when it is read
(:func:`conform`): a file written by another version, another tool or damaged on disk either
conforms (after lossless casts) or is rejected with a reason naming the column, so that one bad
file never breaks or pollutes a whole read.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from harness.plan.contract import CellResult
from harness.plan import registry
from harness.plan.metrics import higher_is_better
from harness.plan.cells import Cell, canonical_json
from harness.common.files import ROOT
from harness.store.provenance import code_sha, provenance

_TS = pa.timestamp("us", tz="UTC")

#: Every column the engine writes, with its type. Columns marked required must be present.
RECORD_SCHEMA = pa.schema(
    [
        ("cell_key", pa.string()), ("run_id", pa.string()), ("task", pa.string()), ("task_version", pa.string()),
        ("family", pa.string()), ("method", pa.string()), ("method_version", pa.string()), ("seed", pa.int64()),
        ("scale", pa.string()), ("split", pa.string()), ("data_fingerprint", pa.string()), ("params_json", pa.string()),
        ("status", pa.string()), ("error", pa.string()), ("wall_s", pa.float64()), ("train_s", pa.float64()),
        ("eval_s", pa.float64()), ("started_at", _TS), ("finished_at", _TS), ("git_sha", pa.string()),
        ("git_dirty", pa.bool_()), ("harness_version", pa.string()), ("python", pa.string()), ("torch", pa.string()),
        ("hostname", pa.string()), ("platform", pa.string()), ("device", pa.string()), ("gpu_name", pa.string()),
        ("executor", pa.string()), ("workers_on_device", pa.int64()), ("batch_size", pa.int64()),
        ("precision", pa.string()), ("notes", pa.string()), ("code_sha", pa.string()), ("metric", pa.string()), ("value", pa.float64()),
        ("higher_is_better", pa.bool_()),
    ]
)
#: What tables, claims and caching cannot do without.
REQUIRED = ("cell_key", "task", "family", "method", "seed", "scale", "metric", "value")
PARAM_PREFIXES = ("p_", "tp_")
_KNOWN = {f.name: f.type for f in RECORD_SCHEMA}
_SCALAR_PARAM = (pa.types.is_boolean, pa.types.is_integer, pa.types.is_floating, pa.types.is_string,
                 pa.types.is_large_string, pa.types.is_null)


class SchemaMismatch(ValueError):
    """A stored table does not conform to :data:`RECORD_SCHEMA`; the message names the column."""


def conform(table: pa.Table) -> tuple[pa.Table, list[str]]:
    """``table`` cast to the record schema, and the names of the columns outside it (dropped).

    Lossless casts only (int32 -> int64, a column of nulls -> its type, a timestamp to µs UTC,
    an integer version -> its text). A required column missing, a known column of another kind
    (``seed`` as text), a nested parameter or an empty table raises :class:`SchemaMismatch`.
    A table that already conforms is returned as it is (the common case costs a schema scan).
    """
    if table.num_rows == 0:
        raise SchemaMismatch("no rows")
    schema = table.schema
    names, types = schema.names, schema.types
    present = set(names)
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise SchemaMismatch(f"missing column(s) {', '.join(missing)}")
    if len(present) != len(names):
        raise SchemaMismatch("duplicate column names")
    keep, casts, unknown = [], {}, []
    for i, name in enumerate(names):
        expected = _KNOWN.get(name)
        kind = types[i] if expected is not None or name.startswith(PARAM_PREFIXES) else None
        if expected is not None:
            if kind != expected:
                casts[i] = expected
        elif kind is not None:
            if not any(test(kind) for test in _SCALAR_PARAM):
                raise SchemaMismatch(f"parameter column {name} has type {kind}, expected a scalar")
        else:
            unknown.append(name)
            continue
        keep.append(i)
    if casts or unknown:
        columns = [_cast(names[i], table.column(i), casts[i]) if i in casts else table.column(i) for i in keep]
        table = pa.table(columns, names=[names[i] for i in keep])
    for name in REQUIRED[:-1]:  # every required column but value (a NaN or null score is data)
        if table.column(name).null_count:
            raise SchemaMismatch(f"column {name} has nulls")
    return table, unknown


def _cast(name: str, column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    have = column.type
    if have == target:
        return column
    ok = (
        pa.types.is_null(have)
        or (pa.types.is_integer(target) and pa.types.is_integer(have))
        or (pa.types.is_floating(target) and (pa.types.is_floating(have) or pa.types.is_integer(have)))
        or (pa.types.is_timestamp(target) and pa.types.is_timestamp(have))
        or (pa.types.is_string(target) and (pa.types.is_large_string(have) or pa.types.is_dictionary(have)
                                            or (pa.types.is_integer(have) and name.endswith("_version"))))
    )
    if not ok:
        raise SchemaMismatch(f"column {name} has type {have}, expected {target}")
    try:
        if pa.types.is_dictionary(have):
            column = column.cast(have.value_type)
        return column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaMismatch(f"column {name} cannot be read as {target}: {exc}") from None


def unify(tables: list[pa.Table]) -> pa.Table:
    """Concatenate conformed tables; a parameter column whose type differs between families
    (``p_alpha`` a number in one, text in another) becomes text rather than failing the read."""
    types: dict[str, set[pa.DataType]] = {}
    for schema in {t.schema: None for t in tables}:  # records of one family share a few schemas
        for f in schema:
            if not pa.types.is_null(f.type):
                types.setdefault(f.name, set()).add(f.type)
    clash = {n for n, ts in types.items() if len(ts) > 1 and not all(pa.types.is_integer(x) or pa.types.is_floating(x) for x in ts)}
    if clash:
        tables = [_params_as_text(t, clash) for t in tables]
    return pa.concat_tables(tables, promote_options="permissive")


def _params_as_text(table: pa.Table, names: set[str]) -> pa.Table:
    for name in names & set(table.column_names):
        i = table.column_names.index(name)
        table = table.set_column(i, name, table.column(name).cast(pa.string()))
    return table


def portable_param(value: Any) -> Any:
    """A parameter value as stored in a record: an absolute path to a user's file becomes the
    path relative to the project (if inside it) or the file's name alone; what the file held is
    in ``data_fingerprint`` (its hash), so no record reveals where a user keeps their files."""
    if not isinstance(value, str) or not value or not (os.path.isabs(value) or value.startswith("~")):
        return value
    path = os.path.abspath(os.path.expanduser(value))
    root = str(ROOT)
    if path == root or path.startswith(root + os.sep):
        return PurePosixPath(*os.path.relpath(path, root).split(os.sep)).as_posix()
    return os.path.basename(path) or value

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
) -> pa.Table:
    """One row per metric; every row carries identity, params, timing and provenance."""
    ident = cell.identity
    task_params = {k: portable_param(v) for k, v in cell.task_params.items()}
    method_params = {k: portable_param(v) for k, v in cell.method_params.items()}
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
        **{f"tp_{k}": v for k, v in task_params.items()},
        **{f"p_{k}": v for k, v in method_params.items()},
        "params_json": canonical_json({"task": task_params, "method": method_params}),
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
        "code_sha": code_sha(registry.get_task(cell.task), registry.get_method(cell.method)),
    }
    rows = [
        {**common, "metric": name, "value": float(value), "higher_is_better": higher_is_better(name)}
        for name, value in sorted(result.metrics.items())
    ]
    table = pa.Table.from_pylist(rows)
    known = [(i, f) for i, f in enumerate(table.schema) if f.name in RECORD_SCHEMA.names]
    for i, f in known:  # pin the engine's own columns to the schema (a version 1 is text "1")
        table = table.set_column(i, f.name, _cast(f.name, table.column(i), RECORD_SCHEMA.field(f.name).type))
    return table


def non_finite_metrics(result: CellResult) -> list[str]:
    return [k for k, v in result.metrics.items() if not (isinstance(v, (int, float)) and math.isfinite(v))]


#: what makes two stored rows the same measurement, whatever their cell keys (a version bump or new
#: data re-keys a cell; the same cell may sit in two stores read as one)
IDENTITY = ("task", "method", "params_json", "seed", "scale", "metric")


def latest_per_cell(records: Any) -> Any:
    """``records`` (a pandas DataFrame of stored rows) with one row per :data:`IDENTITY`: the
    one that finished last. The one rule for every reader that shows one number per cell."""
    if not len(records) or "finished_at" not in records:
        return records
    order = records.sort_values("finished_at", kind="stable")
    return order.drop_duplicates(list(IDENTITY), keep="last").sort_index()
