"""Claim verdicts on constructed records, and claim files that are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.plan.cells import Cell
from harness.judge.claims import claim_from_dict, load_claims_file
from harness.common.errors import UserError
from harness.judge.stats import paired
from harness.judge.verdicts import INCONCLUSIVE, REFUTED, SUPPORTED, judge_all

ROOT = Path(__file__).resolve().parents[1]

BASE = dict(id="c", title="t", url="https://kexue.fm/archives/0", date="2020-01-01", sentence="A beats B.")


def _records(values: dict[str, list[float]], scale: str = "small") -> pd.DataFrame:
    """Rows for fake-task × const[value=v] where v names the 'method'; seeds 0..n-1."""
    rows = []
    for value, series in values.items():
        for seed, score in enumerate(series):
            cell = Cell.build("fake-task", "const", seed, scale, {}, {"value": value})
            rows.append({"cell_key": cell.key, "task": "fake-task", "scale": scale, "seed": seed, "metric": "score", "value": score})
    return pd.DataFrame(rows)


def _claim(compare: "str | list[str]", **extra: object):
    return claim_from_dict({**BASE, "tasks": ["fake-task"], "compare": compare, "metric": "score", **extra}, "test")


rng = np.random.default_rng(0)
B = list(0.5 + rng.normal(0, 0.01, 5))


@pytest.mark.parametrize(
    "a_series,compare,extra,expected",
    [
        ([b + 0.1 + rng.normal(0, 0.01) for b in B], "const[value=0.9] > const[value=0.1]", {}, SUPPORTED),
        ([b - 0.1 + rng.normal(0, 0.01) for b in B], "const[value=0.9] > const[value=0.1]", {}, REFUTED),
        ([b + d for b, d in zip(B, [0.05, -0.04, 0.03, -0.05, 0.02])], "const[value=0.9] > const[value=0.1]", {}, INCONCLUSIVE),
        ([b + 0.1 + rng.normal(0, 0.01) for b in B], "const[value=0.9] > const[value=0.1]", {"min_delta": 0.2}, INCONCLUSIVE),  # within margin
        ([b - 0.001 + rng.normal(0, 0.001) for b in B], "const[value=0.9] >= const[value=0.1]", {"min_delta": 0.01}, SUPPORTED),
        ([b - 0.1 + rng.normal(0, 0.01) for b in B], "const[value=0.9] < const[value=0.1]", {}, SUPPORTED),
        ([b - 0.1 + rng.normal(0, 0.01) for b in B], "const[value=0.1] < const[value=0.9]", {}, REFUTED),
    ],
)
def test_paired_verdicts(fake_family: list[str], a_series: list[float], compare: str, extra: dict, expected: str) -> None:
    records = _records({"0.9": a_series, "0.1": B})
    (verdict,) = judge_all([_claim(compare, **extra)], records)
    assert verdict.verdict == expected, verdict.reason


def test_paired_statistics_match_scipy() -> None:
    from scipy import stats

    a, b = [0.61, 0.64, 0.60, 0.66], [0.55, 0.57, 0.58, 0.56]
    result = paired(a, b)
    d = np.subtract(a, b)
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert result.diff == pytest.approx(d.mean())
    assert (result.lo, result.hi) == pytest.approx((d.mean() - half, d.mean() + half))
    assert result.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)


@pytest.mark.parametrize("n", [2, 3, 5, 12, 40])
def test_t_distribution_from_scipy_special_is_scipy_stats(n: int) -> None:
    """The paired t-test, its one-sided tails against a bar and the t quantiles, computed from
    ``scipy.special``, equal ``scipy.stats``'s to 1e-12 (relative) on random seeds' differences."""
    from scipy import stats

    rng = np.random.default_rng(n)
    a, b = rng.normal(0.6, 0.02, n), rng.normal(0.59, 0.02, n)
    result = paired(a, b)
    assert result.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    for bar in (-0.01, 0.0, 0.005):
        t = (result.diff - bar) / result.se
        assert result.tail(bar, above=True) == pytest.approx(stats.t.sf(t, n - 1), rel=1e-12)
        assert result.tail(bar, above=False) == pytest.approx(stats.t.cdf(t, n - 1), rel=1e-12)
    half = stats.t.ppf(0.975, n - 1) * np.std(a - b, ddof=1) / np.sqrt(n)
    assert (result.lo, result.hi) == pytest.approx((result.diff - half, result.diff + half), rel=1e-12)


def test_judging_the_committed_store_does_not_import_scipy_stats() -> None:
    """``harness claims`` reads the t distribution from ``scipy.special`` (0.4 s and ~46 MB less
    per process than ``scipy.stats``)."""
    code = (
        "import sys; from harness.cli import main\n"
        "main(['claims', '--store', 'results/store', '--family', 'longtail'])\n"
        "print('scipy.special' in sys.modules, 'scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.stdout.split()[-2:] == ["True", "False"], out.stderr[-2000:]


def test_too_few_seeds_is_inconclusive_with_command(fake_family: list[str]) -> None:
    records = _records({"0.9": [0.9, 0.91], "0.1": [0.1, 0.11]})
    (v,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert v.verdict == INCONCLUSIVE and "too few shared seeds: n=2 < 3" in v.reason
    assert v.commands == ["harness run --claims c --scale small"]


def test_every_printed_command_runs_exactly_the_cells_its_claim_needs(tmp_path: Path) -> None:
    """On an empty store every claim is inconclusive and prints one command per scale it needs;
    parsed by the CLI, each selects the claim, and together their cells are every cell the
    verdict reads (both sides of every comparison on every task, at the task's deciding scale)."""
    from harness.judge.claims import all_claims, select_claims
    from harness.cli import build_parser
    from harness.judge.claim_cells import cells_for_claims
    from harness.store.store import Store
    from harness.judge.verdicts import verdicts_from_store
    from harness.plan.contract import SCALE_ORDER

    claims = all_claims()
    assert claims
    for verdict in verdicts_from_store(claims, Store(str(tmp_path / "empty"))):
        claim = verdict.claim
        assert verdict.verdict == INCONCLUSIVE and verdict.commands, claim.id
        cells = []
        for command in verdict.commands:
            args = build_parser().parse_args(command.split()[1:])
            assert select_claims([args.claims]) == [claim]
            cells += cells_for_claims([claim], args.scale)
        tasks = set(claim.tasks or [c.task for c in claim.checks])
        assert {c.task for c in cells} == tasks, claim.id
        for task in claim.tasks:
            scale = [s for s in SCALE_ORDER if s in claim.deciding_scales(task)][-1]  # the lowest that decides
            for cmp in claim.comparisons:
                for side in (cmp.a, cmp.b):
                    assert Cell.build(task, side.name, 0, scale, claim.task_params, side.params) in cells, (claim.id, task)


def test_repeated_param_flags_build_a_grid() -> None:
    from harness.plan.grid import RunRequest, expand, parse_param

    cells = expand(RunRequest(["gaussian-lt"], ["focal"], [0], "smoke", [parse_param("focal.gamma=0.5"), parse_param("focal.gamma=1,2")]))
    assert sorted(c.method_params["gamma"] for c in cells) == [0.5, 1.0, 2.0]


def test_missing_cells_name_the_method_and_the_command(fake_family: list[str]) -> None:
    records = _records({"0.9": [0.9, 0.91, 0.92]})
    (v,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert v.verdict == INCONCLUSIVE and "cells missing: const[value=0.1]" in v.reason
    assert v.commands == ["harness run --claims c --scale small"]


def test_smoke_records_do_not_decide_a_small_scale_claim(fake_family: list[str]) -> None:
    records = _records({"0.9": [0.9, 0.92, 0.91, 0.95, 0.9], "0.1": [0.1] * 5}, scale="smoke")
    (v,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert v.verdict == INCONCLUSIVE and "indication at scale smoke" in v.reason and "--scale small" in v.commands[0]


def test_value_claims(fake_family: list[str]) -> None:
    records = _records({"0.9": [0.9]})
    def claim(op: str, value: float):
        check = {"task": "fake-task", "method": "const[value=0.9]", "metric": "score", "op": op, "value": value}
        return claim_from_dict({**BASE, "kind": "value", "checks": [check], "scales": ["small"]}, "test")
    ok, bad, missing = judge_all([claim(">", 0.5), claim("<", 0.5)], records) + judge_all([claim(">", 0.5)], records.iloc[:0])
    assert (ok.verdict, bad.verdict, missing.verdict) == (SUPPORTED, REFUTED, INCONCLUSIVE)


def test_claims_file_that_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "claims.toml"
    path.write_text("[[claim]]\nid = 'x\n")
    with pytest.raises(UserError, match="does not parse"):
        load_claims_file(path)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"compare": "logit_ajust > erm"}, "did you mean 'logit_adjust'"),
        ({"tasks": ["digits-lt", "cifar-lt-x"]}, "unknown task 'cifar-lt-x'"),
        ({"compare": "erm ~ focal"}, "needs one of"),
        ({"compare": "focal[gamma=abc] > erm"}, "expects a float"),
        ({"url": None}, "missing field 'url'"),
    ],
)
def test_claims_naming_unknown_cells_are_refused(tmp_path: Path, change: dict, message: str) -> None:
    entry = {**BASE, "tasks": ["digits-lt"], "compare": "logit_adjust > erm", "metric": "balanced_accuracy", **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    lines = ["[[claim]]"] + [f"{k} = {_toml(v)}" for k, v in entry.items()]
    path = tmp_path / "claims.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(UserError, match=message):
        load_claims_file(path)


def test_a_protocol_declared_once_serves_every_claim_that_names_it(tmp_path: Path) -> None:
    entry = {**BASE, "tasks": ["digits-lt"], "compare": "logit_adjust > erm", "metric": "balanced_accuracy"}
    claim = "\n".join(["[[claim]]"] + [f"{k} = {_toml(v)}" for k, v in entry.items()])
    tables = '[protocols.mlp]\nbackbone = "an MLP"\n[protocols.paper]\nbackbone = "ResNet-32"\n'
    path = tmp_path / "claims.toml"
    path.write_text(tables + claim + '\nprotocol = "mlp"\narticle_protocol = "paper"\ndepends_on = ["backbone"]\n')
    (c,) = load_claims_file(path)
    assert c.protocol == {"backbone": "an MLP"} and c.protocol_gap() == [("backbone", "an MLP", "ResNet-32")]
    path.write_text(tables + claim + '\nprotocol = "mpl"\n')
    with pytest.raises(UserError, match="protocol names 'mpl', which no \\[protocols.mpl\\] table declares; did you mean 'mlp'"):
        load_claims_file(path)
    path.write_text(tables.replace("backbone", "backbon", 1) + claim)
    with pytest.raises(UserError, match="protocols.mlp: protocol: unknown key 'backbon'"):
        load_claims_file(path)


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"'


def test_declared_claims_all_load() -> None:
    from harness.judge.claims import all_claims

    claims = all_claims("longtail")
    assert {"7615-la-loss-beats-erm", "7615-la-posthoc-beats-erm"} <= {c.id for c in claims}


def test_two_metrics_of_the_same_cells(fake_family: list[str]) -> None:
    hi = _records({"0.5": [0.9, 0.92, 0.91, 0.93]})
    lo = _records({"0.5": [0.5, 0.55, 0.52, 0.5]}).assign(metric="other")
    claim = _claim("const{score} > const{other}")
    assert claim.comparisons[0].a.metric == "score"
    (v,) = judge_all([claim], pd.concat([hi, lo]))
    assert v.verdict == SUPPORTED, v.reason


# --- verdicts that must not overclaim (each was decided before; each is inconclusive now) ---------


def test_a_failed_seed_makes_the_comparison_inconclusive(fake_family: list[str], tmp_path: Path) -> None:
    from harness.store.store import Store

    store = Store(str(tmp_path / "store"))
    records = _records({"0.9": [0.9, 0.93, 0.91, 0.95], "0.1": [0.1, 0.11, 0.12, 0.13, 0.14]})
    store.write_failure(Cell.build("fake-task", "const", 4, "small", {}, {"value": "0.9"}), "RuntimeError: boom")
    (before,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert before.verdict == SUPPORTED  # what a store-less judge sees: 4 shared seeds
    (v,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records, store)
    assert v.verdict == INCONCLUSIVE and "1 of 5 seeds failed (seed 4)" in v.reason


def test_identical_differences_are_a_degenerate_interval_not_evidence(fake_family: list[str]) -> None:
    records = _records({"0.9": [0.6, 0.7, 0.8], "0.1": [0.5, 0.6, 0.7]})  # Δ = 0.1 on every seed
    (v,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert v.verdict == INCONCLUSIVE and "degenerate interval" in v.reason


def test_holm_correction_over_the_comparisons_of_one_claim(fake_family: list[str]) -> None:
    from harness.judge.stats import holm

    base = [0.50, 0.52, 0.49, 0.51, 0.50]
    d1 = [-0.010, -0.001, -0.006, -0.002, -0.009]  # one-sided p ≈ 0.018 each
    records = _records({"0.9": [b + d for b, d in zip(base, d1)], "0.8": [b + d for b, d in zip(base, d1[::-1])], "0.1": base})
    raw = paired([b + d for b, d in zip(base, d1)], base).tail(0.0, above=False)
    assert raw < 0.025 and holm([raw, raw]) == [2 * raw, 2 * raw] and 2 * raw > 0.025
    (single,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert single.verdict == REFUTED
    (v,) = judge_all([_claim(["const[value=0.9] > const[value=0.1]", "const[value=0.8] > const[value=0.1]"])], records)
    assert v.verdict == INCONCLUSIVE and "p(Holm)=" in v.evidence[0].reason


def test_a_reversed_significant_difference_refutes_a_strict_claim(fake_family: list[str]) -> None:
    records = _records({"0.9": [b - 0.05 + rng.normal(0, 0.005) for b in B], "0.1": B})
    (v,) = judge_all([_claim("const[value=0.9] > const[value=0.1]")], records)
    assert v.verdict == REFUTED and v.evidence[0].p_adjusted < 0.025


def test_below_the_deciding_scale_is_only_an_indication(fake_family: list[str]) -> None:
    records = _records({"0.9": [b + 0.1 + rng.normal(0, 0.01) for b in B], "0.1": B}, scale="small")
    claim = _claim("const[value=0.9] > const[value=0.1]", task_scales={"fake-task": ["full"]})
    (v,) = judge_all([claim], records)
    assert v.verdict == INCONCLUSIVE and v.evidence[0].verdict == "indication"
    assert "indication at scale small" in v.evidence[0].reason and v.commands == ["harness run --claims c --scale full"]
    assert v.scales == []


def test_tolerance_is_printed_on_non_inferiority_lines(fake_family: list[str]) -> None:
    from harness.report.verdict_text import verdict_lines

    records = _records({"0.9": [b - 0.001 + rng.normal(0, 0.001) for b in B], "0.1": B})
    verdicts = judge_all([_claim("const[value=0.9] >= const[value=0.1]", min_delta=0.01)], records)
    text = "\n".join(verdict_lines(verdicts))
    assert "tolerance 0.01" in text and "[✔ supported at small]" in text


@pytest.mark.parametrize("bad", [{"min_seeds": 1}, {"scales": ["huge"]}, {"pairing": "cells"}])
def test_claim_fields_are_validated(fake_family: list[str], bad: dict) -> None:
    with pytest.raises(UserError):
        _claim("const[value=0.9] > const[value=0.1]", **bad)


def test_pairing_over_examples_uses_a_paired_bootstrap(tmp_path: Path) -> None:
    """Two digits-lt smoke cells with stored predictions: the bootstrap interval brackets the
    observed difference, and equals a hand-made resampling with the same generator."""
    from harness.judge.claim_cells import cells_for_claims
    from harness.run.scheduler import run_missing
    from harness.store.store import Store

    claim = claim_from_dict({**BASE, "tasks": ["digits-lt"], "compare": "logit_adjust > erm", "metric": "balanced_accuracy",
                             "scales": ["smoke"], "pairing": "examples"}, "test")
    store = Store(str(tmp_path / "store"))
    assert not run_missing(cells_for_claims([claim], "smoke", seeds=[0, 1, 2]), store)
    (v,) = judge_all([claim], store.load(["digits-lt"]), store)
    e = v.evidence[0]
    assert e.stats is not None and e.stats.over == "examples" and e.stats.lo <= e.stats.diff <= e.stats.hi
    assert "bootstrap over test examples" in e.reason and len(e.stats.draws) == 2000


def test_every_declared_claim_states_the_protocol_it_tests() -> None:
    """Issue 21: every verdict line names its protocol, so every claim of every family declares
    one (a table or a named [protocols.<name>]); the claim's data and procedure at least."""
    from harness.judge.claims import all_claims
    from harness.judge.verdicts import Verdict
    from harness.report.verdict_text import verdict_lines

    from harness.common.files import ROOT

    ours = [c for c in all_claims() if Path(c.source).resolve().is_relative_to(ROOT / "tasks")]  # not a test's plugin family
    missing = [c.id for c in ours if not c.protocol]
    assert len(ours) > 80
    assert not missing, missing
    claim = all_claims()[0]
    assert any(line.startswith("    protocol: ") for line in verdict_lines([Verdict(claim, "inconclusive", "no records")]))
