"""What a verdict may say: the seeds that would decide it, "not reproduced" where the protocol
differs from the article's in what the sentence depends on, no refutation from a model still
improving at its last epoch, "most" and "on average" as the sentence says, tasks where nothing
learned left out by name, and published numbers only beside their own protocol."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.judge.claims import claim_from_dict
from harness.judge.stats import paired, seeds_to_decide
from harness.judge.verdicts import INCONCLUSIVE, NOT_REPRODUCED, REFUTED, SUPPORTED, judge_all
from harness.plan.cells import Cell

BASE = dict(id="c", title="t", url="https://kexue.fm/archives/0", date="2020-01-01", sentence="A beats B.", metric="score")
A, B = "const[value=0.9]", "const[value=0.1]"


def _rows(series: dict[tuple[str, str], list[float]], metric: str = "score") -> list[dict[str, Any]]:
    """(task offset label, method value) → per-seed scores, as stored rows of fake-task cells
    (the task param ``offset`` tells tasks apart: one fake family, several 'tasks')."""
    rows = []
    for (offset, value), values in series.items():
        for seed, score in enumerate(values):
            cell = Cell.build("fake-task", "const", seed, "small", {"offset": float(offset)}, {"value": value})
            rows.append({"cell_key": cell.key, "task": "fake-task", "scale": "small", "seed": seed, "metric": metric, "value": score})
    return rows


def _judge(claim: dict[str, Any], rows: list[dict[str, Any]]) -> Any:
    (verdict,) = judge_all([claim_from_dict({**BASE, **claim}, "test")], pd.DataFrame(rows))
    return verdict


def _noisy(mean: float, n: int, sd: float, seed: int) -> list[float]:
    return list(mean + np.random.default_rng(seed).normal(0, sd, n))


def test_an_open_verdict_says_how_many_seeds_would_decide_it(fake_family: Any) -> None:
    a, b = [0.53, 0.50, 0.54, 0.51], [0.50, 0.50, 0.51, 0.50]  # Δ = +0.0175 ± 0.015: not yet significant
    v = _judge({"tasks": ["fake-task"], "compare": f"{A} > {B}"}, _rows({("0", "0.9"): a, ("0", "0.1"): b}))
    (e,) = v.evidence
    assert v.verdict == INCONCLUSIVE and e.seeds_needed and e.seeds_needed > 4
    assert f"about {e.seeds_needed} seeds would decide it" in e.reason
    assert f"--seeds 0-{e.seeds_needed - 1}" in v.commands[0]
    # the number is the smallest n whose one-sided interval clears the bar at the observed effect and spread
    stats = paired(a, b)
    from scipy import stats as st

    sd, n = stats.se * np.sqrt(stats.n), e.seeds_needed
    assert st.t.ppf(1 - 0.025, n - 1) * sd / np.sqrt(n) < stats.diff <= st.t.ppf(1 - 0.025, n - 2) * sd / np.sqrt(n - 1)


def test_no_number_of_seeds_decides_an_effect_inside_the_margin() -> None:
    stats = paired([0.51, 0.52, 0.50, 0.515], [0.50, 0.505, 0.495, 0.50])
    assert 0 < stats.diff < 0.05 and seeds_to_decide(stats, (0.05, 0.0), 0.025, 200) is None


def test_a_refutation_under_another_protocol_is_not_reproduced(fake_family: Any) -> None:
    rows = _rows({("0", "0.9"): _noisy(0.4, 5, 0.01, 3), ("0", "0.1"): _noisy(0.5, 5, 0.01, 4)})
    claim = {"tasks": ["fake-task"], "compare": f"{A} > {B}", "depends_on": ["pretraining"],
             "protocol": {"backbone": "1-layer BiLSTM", "pretraining": "none (from scratch)"},
             "article_protocol": {"backbone": "BERT-base", "pretraining": "BERT-base (Google)"}}
    v = _judge(claim, rows)
    assert v.verdict == NOT_REPRODUCED and v.reason.startswith("not reproduced with none (from scratch) (the article: BERT-base (Google))")
    assert _judge({**claim, "depends_on": []}, rows).verdict == REFUTED  # the same cells, the article's protocol


def test_a_cell_still_improving_at_its_last_epoch_cannot_refute(fake_family: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import FakeTask

    rows = _rows({("0", "0.9"): _noisy(0.4, 5, 0.01, 5), ("0", "0.1"): _noisy(0.5, 5, 0.01, 6)})
    claim = {"tasks": ["fake-task"], "compare": f"{A} > {B}"}
    assert _judge(claim, rows).verdict == REFUTED
    monkeypatch.setattr(FakeTask, "last_epoch", classmethod(lambda cls, scale, params: 4))
    epochs = [{**r, "metric": "best_epoch", "value": 4.0 if r["seed"] < 2 else 3.0} for r in rows]
    v = _judge(claim, rows + epochs)
    assert v.verdict == INCONCLUSIVE and "cannot refute: 4 of the cells were still improving" in v.evidence[0].reason
    # a speed refutes all the same: how fast a model trains does not wait for it to converge
    from harness.plan.metrics import Metric, register_metric

    register_metric(Metric("fake_steps_per_s", True, "a speed", measures_time=True))
    speed = [{**r, "metric": "fake_steps_per_s"} for r in rows]
    assert _judge({**claim, "metric": "fake_steps_per_s"}, speed + epochs).verdict == REFUTED


@pytest.fixture
def three_tasks(fake_family: Any) -> Any:
    """fake-task plus two more tasks of the same family (other names, the same scores)."""
    from conftest import FakeTask

    from harness.plan import registry

    extra = [type(f"Fake{i}", (FakeTask,), {"name": f"fake-task-{i}"}) for i in (2, 3)]
    for cls in extra:
        registry.register(cls)
    yield ["fake-task", "fake-task-2", "fake-task-3"]
    for cls in extra:
        registry._tasks.pop(cls.name, None)


def _task_rows(task: str, value: str, values: list[float]) -> list[dict[str, Any]]:
    rows = []
    for seed, score in enumerate(values):
        cell = Cell.build(task, "const", seed, "small", {}, {"value": value})
        rows.append({"cell_key": cell.key, "task": task, "scale": "small", "seed": seed, "metric": "score", "value": score})
    return rows


def test_most_is_more_than_half_of_the_tasks(three_tasks: list[str]) -> None:
    better, worse = (_noisy(0.6, 5, 0.005, 7), _noisy(0.6, 5, 0.005, 8)), _noisy(0.45, 5, 0.005, 11)
    rows = (_task_rows("fake-task", "0.9", better[0]) + _task_rows("fake-task-2", "0.9", better[1]) + _task_rows("fake-task-3", "0.9", worse)
            + [r for i, t in enumerate(three_tasks) for r in _task_rows(t, "0.1", _noisy(0.5, 5, 0.005, 20 + i))])
    claim = {"tasks": three_tasks, "compare": f"{A} > {B}"}
    assert _judge(claim, rows).verdict == REFUTED  # "on every task": one task goes the other way
    most = _judge({**claim, "require": "most"}, rows)
    assert most.verdict == SUPPORTED and most.reason == "2 of 3 comparison(s) hold (most)"


def test_on_average_compares_the_mean_over_tasks(three_tasks: list[str]) -> None:
    a = {t: _noisy(m, 5, 0.002, i) for i, (t, m) in enumerate(zip(three_tasks, (0.70, 0.62, 0.50)))}
    b = {t: _noisy(m, 5, 0.002, 10 + i) for i, (t, m) in enumerate(zip(three_tasks, (0.60, 0.58, 0.55)))}
    rows = [r for t in three_tasks for r in _task_rows(t, "0.9", a[t]) + _task_rows(t, "0.1", b[t])]
    claim = {"tasks": three_tasks, "compare": f"{A} > {B}"}
    assert _judge(claim, rows).verdict == REFUTED  # task 3 alone goes the other way …
    mean = _judge({**claim, "aggregate": "mean"}, rows)  # … but the sentence is about the average: 0.607 vs 0.577
    (e,) = mean.evidence
    assert mean.verdict == SUPPORTED and e.task == "mean of fake-task, fake-task-2, fake-task-3"
    assert e.stats.diff == pytest.approx(np.mean([np.mean(a[t]) - np.mean(b[t]) for t in three_tasks]))


def test_tasks_where_nothing_learned_are_left_out_by_name(fake_family: Any) -> None:
    rows = _rows({("0", "0.9"): _noisy(0.6, 5, 0.01, 13), ("0", "0.1"): _noisy(0.5, 5, 0.01, 14)})
    baseline = _rows({("0", "0.9"): [0.7] * 5, ("0", "0.1"): [0.7] * 5}, metric="majority")
    v = _judge({"tasks": ["fake-task"], "compare": f"{A} > {B}", "unlearned_baseline": "majority"}, rows + baseline)
    assert v.evidence[0].verdict == "excluded" and "no compared method beats majority on fake-task" in v.evidence[0].reason
    assert v.verdict == INCONCLUSIVE and v.reason == "every task was left out"


def test_no_published_number_beside_another_protocol() -> None:
    """Every declared claim, judged on the committed records: its published numbers are printed
    only when the evidence includes the published task at the published scale and task params
    (today's committed from-scratch and small-scale cells are never the articles' protocol)."""
    from harness.common.files import ROOT
    from harness.judge.claims import all_claims
    from harness.judge.verdicts import verdicts_from_store
    from harness.report.verdict_text import published_beside, verdict_lines
    from harness.store.store import Store

    claims = [c for c in all_claims() if c.published]
    assert claims
    for verdict in verdicts_from_store(claims, Store(ROOT / "results" / "store")):
        text = "\n".join(verdict_lines([verdict]))
        numbers = [f"{k} {v:g}" for k, v in verdict.claim.published.items()]
        shown = f"published ({verdict.claim.published_label or 'article'}): {', '.join(numbers)}" in text
        beside = published_beside(verdict)
        assert shown == beside, verdict.claim.id
        if beside:
            c = verdict.claim
            assert any(e.task == c.published_task and e.scale == c.published_scale for e in verdict.evidence)


def test_an_effect_that_grows_across_tasks(three_tasks: list[str]) -> None:
    """"The gain grows with the number of classes": the effect A − B on each task against the
    next, paired over seeds (not two separate verdicts that happen to differ)."""
    gains = {"fake-task": 0.00, "fake-task-2": 0.03, "fake-task-3": 0.06}
    rows = []
    for i, task in enumerate(three_tasks):
        base = _noisy(0.5, 6, 0.01, 30 + i)
        rows += _task_rows(task, "0.1", base) + _task_rows(task, "0.9", [b + gains[task] + e for b, e in zip(base, _noisy(0, 6, 0.003, 40 + i))])
    claim = {"tasks": three_tasks, "compare": f"{A} > {B}", "across": "increasing"}
    v = _judge(claim, rows)
    assert v.verdict == SUPPORTED and [e.task for e in v.evidence] == ["fake-task-2 vs fake-task", "fake-task-3 vs fake-task-2"]
    assert all(e.stats.diff == pytest.approx(0.03, abs=0.01) for e in v.evidence)
    shrinking = _judge({**claim, "tasks": list(reversed(three_tasks))}, rows)  # listed the other way round
    assert shrinking.verdict == REFUTED


def test_an_effect_largest_on_the_named_tasks(three_tasks: list[str]) -> None:
    """"The largest gaps on PAWSX and STS-B": the effect on each named task against every other
    task's, paired over seeds; a named task whose effect is not the largest refutes it."""
    gains = {"fake-task": 0.01, "fake-task-2": 0.02, "fake-task-3": 0.08}
    rows = []
    for i, task in enumerate(three_tasks):
        base = _noisy(0.5, 6, 0.01, 50 + i)
        rows += _task_rows(task, "0.1", base) + _task_rows(task, "0.9", [b + gains[task] + e for b, e in zip(base, _noisy(0, 6, 0.003, 60 + i))])
    claim = {"tasks": three_tasks, "compare": f"{A} > {B}", "largest_on": ["fake-task-3"]}
    v = _judge(claim, rows)
    assert v.verdict == SUPPORTED and [e.task for e in v.evidence] == ["fake-task-3 vs fake-task", "fake-task-3 vs fake-task-2"]
    assert _judge({**claim, "largest_on": ["fake-task"]}, rows).verdict == REFUTED
    with pytest.raises(Exception, match="some, not all"):
        _judge({**claim, "largest_on": three_tasks}, rows)
