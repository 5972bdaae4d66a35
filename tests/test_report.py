"""The HTML report (harness/html_report.py): escaping, determinism, and that the page holds as
many claim and table rows as the store and the claim files say.

The store is built once per session from real smoke cells (the leaderboard family: a few
seconds) plus one cell of a method whose name is markup, which a user plugin could register;
tests/test_report_browser.py opens the same store's page in Chromium.
"""

from __future__ import annotations

import atexit
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from harness.plan import registry
from harness.common.errors import UserError
from harness.report.html import (
    GENERATED_PREFIX,
    ClaimRow,
    EvidenceRow,
    FamilySection,
    Figure,
    HtmlTable,
    Report,
    TableCell,
    build_report,
    family_figures,
    page_counts,
    render,
)

HOSTILE = '<script>alert("x")</script>'
SMOKE = ["--tasks", "glue,superglue", "--methods", "leaderboard", "--scale", "smoke", "--seeds", "0", "--no-report"]


def plant_hostile_record(root: Path) -> None:
    """A record whose method name is markup, planted in the store as a hostile writer of a shared
    store could (registered names are checked; what a store holds is not ours to trust). It is a
    copy of an arithmetic glue cell under another key, with a valid content hash."""
    import hashlib

    import pyarrow.compute as pc

    from harness.common.files import atomic_write_bytes
    from harness.store.codec import encode_record
    from harness.store.store import Store

    table = Store(root).load_table(["glue"])
    table = table.filter(pc.equal(table.column("method"), "arithmetic"))
    table = table.filter(pc.equal(table.column("cell_key"), table.column("cell_key")[0]))
    key = hashlib.sha256(HOSTILE.encode()).hexdigest()
    for name, value in (("method", HOSTILE), ("cell_key", key)):
        table = table.set_column(table.column_names.index(name), name, pa.array([value] * table.num_rows))
    atomic_write_bytes(root / "records" / "glue" / f"{key}.parquet", encode_record(table))


@lru_cache(maxsize=1)
def smoke_store() -> Path:
    """Leaderboard smoke cells run by the CLI into a throw-away store, plus the hostile cell."""

    root = Path(tempfile.mkdtemp(prefix="harness-report-")) / "store"
    atexit.register(shutil.rmtree, root.parent, True)
    harness = shutil.which("harness") or sys.exit("the harness command is not installed (pip install -e .)")
    done = subprocess.run([harness, "run", *SMOKE, "--store", str(root)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    plant_hostile_record(root)
    return root


def expected_counts(root: Path) -> dict[str, int]:
    """Claim rows and table rows counted from the claim files and the raw records, without the
    report's code: per family and shown metric, the distinct (method, method params) at the
    largest scale stored for each task."""
    from harness.judge.claims import all_claims
    from harness.store.store import Store
    from harness.plan.contract import SCALE_ORDER

    records = Store(root).load()
    rows = 0
    for family in registry.families():
        metrics = dict.fromkeys(m for t in registry.tasks().values() if t.family == family for m in t.shown_metrics())
        mine = records[records["family"] == family]
        for metric in metrics:
            m = mine[mine["metric"] == metric]
            if m.empty:
                continue
            top = {t: next(s for s in SCALE_ORDER if s in set(g["scale"])) for t, g in m.groupby("task")}
            m = m[[top[t] == s for t, s in zip(m["task"], m["scale"])]]
            rows += len({(meth, json.dumps(json.loads(p)["method"], sort_keys=True)) for meth, p in zip(m["method"], m["params_json"])})
    return {"claims": len(all_claims()), "table_rows": rows, "records": int(records["cell_key"].nunique())}


@lru_cache(maxsize=1)
def smoke_report() -> tuple[Path, Report, str]:
    """The smoke store, its report and its page (shared with the browser test)."""
    root = smoke_store()
    report = build_report(root)
    return root, report, render(report, "2000-01-01 00:00:00 UTC")


@pytest.fixture(scope="module")
def built() -> tuple[Path, Report, str]:
    return smoke_report()


def test_rows_match_store(built: tuple[Path, Report, str]) -> None:
    root, report, html = built
    want = expected_counts(root)
    assert want["table_rows"] > 5 and want["claims"] > 5
    assert page_counts(report) == {"claims": want["claims"], "table_rows": want["table_rows"]}
    assert html.count('<tr class="claim-row"') == want["claims"]
    assert html.count('<tr class="result-row"') == want["table_rows"]
    assert report.n_records == want["records"] and f">{want['records']} cells<" in html


def test_markup_in_a_stored_name_is_text(built: tuple[Path, Report, str]) -> None:
    _, report, html = built
    names = [name for f in report.families for t in f.tables for name, _ in t.rows]
    assert HOSTILE in names  # the stored cell made it into a table row …
    assert HOSTILE not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html  # … as text
    assert html.count("<script") == 1  # only the page's own script


def test_escaping_of_every_user_string() -> None:
    bad = "<img src=x onerror=alert(1)>"
    evidence = EvidenceRow(bad, bad, "supported", bad, "small")
    claim = ClaimRow(bad, bad, bad, "javascript:alert(1)", bad, bad, "inconclusive", "small", bad, [evidence], [bad], bad, bad)
    table = HtmlTable(bad, ["method", bad], [(bad, [TableCell(bad, "1.0")])], [bad])
    report = Report(bad, 1, bad, [claim], [FamilySection(bad, [table], [Figure(bad, bad, "data:image/svg+xml;base64,")])], ["small"], ["supported"])
    html = render(report, "now")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html  # a claim URL that is not http(s) is shown, not linked


def test_table_cells_published_columns_and_sort_keys() -> None:
    from harness.report.html import html_table
    from harness.judge.stats import summarize
    from harness.report.tables import Entry, Published, Table

    table = Table("acc", ["t1", "t2"], ["a", "b(x=1)"], {("a", "t1"): Entry(summarize([0.5, 0.7]), bold=True),
                                                         ("b(x=1)", "t1"): Entry(summarize([0.25])),
                                                         ("b(x=1)", "t2"): Entry(summarize([0.1, 0.2, 0.3]))},
                  published={"paper": Published("t1", "full", {"a": 0.61})}, scales={"t1": "full", "t2": "small"},
                  default_rows={"a": "a"})
    out = html_table(table)
    assert out.headers == ["method", "t1 (full)", "t2 (small)", "published: paper (t1, full protocol)"]
    (a, cells_a), (b, cells_b) = out.rows
    assert (a, [c.text for c in cells_a]) == ("a", ["0.6000 ± 0.1414 (2)", "—", "0.6100"])
    assert cells_a[0].bold and float(cells_a[0].sort) == 0.6 and cells_a[1].sort == "" and float(cells_a[2].sort) == 0.61
    assert (b, [c.text for c in cells_b]) == ("b(x=1)", ["0.2500 (1)", "0.2000 ± 0.1000 (3)", ""])  # not at default params: no published number


def test_same_store_same_bytes(built: tuple[Path, Report, str]) -> None:
    """Only the generated-at line depends on the clock (a rebuild from the store: test_the_verb_writes_the_page)."""
    _, report, html = built
    assert render(report, "2000-01-01 00:00:00 UTC") == html
    later = render(report)
    differ = [(a, b) for a, b in zip(html.splitlines(), later.splitlines()) if a != b]
    assert len(html.splitlines()) == len(later.splitlines()) and len(differ) == 1 and GENERATED_PREFIX in differ[0][1]


def test_verdict_and_comparisons_shown(built: tuple[Path, Report, str]) -> None:
    from harness.judge.claims import all_claims
    from harness.store.store import Store
    from harness.judge.verdicts import verdicts_from_store

    root, report, html = built
    verdicts = {v.claim.id: v for v in verdicts_from_store(all_claims(), Store(root))}
    for row in report.claims:
        v = verdicts[row.id]
        assert row.verdict == v.verdict and len(row.evidence) == len(v.evidence)
        assert f'data-verdict="{v.verdict}"' in html
    decided = [e for c in report.claims for e in c.evidence if e.scale == "smoke" and e.verdict in ("supported", "refuted")]
    assert decided and all(e.cells for e in decided)  # each decided comparison lists the cells behind it
    cell = decided[0].cells[0]
    assert re.fullmatch(r"[0-9a-f]{12}", cell.git_sha) and cell.device == "cpu" and cell.dirty in ("yes", "no")


def test_figures_inline_with_scale_and_n(built: tuple[Path, Report, str], tmp_path: Path) -> None:
    from harness.store.store import Store

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>'
    (tmp_path / "leaderboard_glue_bump.svg").write_bytes(svg)
    (tmp_path / "leaderboard_kendall_tau.svg").write_bytes(svg)  # a figure of the whole family
    (tmp_path / "longtail_glue_bump.svg").write_bytes(svg)  # another family's figure
    (tmp_path / "ner_f1_vs_speed.svg").write_bytes(svg)
    records = Store(built[0]).load()
    figures = family_figures("leaderboard", records, tmp_path)
    assert [f.name for f in figures] == ["leaderboard_glue_bump.svg", "leaderboard_kendall_tau.svg"]
    assert base64.b64decode(figures[0].data_uri.split(",", 1)[1]) == svg
    assert figures[0].caption.startswith("glue: ranks") and "records of glue: scale smoke, n = 1 seed" in figures[0].caption
    assert figures[1].caption.startswith("every leaderboard task: kendall tau.") and "of leaderboard: scale smoke" in figures[1].caption
    (ner,) = family_figures("ner", records, tmp_path)
    assert "F1 against training speed" in ner.caption and "holds no records of ner" in ner.caption


def test_several_stores_read_as_one(built: tuple[Path, Report, str], tmp_path: Path) -> None:
    from harness.report.html import open_stores
    from harness.store.union import StoreUnion
    from harness.store.store import Store

    root = built[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    union, names = open_stores([root, empty, root])
    assert isinstance(union, StoreUnion) and names.count(str(root)) == 2
    alone = Store(root).load()
    both = union.load()  # the same cells twice: counted once
    assert len(both) == len(alone) and set(both["cell_key"]) == set(alone["cell_key"])
    assert list(union.load(["glue"])["task"].unique()) == ["glue"]


def test_the_verb_writes_the_page(built: tuple[Path, Report, str], tmp_path: Path, capsys: Any) -> None:
    import argparse

    from harness.cli.report import cmd_report as main_report, configure_report

    parser = argparse.ArgumentParser(prog="harness")
    configure_report(parser.add_subparsers(dest="verb").add_parser("report"))
    out = tmp_path / "sub" / "page.html"
    args = parser.parse_args(["report", "--store", str(built[0]), "--out", str(out)])
    assert main_report(args) == 0
    size = out.stat().st_size
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \({size / 1024:.0f} KiB\) in [0-9.]+ s\n", capsys.readouterr().out)
    page = out.read_text(encoding="utf-8")  # rebuilt from the same store: the same bytes but the generated-at line
    assert [l for l in page.splitlines() if GENERATED_PREFIX not in l] == [l for l in built[2].splitlines() if GENERATED_PREFIX not in l]
    assert len(page.splitlines()) == len(built[2].splitlines())


def test_missing_store_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no store at"):
        build_report(tmp_path / "absent")
    with pytest.raises(UserError, match="no store at"):
        build_report([tmp_path, tmp_path / "absent"])


def test_fresh_clone_without_a_store(tmp_path: Path, monkeypatch: Any) -> None:
    """No store yet (results/runs is not committed): every claim is listed as undecided, the
    committed figures still show, and no table is invented."""
    from harness.judge.claims import all_claims

    import harness.report.html as html_report

    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "never-created"))
    monkeypatch.setattr(html_report, "COMMITTED_STORE", tmp_path / "no-committed-records")
    report = build_report(figures=tmp_path)
    assert report.n_records == 0 and len(report.claims) == len(all_claims())
    assert {c.verdict for c in report.claims} == {"inconclusive"} and {c.scale for c in report.claims} == {"none"}
    assert not any(f.tables for f in report.families) and not (tmp_path / "never-created").exists()


def test_a_fresh_clone_reads_the_committed_records(tmp_path: Path, monkeypatch: Any) -> None:
    """With no local store, the default report reads results/store: every family has tables."""
    import harness.report.html as html_report

    if not html_report.COMMITTED_STORE.is_dir():
        pytest.skip("no committed records in this checkout")
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "never-created"))
    report = build_report(figures=tmp_path)
    assert report.n_records > 0 and all(f.tables for f in report.families)
    assert "results/store" in report.store and not (tmp_path / "never-created").exists()
    # every verdict has its column in the summary (a 'not reproduced' claim is not lost from the
    # counts), and every claim row says what it tested and, for a paper's sentence, whose it is
    assert {c.verdict for c in report.claims} <= set(report.verdicts)
    assert "not reproduced" in {c.verdict for c in report.claims}
    from harness.common.files import ROOT
    from harness.judge.claims import all_claims

    ours = {c.id for c in all_claims() if Path(c.source).resolve().is_relative_to(ROOT / "tasks")}  # not a test's plugin family
    assert ours and all(c.protocol for c in report.claims if c.id in ours)
    assert {c.side for c in report.claims} == {"article", "paper"}


def test_a_figure_caption_describes_the_cells_it_was_drawn_from(built: tuple[Path, Report, str], tmp_path: Path) -> None:
    """The caption reads the figure's own entry in figures.json (what `harness plot` drew), not
    every record of its family: a family with two protocols must not caption a one-protocol
    figure with the other's seeds."""
    from harness.report.figures import write_manifest
    from harness.store.store import Store

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    (tmp_path / "leaderboard_glue_bump.svg").write_bytes(svg)
    write_manifest(tmp_path, {"leaderboard_glue_bump": {"family": "leaderboard", "cells": {
        "glue · official · small": [0, 1, 2], "glue · geometric · small": [0, 1, 2, 3]}}})
    (figure,) = family_figures("leaderboard", Store(built[0]).load(), tmp_path)
    assert "from 2 (task, method) groups at scale small, n = 3–4 seed(s) each" in figure.caption
