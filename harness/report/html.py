"""``harness report``: one self-contained HTML page of every family — claims, tables, figures.

The page is built from the store through the engine's own services (claims and verdicts,
tables, published columns), so it shows the same numbers as ``harness claims`` and ``harness
table``. It is meant to be opened offline or attached to a PR, hence:

* one file: CSS and JS inline, figures embedded as ``data:`` images (an SVG shown through
  ``<img>`` cannot run a script, and the ids of two matplotlib SVGs cannot collide);
* every string from a task, method, claim or user file goes through Jinja2's autoescape;
* deterministic: the same store gives the same bytes, apart from the generated-at line, so a
  diff of the page in a PR shows what changed.

:func:`build_report` computes (no printing), :func:`render` turns it into HTML, and
:func:`main_report` is the CLI verb.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.common.errors import UserError
from harness.common.files import ROOT
from harness.judge.claim_cells import sides

DEFAULT_OUT = ROOT / "results" / "report" / "index.html"
COMMITTED_STORE = ROOT / "results" / "store"  # the records behind the committed tables (read by default beside yours)
FIGURES = ROOT / "results" / "figures"
TEMPLATE = "report.html.j2"
GENERATED_PREFIX = "Generated at "  # the one line allowed to differ between two builds of one store

CELL_COLUMNS = ("git_sha", "git_dirty", "device", "wall_s")


@dataclass
class CellRow:
    """One stored cell behind a comparison, with where its number came from."""

    method: str
    seed: int
    scale: str
    value: str
    key: str
    git_sha: str
    dirty: str
    device: str
    wall_s: str


@dataclass
class EvidenceRow:
    task: str
    what: str
    verdict: str
    reason: str
    scale: str
    diff: str = ""
    interval: str = ""
    p: str = ""
    n: str = ""
    over: str = ""
    tolerance: str = ""
    value: str = ""
    cells: list[CellRow] = field(default_factory=list)


@dataclass
class ClaimRow:
    id: str
    family: str
    title: str
    url: str
    date: str
    sentence: str
    verdict: str
    scale: str  # the scales the verdict was decided at, "/"-joined; "none" when nothing decided it
    reason: str
    evidence: list[EvidenceRow]
    commands: list[str]
    published: str = ""  # "label: method value, …" as the article printed them
    note: str = ""
    protocol: str = ""  # what the cells behind the verdict are (backbone, pretraining, data, …)
    side: str = "article"  # "paper": a discussed paper's sentence, whose refutation is the article's point


@dataclass
class TableCell:
    text: str
    sort: str  # a number as text for numeric sorting, "" for an empty cell
    bold: bool = False


@dataclass
class HtmlTable:
    metric: str
    headers: list[str]
    rows: list[tuple[str, list[TableCell]]]
    notes: list[str]


@dataclass
class Figure:
    name: str
    caption: str
    data_uri: str


@dataclass
class FamilySection:
    name: str
    tables: list[HtmlTable]
    figures: list[Figure]


@dataclass
class Report:
    store: str
    n_records: int
    git_sha: str
    claims: list[ClaimRow]
    families: list[FamilySection]
    scales: list[str]  # filter choices
    verdicts: list[str]


def _num(x: float | None, fmt: str = "{:.4f}") -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


# -- claims ------------------------------------------------------------------------------------
def _cells_for(row_sides: list[Any], scale: str, metric: str, by_key: dict[str, Any], seeds: list[int]) -> list[CellRow]:
    out = []
    for side in row_sides:
        spec = side.spec
        for seed in seeds:
            key = side.cell(seed, scale).key
            row = by_key.get((key, spec.metric or metric))
            if row is None:
                continue
            out.append(CellRow(spec.label(), seed, scale, _num(row["value"], "{:.6g}"), key[:12], str(row["git_sha"] or "unknown")[:12],
                               "yes" if bool(row["git_dirty"]) else "no", str(row["device"]), _num(row["wall_s"], "{:.2f} s")))
    return out


def claim_rows(verdicts: list[Any], records: Any) -> list[ClaimRow]:
    """Every claim with its verdict, its protocol, its comparisons and the stored cells behind each one."""
    from harness.report.verdict_text import protocol_text

    by_key: dict[tuple[str, str], Any] = {}
    seeds: dict[tuple[str, str], list[int]] = {}
    if len(records):
        for row in records[["cell_key", "metric", "value", "task", "scale", "seed", *CELL_COLUMNS]].to_dict("records"):
            by_key[(row["cell_key"], row["metric"])] = row
            seeds.setdefault((row["task"], row["scale"]), []).append(int(row["seed"]))
    seeds = {k: sorted(set(v)) for k, v in seeds.items()}
    rows = []
    for v in verdicts:
        c = v.claim
        evidence = []
        for e, specs in zip(v.evidence, sides(c)):
            metric = c.metric or (c.checks[0].metric if c.checks else "")
            if c.kind == "value":
                metric = next((k.metric for k in c.checks if k.label() == e.what), metric)
            row = EvidenceRow(e.task, e.what, e.verdict, e.reason, e.scale, value=_num(e.value, "{:.6g}"),
                              p=_num(e.p_adjusted, "{:.3g}"), tolerance=_num(e.tolerance, "{:g}"))
            if e.stats is not None:
                s = e.stats
                row.diff, row.interval, row.n, row.over = f"{s.diff:+.4f}", f"[{s.lo:+.4f}, {s.hi:+.4f}]", str(s.n), s.over
            if e.scale:
                row.cells = _cells_for(specs, e.scale, metric, by_key, seeds.get((e.task, e.scale), []))
            evidence.append(row)
        published = ", ".join(f"{k} {val:g}" for k, val in c.published.items())
        rows.append(ClaimRow(c.id, c.family, c.title, c.url, c.date, c.sentence, v.verdict, "/".join(v.scales) or "none",
                             v.reason, evidence, list(v.commands),
                             f"{c.published_label or 'article'}: {published}" if published else "", c.note,
                             protocol_text(c), c.side))
    return rows


# -- tables and figures ------------------------------------------------------------------------
def html_table(table: Any) -> HtmlTable:
    """A :class:`harness.report.tables.Table` as header and cell texts, each with a sort key."""
    from harness.report.tables import entry_text

    headers = ["method", *(f"{c} ({table.scales.get(c, '')})" for c in table.columns),
               *(f"published: {label} ({p.task}, {p.scale} protocol)" for label, p in table.published.items())]
    rows = []
    for r in table.rows:
        cells = []
        for col in table.columns:
            e = table.entries.get((r, col))
            if e is None:
                cells.append(TableCell("—", ""))
                continue
            cells.append(TableCell(entry_text(e), repr(float(e.summary.mean)), e.bold))
        method = table.default_rows.get(r)
        for p in table.published.values():
            value = p.values.get(method) if method else None
            cells.append(TableCell(f"{value:.4f}" if value is not None else "", repr(float(value)) if value is not None else ""))
        rows.append((r, cells))
    return HtmlTable(table.metric, headers, rows, list(table.notes))


def family_tables(family: str, records: Any, claims: list[Any]) -> list[HtmlTable]:
    """The family's tables, one per metric its tasks show, as ``harness table`` builds them."""
    from harness.plan import registry
    from harness.report.page import published_columns
    from harness.report.tables import build_table

    classes = [t for t in registry.tasks().values() if t.family == family]
    metrics = list(dict.fromkeys(m for t in classes for m in t.shown_metrics()))
    mine = records[records["family"] == family] if len(records) and "family" in records else records.iloc[0:0]
    out = []
    for metric in metrics:
        table = build_table(mine, metric, published=published_columns(claims, metric))
        if table.rows:
            out.append(html_table(table))
    return out


def _caption(path: Path, family: str, records: Any, drawn: dict[str, list[int]] | None = None) -> str:
    """What the figure plots, of which task (``<family>_<task>_<kind>.svg``) or of the whole
    family (``<family>_<kind>.svg``), and the scale and seeds of the cells it was drawn from: its
    entry in ``figures.json`` (``drawn``: "task · method · scale" → seeds), else this report's
    records of the task or family."""
    from harness.plan import registry
    from harness.plan.contract import SCALE_ORDER

    stem = path.stem[len(family) + 1:]
    names = sorted((t for t, cls in registry.tasks().items() if cls.family == family), key=len, reverse=True)
    task = next((t for t in names if stem == t or stem.startswith(t + "_")), "")
    kind = stem[len(task) + 1:] if task else stem
    what = registry.figure_captions(family).get(kind, kind.replace("_", " "))
    subject = task or f"every {family} task"
    if drawn:
        scales = [sc for sc in SCALE_ORDER if sc in {group.rsplit(" · ", 1)[-1] for group in drawn}]
        return (f"{subject}: {what}. Drawn by `harness plot` from {len(drawn)} (task, method) groups at scale "
                f"{'/'.join(scales)}, {_seed_range([len(seeds) for seeds in drawn.values()])} seed(s) each.")
    if len(records):
        mine = records[records["task"] == task] if task else records[records["family"] == family]
    else:
        mine = records
    if not len(mine):
        return f"{subject}: {what}. Drawn by `harness plot` from the store it read; this report's store holds no records of {task or family}."
    scale = next(s for s in SCALE_ORDER if s in set(mine["scale"]))
    per_group = mine[mine["scale"] == scale].groupby(["task", "method", "params_json"])["seed"].nunique()
    return (f"{subject}: {what}. Drawn by `harness plot` from the store it read; this report's records of "
            f"{task or family}: scale {scale}, {_seed_range([int(n) for n in per_group])} seed(s) per method and setting.")


def _seed_range(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return f"n = {low}" if low == high else f"n = {low}–{high}"


def family_figures(family: str, records: Any, folder: Path = FIGURES) -> list[Figure]:
    """``<folder>/<family>_*.svg``, embedded as data URIs, sorted by name."""
    from harness.report.figures import read_manifest

    manifest = read_manifest(folder)
    out = []
    for path in sorted(folder.glob(f"{family}_*.svg")):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        drawn = manifest.get(path.stem, {}).get("cells")
        out.append(Figure(path.name, _caption(path, family, records, drawn), f"data:image/svg+xml;base64,{data}"))
    return out


# -- stores ------------------------------------------------------------------------------------
def open_stores(store_dirs: list[str | Path] | str | Path | None) -> tuple[Any, str]:
    """The store(s) to read and how the page names them (relative to the project when inside it)."""
    from harness.store.store import Store, default_store

    given = [store_dirs] if isinstance(store_dirs, (str, Path)) else list(store_dirs or [])
    roots = [Path(d) for d in given] or [default_store(), *([COMMITTED_STORE] if COMMITTED_STORE.is_dir() else [])]
    names = []
    for root in roots:
        if given and not root.is_dir():  # a named store that is not there is a typo; the default may be absent (a fresh clone)
            raise UserError(f"no store at {root} (run `harness run … --store {root}` first, or give --store)")
        shown = root.resolve()
        names.append(str(shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown))  # a committed page names no home folder
    stores = [Store(r) for r in roots]
    from harness.store.union import StoreUnion

    return (stores[0] if len(stores) == 1 else StoreUnion(stores)), ", ".join(names)


# -- the whole report --------------------------------------------------------------------------
def build_report(store_dirs: list[str | Path] | str | Path | None = None, figures: Path = FIGURES) -> Report:
    """Everything the page shows, computed from the store(s) at ``store_dirs`` (default the project's)."""
    from harness.plan import registry
    from harness.judge.claims import all_claims
    from harness.store.provenance import provenance
    from harness.judge.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REFUTED, SUPPORTED, verdicts_from_store
    from harness.plan.contract import SCALE_ORDER

    store, names = open_stores(store_dirs)
    records = store.load()
    claims = all_claims()
    verdicts = verdicts_from_store(claims, store)
    claim_list = claim_rows(verdicts, records)
    families = [FamilySection(f, family_tables(f, records, claims), family_figures(f, records, figures)) for f in registry.families()]
    scales = sorted({s for c in claim_list for s in c.scale.split("/")}, key=lambda s: (SCALE_ORDER + ("none",)).index(s))
    n_records = int(records["cell_key"].nunique()) if len(records) else 0
    prov = provenance()
    sha = f"{prov['git_sha']}{' (with uncommitted changes to tracked files)' if prov['git_dirty'] else ''}"
    return Report(names, n_records, sha, claim_list, families, scales,
                  [SUPPORTED, REFUTED, NOT_REPRODUCED, INCONCLUSIVE])


def render(report: Report, generated_at: str | None = None) -> str:
    """The HTML page; everything but ``generated_at`` is a function of ``report``."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    when = generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return env.get_template(TEMPLATE).render(r=report, generated=GENERATED_PREFIX + when,
                                             family_names=[f.name for f in report.families])


def write_report(out: Path, store_dir: list[str | Path] | str | Path | None = None, figures: Path = FIGURES) -> tuple[Path, int, float]:
    """Build and write the page; returns (path, bytes, seconds)."""
    t0 = time.monotonic()
    html = render(build_report(store_dir, figures))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out, len(html.encode("utf-8")), time.monotonic() - t0


def page_counts(report: Report) -> dict[str, int]:
    """Rows the page must show: what the browser test counts in the DOM."""
    return {"claims": len(report.claims), "table_rows": sum(len(t.rows) for f in report.families for t in f.tables)}
