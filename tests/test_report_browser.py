"""The HTML report in a real browser: headless Chromium (the Debian package) driven by
Playwright's Python package. The page must load with no console error and no network request,
show as many claim and table rows as the store holds, sort, filter, and show a method named
``<script>…`` as text.

``python tests/test_report_browser.py [page.html] [shot.png]`` saves the screenshot of the
committed page (results/report/) that the README shows.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is absent (pip install playwright)")

sys.path.insert(0, str(Path(__file__).parent))
from test_report import HOSTILE, expected_counts, smoke_report


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: Any) -> tuple[Path, dict[str, int]]:
    root, _, html = smoke_report()
    out = tmp_path_factory.mktemp("report") / "index.html"
    out.write_text(html, encoding="utf-8")
    return out, expected_counts(root)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def opened(browser: Any, page_file: tuple[Path, dict[str, int]]) -> Iterator[tuple[Any, dict[str, list[str]], dict[str, int]]]:
    """The page, loaded once (the tests leave its filters as they found them), with what it
    logged and requested and every dialog it opened."""
    path, counts = page_file
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list[str]] = {"errors": [], "requests": [], "dialogs": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    yield page, seen, counts
    page.close()


def _column(page: Any, table: str, index: int) -> list[str]:
    return page.eval_on_selector(table, f"t => Array.from(t.tBodies[0].rows, r => r.cells[{index}].getAttribute('data-sort'))")


def test_loads_offline_without_errors(opened: Any, tmp_path: Path) -> None:
    page, seen, _ = opened
    page.screenshot(path=str(tmp_path / "report.png"))
    assert seen["errors"] == []
    assert seen["requests"] == [page.url]  # the file itself; figures are data: images
    assert page.eval_on_selector_all("img", "imgs => imgs.every(i => i.src.startsWith('data:'))")


def test_row_counts_equal_the_store(opened: Any) -> None:
    page, _, counts = opened
    assert page.locator("#claims-table > tbody > tr.claim-row").count() == counts["claims"]
    assert page.locator("tr.result-row").count() == counts["table_rows"]
    assert page.inner_text("#n-records") == f"{counts['records']} cells"


def test_sorting_by_a_number_and_by_a_name(opened: Any) -> None:
    page, _, _ = opened
    tables = page.locator("table.result-table")
    spread = [len({v for v in _column(page, f"xpath=(//table[contains(@class, 'result-table')])[{i + 1}]", 1) if v})
              for i in range(tables.count())]
    target = spread.index(max(spread))  # the table whose first task column has the most distinct values
    selector = f"xpath=(//table[contains(@class, 'result-table')])[{target + 1}]"
    header = tables.nth(target).locator("thead th").nth(1)
    header.click()
    up = _column(page, selector, 1)
    numbers = [float(v) for v in up if v]
    assert numbers == sorted(numbers) and len(set(numbers)) > 1 and header.get_attribute("aria-sort") == "ascending"
    assert up[len(numbers):] == [""] * (len(up) - len(numbers))  # empty cells last
    header.click()
    assert [float(v) for v in _column(page, selector, 1) if v] == sorted(numbers, reverse=True)
    tables.nth(target).locator("thead th").nth(0).click()
    names = tables.nth(target).locator("tbody tr td:first-child").all_inner_texts()
    assert names == sorted(names, key=str.lower) and names != list(reversed(names))


def test_filters(opened: Any) -> None:
    page, _, counts = opened
    rows = "#claims-table > tbody > tr.claim-row"

    def visible() -> list[dict[str, str]]:
        return page.eval_on_selector_all(rows, "rs => rs.filter(r => !r.hidden).map(r => ({...r.dataset}))")

    every = visible()
    assert len(every) == counts["claims"]
    for name, attr in (("verdict", "verdict"), ("family", "family")):
        for value in sorted({r[attr] for r in every}):
            page.select_option(f"#filter-{name}", value)
            shown = visible()
            assert shown and len(shown) == sum(r[attr] == value for r in every) and all(r[attr] == value for r in shown)
            assert page.inner_text("#claims-shown") == f"{len(shown)} of {counts['claims']} claims"
        page.select_option(f"#filter-{name}", "")
    page.select_option("#filter-scale", "smoke")
    page.select_option("#filter-family", "longtail")  # filters combine: nothing of longtail was decided at smoke
    assert visible() == [r for r in every if "smoke" in r["scale"].split("/") and r["family"] == "longtail"]
    page.select_option("#filter-family", "")
    assert len(visible()) == sum("smoke" in r["scale"].split("/") for r in every) > 0


def test_script_in_a_method_name_is_text(opened: Any) -> None:
    page, seen, _ = opened
    names = page.locator("tr.result-row td:first-child", has_text=HOSTILE).all_inner_texts()
    assert names and set(names) == {HOSTILE}  # one row per leaderboard metric table, the name as text
    assert page.evaluate("document.scripts.length") == 1 and seen["dialogs"] == []


def test_cell_provenance_on_demand(opened: Any) -> None:
    page, _, _ = opened
    first = page.locator("details.comparisons").first
    table = first.locator("details.cells table").first
    assert not table.is_visible()
    first.locator("summary").first.click()
    first.locator("details.cells summary").first.click()
    assert table.is_visible() and "git sha" in table.locator("thead").inner_text()


def screenshot(html: Path, png: Path) -> None:
    """The top of ``html`` as ``png`` (1280 px wide), for the README."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = b.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(html.resolve().as_uri())
        page.screenshot(path=str(png))
        b.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "report" / "index.html"
    screenshot(target, Path(sys.argv[2]) if len(sys.argv) > 2 else target.with_name("screenshot.png"))
