"""Pivot stored records into a comparison table and render it as markdown, LaTeX or CSV.

Rows are methods (with their params where a grid varies), columns tasks, entries
``mean ± std (n)`` over seeds. The best entry of a column is bold only when its 95% interval
does not overlap the runner-up's. Published numbers declared by claims sit in extra columns.
"""

from __future__ import annotations

import json
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any, Callable

from harness.common.text import md_escape, mean_sd, one_line, terminal_safe, tex_escape
from harness.judge.stats import Summary, summarize
from harness.plan.contract import SCALE_ORDER
from harness.plan.metrics import higher_is_better
from harness.store.records import latest_per_cell


@dataclass
class Entry:
    summary: Summary
    bold: bool = False
    exact: bool = False  # an unseeded task's single value (a rank, a count): no std, no "(1)"
    integer: bool = False  # exact, and every value of its column is a whole number: no decimals


@dataclass
class Table:
    metric: str
    columns: list[str]
    rows: list[str]
    entries: dict[tuple[str, str], Entry]
    published: dict[str, "Published"] = field(default_factory=dict)  # label → the task/scale it describes and {method: value}
    scales: dict[str, str] = field(default_factory=dict)  # column (task) → the scale shown
    default_rows: dict[str, str] = field(default_factory=dict)  # row label → method, for rows at default params
    notes: list[str] = field(default_factory=list)


def _varying_label(name: str, params: dict[str, Any], varying: list[str]) -> str:
    inner = ",".join(f"{k}={params[k]}" for k in varying if k in params)
    return f"{name}({inner})" if inner else name


@dataclass
class Published:
    """Numbers an article published, and the one (task, scale, task params) whose protocol they describe."""

    task: str
    scale: str
    values: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)


def build_table(records: Any, metric: str, scale: str | None = None, published: dict[str, Published] | None = None) -> Table:
    """``records``: the store's DataFrame, already filtered to the tasks of interest."""
    df = records[records["metric"] == metric]
    df = latest_per_cell(df)  # a re-keyed cell (new version/data) supersedes its old record
    table = Table(metric=metric, columns=[], rows=[], entries={})
    if df.empty:
        return table
    params = df["params_json"].map(json.loads)
    df = df.assign(_mp=params.map(lambda p: p["method"]), _tp=params.map(lambda p: p["task"]))
    chosen_scale = {}
    for task, group in df.groupby("task", sort=False):
        present = set(group["scale"])
        chosen_scale[task] = scale if scale else next(s for s in SCALE_ORDER if s in present)
    df = df[[chosen_scale.get(t) == s for t, s in zip(df["task"], df["scale"])]]
    if df.empty:  # e.g. --scale full on a store with small-scale records only
        return table
    row_of = _labels(df, "method", "_mp")
    col_of = _labels(df, "task", "_tp")
    df = df.assign(_order=[json.dumps(sorted(p.items())) for p in df["_mp"]])
    higher = higher_is_better(metric)  # the registry's declaration, not what an old record stored
    groups: dict[tuple[str, str], list[float]] = {}
    for i, value in zip(df.index, df["value"]):
        groups.setdefault((row_of[i], col_of[i]), []).append(float(value))
    table.rows = list(dict.fromkeys(row_of[i] for i in df.sort_values(["method", "_order"]).index))
    table.default_rows = {row_of[i]: m for i, m, p in zip(df.index, df["method"], df["_mp"]) if p == _defaults(m)}
    table.columns = sorted(dict.fromkeys(col_of[i] for i in df.index))
    table.scales = {col_of[i]: s for i, s in zip(df.index, df["scale"])}
    shown = {(t, s, json.dumps(tp, sort_keys=True)) for t, s, tp in zip(df["task"], df["scale"], df["_tp"])}
    table.published = {label: p for label, p in (published or {}).items()
                       if any(t == p.task and s == p.scale and all(json.loads(tp).get(k) == v for k, v in p.params.items())
                              for t, s, tp in shown)}
    exact_cols = {col_of[i] for i, t in zip(df.index, df["task"]) if not _seeded(t)}
    fractional = {k[1] for k, v in groups.items() if any(not x.is_integer() for x in v)}
    table.entries = {k: Entry(summarize(v), exact=k[1] in exact_cols and len(v) == 1, integer=k[1] not in fractional)
                     for k, v in groups.items()}
    if higher is not None:
        for col in table.columns:
            _mark_best(table, col, higher)
    scales = sorted(set(chosen_scale.values()), key=SCALE_ORDER.index)
    exact = sorted(c for c in exact_cols if c in table.columns)
    how = ("one exact value per cell (unseeded)" if len(exact) == len(table.columns)
           else "mean ± sample std (n seeds)" + (f"; {', '.join(exact)}: one exact value (unseeded)" if exact else ""))
    direction = {True: "higher is better", False: "lower is better", None: "no better side"}[higher]
    table.notes.append(f"{metric} ({direction}), {how}, scale {', '.join(scales)}")
    return table


@lru_cache(maxsize=256)
def _seeded(task: str) -> bool:
    """Whether ``task``'s result depends on the seed (a task no longer registered counts as seeded)."""
    from harness.plan import registry

    try:
        return bool(registry.get_task(task).seeded)
    except Exception:  # noqa: BLE001 - an unknown stored task is shown the usual way
        return True


@lru_cache(maxsize=256)
def _defaults(method: str) -> dict[str, Any] | None:
    """The default params of ``method`` (asked once per stored row: memoised); None for a stored
    method that is not registered (removed from the code, or planted in a shared store)."""
    from harness.plan import registry

    from harness.plan.cells import default_params

    return default_params(registry.get_method(method)) if method in registry.methods() else None


def _labels(df: Any, name_col: str, params_col: str) -> dict[Any, str]:
    """Label each row by its name plus the params that vary among rows of that name."""
    labels: dict[Any, str] = {}
    for name, group in df.groupby(name_col, sort=False):
        dicts = list(group[params_col])
        keys = sorted({k for d in dicts for k in d})
        varying = [k for k in keys if len({json.dumps(d.get(k)) for d in dicts}) > 1]
        for i, d in zip(group.index, dicts):
            labels[i] = _varying_label(str(name), d, varying)
    return labels


def _mark_best(table: Table, col: str, higher: bool) -> None:
    ranked = sorted(
        ((e.summary.mean, r) for r in table.rows if (e := table.entries.get((r, col)))),
        reverse=higher,
    )
    if len(ranked) < 2:
        return
    best, second = table.entries[(ranked[0][1], col)].summary, table.entries[(ranked[1][1], col)].summary
    if best.n < 2 or second.n < 2:
        return
    separated = best.lo > second.hi if higher else best.hi < second.lo
    table.entries[(ranked[0][1], col)].bold = separated


def entry_text(entry: Entry | None) -> str:
    """A table cell as text, the same in markdown, LaTeX, CSV and the HTML report."""
    return _fmt(entry, ("", ""))


def _fmt(entry: Entry | None, bold: tuple[str, str]) -> str:
    if entry is None:
        return "—"
    s = entry.summary
    if entry.exact:  # a leaderboard rank is "16", not "16.0000 (1)"
        text = str(int(s.mean)) if entry.integer else f"{s.mean:.4f}"
        return f"{bold[0]}{text}{bold[1]}" if entry.bold else text
    text = mean_sd(s.mean, s.std, s.n)
    return f"{bold[0]}{text}{bold[1]}" if entry.bold else text


def _grid(table: Table, bold: tuple[str, str], escape: Callable[[str], str]) -> tuple[list[str], list[list[str]]]:
    headers = [escape(h) for h in ["method", *table.columns, *(f"published ({p.task}, {p.scale} protocol): {label}" for label, p in table.published.items())]]
    body = []
    for row in table.rows:
        method = table.default_rows.get(row)
        cells = [_fmt(table.entries.get((row, c)), bold) for c in table.columns]
        pubs = [f"{p.values[method]:.4f}" if method in p.values else "" for p in table.published.values()]
        body.append([escape(row), *(escape(c) if not c.startswith(bold[0]) else c for c in cells), *pubs])
    return headers, body


def render(table: Table, fmt: str = "md") -> str:
    from tabulate import tabulate

    if not table.rows:
        return f"(no records for metric {one_line(table.metric)})"
    if fmt == "csv":
        return to_csv(table)
    if fmt == "latex":
        headers, body = _grid(table, ("\\textbf{", "}"), tex_escape)
        body = [[c.replace("±", "$\\pm$") for c in row] for row in body]
        return tabulate(body, headers, tablefmt="latex_raw", disable_numparse=True) + "\n% " + one_line("; ".join(table.notes))
    headers, body = _grid(table, ("**", "**"), md_escape)
    notes = "\n".join(f"\n_{md_escape(n)}_" for n in table.notes)
    return tabulate(body, headers, tablefmt="github", disable_numparse=True) + "\n" + notes


def to_csv(table: Table) -> str:
    """Every entry, complete, quoted by the csv module (names may hold commas or quotes; control
    characters, which would drive a terminal, are shown escaped)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["method", "column", "metric", "mean", "std", "n", "ci_lo", "ci_hi", "best"])
    for (row, col), e in table.entries.items():
        s = e.summary
        writer.writerow([terminal_safe(row), terminal_safe(col), table.metric, f"{s.mean:.6g}", f"{s.std:.6g}", s.n, f"{s.lo:.6g}", f"{s.hi:.6g}", int(e.bold)])
    return out.getvalue().rstrip("\n")
