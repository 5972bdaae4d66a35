"""--seeds auto: the seeds a claim needs come from the seed variance stored, cheapest claims
first within the budget; what does not fit is named, never silently dropped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.judge.claims import claim_from_dict
from harness.judge.power import affordable, needs
from harness.plan.cells import Cell
from harness.store.store import Store

BASE = dict(title="t", url="https://kexue.fm/archives/0", date="2020-01-01", sentence="A beats B.", metric="score",
            tasks=["fake-task"], compare="const[value=0.9] > const[value=0.1]")


class Records:
    """A reader holding the given rows (what the judge reads), and no failures."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.frame = pd.DataFrame(rows)

    def load(self, tasks: Any = None) -> pd.DataFrame:
        return self.frame

    def has_failed(self, cell: Any) -> bool:
        return False


def _rows(a: list[float], b: list[float]) -> list[dict[str, Any]]:
    rows = []
    for value, series in (("0.9", a), ("0.1", b)):
        for seed, score in enumerate(series):
            cell = Cell.build("fake-task", "const", seed, "small", {}, {"value": value})
            rows.append({"cell_key": cell.key, "task": "fake-task", "scale": "small", "seed": seed, "metric": "score", "value": score})
    return rows


def test_needs_and_budget(fake_family: Any, tmp_path: Any) -> None:
    clear = claim_from_dict({**BASE, "id": "clear"}, "test")
    close = claim_from_dict({**BASE, "id": "close", "compare": "const[value=0.9] >= const[value=0.1]", "min_delta": 0.002}, "test")
    rng = np.random.default_rng(0)
    b = list(0.5 + rng.normal(0, 0.01, 4))
    reader = Records(_rows([x + 0.1 + e for x, e in zip(b, rng.normal(0, 0.01, 4))], b))  # a clear win over 4 seeds: decided
    store = Store(tmp_path / "empty")
    (need,) = needs([clear], "small", reader, store)
    assert need.decidable and need.seeds == {"fake-task": 4}  # the claim's min_seeds (3) at least; 4 decided it
    assert len(need.cells) == 8 and need.seconds > 0  # none stored in the run's store yet
    (noisy,) = needs([clear], "small", Records(_rows([0.53, 0.50, 0.54, 0.51], [0.50, 0.50, 0.51, 0.50])), store)
    assert noisy.seeds["fake-task"] > 4 and len(noisy.cells) == 2 * noisy.seeds["fake-task"]
    inside = needs([close], "small", Records(_rows([0.5006, 0.5001, 0.5004, 0.5002], [0.5, 0.5, 0.5, 0.5])), store)
    chosen, deferred = affordable([need, noisy, *inside], budget_s=need.seconds + 1e-9)
    assert [n.claim.id for n in chosen] == ["clear"]  # the cheapest that fits
    assert {n.claim.id for n in deferred} == {"clear", "close"} and all("harness run --claims" in n.describe() or not n.decidable for n in deferred)
