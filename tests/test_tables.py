"""Tables: mean ± std (n), bold only when separated, published numbers, every format."""

from __future__ import annotations

import io

import pandas as pd

from harness.plan.cells import Cell, canonical_json
from harness.report.tables import Published, build_table, render


def _records(series: dict[tuple[str, float], list[float]]) -> pd.DataFrame:
    rows = []
    for (task_offset, value), scores in series.items():
        for seed, score in enumerate(scores):
            cell = Cell.build("fake-task", "const", seed, "small", {"offset": task_offset}, {"value": value})
            rows.append({"cell_key": cell.key, "task": "fake-task", "method": "const", "scale": "small", "seed": seed,
                         "metric": "score", "value": score, "higher_is_better": True,
                         "params_json": canonical_json({"task": cell.task_params, "method": cell.method_params})})
    return pd.DataFrame(rows)


def test_best_is_bold_only_when_separated(fake_family: list[str]) -> None:
    apart = build_table(_records({(0.0, 0.5): [0.90, 0.91, 0.92], (0.0, 0.7): [0.70, 0.71, 0.72]}), "score")
    close = build_table(_records({(0.0, 0.5): [0.90, 0.80, 0.95], (0.0, 0.7): [0.88, 0.85, 0.90]}), "score")
    assert [e.bold for e in apart.entries.values()].count(True) == 1
    assert not any(e.bold for e in close.entries.values())
    text = render(apart, "md")
    assert "**0.9100 ± 0.0100 (3)**" in text and "const(value=0.5)" in text


def test_published_column_and_formats(fake_family: list[str]) -> None:
    records = _records({(0.0, 0.5): [0.9, 0.91, 0.92]})
    scale = records["scale"].iloc[0]
    table = build_table(records, "score", published={"paper": Published("fake-task", scale, {"const": 0.95})})
    assert f"published (fake-task, {scale} protocol): paper" in render(table, "md") and "0.9500" in render(table, "md")
    other = "full" if scale != "full" else "small"  # another protocol's numbers are not shown beside ours
    assert build_table(records, "score", published={"paper": Published("fake-task", other, {"const": 0.95})}).published == {}
    assert build_table(records, "score", published={"paper": Published("digits-lt", scale, {"const": 0.95})}).published == {}
    assert "\\pm" in render(table, "latex")
    csv = pd.read_csv(io.StringIO(render(table, "csv")))
    assert csv.loc[0, "n"] == 3 and abs(csv.loc[0, "mean"] - 0.91) < 1e-9


def test_task_param_grid_becomes_columns(fake_family: list[str]) -> None:
    table = build_table(_records({(0.0, 0.5): [0.9, 0.9], (1.0, 0.5): [1.9, 1.9]}), "score")
    assert table.columns == ["fake-task(offset=0.0)", "fake-task(offset=1.0)"]


def test_a_regenerated_page_must_keep_the_committed_rows() -> None:
    from harness.report.page import lost_rows

    old = "## accuracy\n\n| method | a |\n|---|---|\n| erm | 1 |\n| focal | 2 |\n\n## Claims\n"
    new = "## accuracy\n\n| method | a |\n|---|---|\n| erm | 1 |\n"
    assert lost_rows(old, new) == ["accuracy: focal"]
    assert lost_rows(new, old) == []


def test_a_column_below_its_deciding_scale_is_captioned_as_indications() -> None:
    """CIFAR-10-LT's claims decide at full only: its small-scale column in the committed page must
    say so at the table, not only in the verdicts further down."""
    from harness.judge.claims import all_claims
    from harness.common.files import ROOT
    from harness.plan.contract import PageView
    from harness.report.page import family_page
    from harness.store.store import Store

    records = Store(ROOT / "results" / "store").load(["cifar10-lt", "digits-lt"])
    page = family_page(PageView("longtail", records, all_claims("longtail"), [], ROOT / "results" / "figures"))
    assert "cifar10-lt at scale small: indications only; its claims decide at scale full" in page
    assert "digits-lt at scale small: indications" not in page


def test_published_numbers_stand_only_beside_their_own_protocol() -> None:
    """Menon et al.'s CIFAR numbers describe the la_schedule protocol: a full-scale table of the
    default (LDAM-DRW) protocol must not show them; one of la_schedule cells does."""
    import json

    import pandas as pd

    from harness.report.tables import Published, build_table

    def records(protocol: str) -> pd.DataFrame:
        params = json.dumps({"method": {}, "task": {"protocol": protocol, "rho": 100.0}})
        return pd.DataFrame([{"task": "cifar10-lt", "method": m, "params_json": params, "seed": s, "scale": "full",
                              "metric": "balanced_accuracy", "value": 0.7 + 0.01 * s, "finished_at": pd.Timestamp("2026-01-01")}
                             for m in ("erm", "logit_adjust") for s in range(3)])

    published = {"Menon et al.": Published("cifar10-lt", "full", {"erm": 0.7136}, {"protocol": "la_schedule"})}
    assert build_table(records("ldam"), "balanced_accuracy", published=published).published == {}
    assert list(build_table(records("la_schedule"), "balanced_accuracy", published=published).published) == ["Menon et al."]
