"""The leaderboard family: parsing (and its errors), the aggregators on the real boards, the
policies, ranking statistics, cells, claims and the `harness leaderboard` verb."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.plan import registry
from harness.cli import main
from harness.common.errors import UserError
from tasks.leaderboard._board_file import parse_board, read_board
from tasks.leaderboard.leaderboard_tasks import sibling
from tasks.leaderboard._scoring import evaluate, rank_board
from harness.plan.metrics import kendall_tau_b
from harness.plan.metrics import spearman as spearman_rho
from tasks.leaderboard._ranking import agreement, competition_ranks

HEADER = "System,CoLA,MRPC,RTE\n"


def task(name: str, **params):  # noqa: ANN201
    return registry.get_task(name)(**params)


def method(name: str, **params):  # noqa: ANN201
    return registry.get_method(name)(**params)


def rank(board_name: str, method_name: str, **params):  # noqa: ANN201
    t = task(board_name)
    return rank_board(t.board(), t.rules(), method(method_name, **params))


def cell_metrics(board_name: str, method_name: str, **params) -> dict[str, float]:
    t = task(board_name)
    return evaluate(t.board(), t.rules(), method(method_name, **params), sibling).metrics


def write(tmp_path: Path, text: str, name: str = "board.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- parsing the bundled boards -----------------------------------------------------------
def test_bundled_glue_parses_as_documented() -> None:
    b = task("glue").board()
    assert b.n == 100 and b.columns == ["CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI-m", "MNLI-mm", "QNLI", "RTE", "WNLI", "AX"]
    assert b.systems[b.human] == "GLUE Human Baselines" and b.lines[b.human] == 17
    ernie = b.systems.index("ERNIE")
    assert b.halves[ernie, 2].tolist() == [93.9, 91.8] and b.paired[ernie, 2] and not b.paired[ernie, 0]
    xlnet = b.systems.index("XLNet (ensemble)")
    assert np.isnan(b.halves[xlnet, 7]).all() and not b.printed_nan[xlnet, 7].any() and np.isnan(b.published[xlnet])
    machamp = b.systems.index("MaChAmp (bert-large, single task)")
    assert b.printed_nan[machamp, 3].tolist() == [True, False] and b.halves[machamp, 3, 1] == 99.8
    assert [s for s in b.systems if s.startswith("RefBERT")] == [f"RefBERT (#{r})" for r in (60, 61, 62, 63)]
    assert (b.score_decimals, b.cell_decimals) == (1, 1)


def test_bundled_superglue_parses() -> None:
    b = task("superglue").board()
    assert b.n == 24 and len(b.columns) == 10 and b.systems[b.human] == "SuperGLUE Human Baselines"
    assert int(np.isfinite(b.published).sum()) == 22


# -- parse errors: one line naming file, row, system and column ----------------------------
@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("93.9/", r"row 3 \(B\) column MRPC: malformed pair '93.9/'"),
        ('"93,9"', r"row 3 \(B\) column MRPC: '93,9' uses a comma as decimal separator; write 93.9"),
        ("n/a", r"row 3 \(B\) column MRPC: 'n/a' is not a pair of numbers: 'n' is not a number; .* or - for missing"),
        ("good", r"row 3 \(B\) column MRPC: 'good' is not a number"),
        ("1e999", r"row 3 \(B\) column MRPC: '1e999' is not a finite number"),
    ],
)
def test_bad_cells_name_row_and_column(tmp_path: Path, cell: str, message: str) -> None:
    path = write(tmp_path, HEADER + "A,50,80/70,60\n" + f"B,40,{cell},55\n")
    with pytest.raises(UserError, match=f"^{tmp_path}/board.csv {message}"):
        read_board(path, human="")


def test_unquoted_comma_decimal_is_a_field_count_error(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "A,50,93,9,60\n")
    with pytest.raises(UserError, match=r"row 2 \(A\): 5 fields, the header has 4; a comma used as decimal separator"):
        read_board(path, human="")


def test_duplicated_system_names(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "A,50,80,60\nB,1,2,3\nA,51,81,61\n")
    with pytest.raises(UserError, match=r"row 4 \(A\) column System: duplicated system name \(also row 2\)"):
        read_board(path, human="")
    ranked = parse_board("Rank,System,X\n1,A,5\n2,A,4\n", "f.csv", human="")
    assert ranked.systems == ["A (#1)", "A (#2)"]


def test_human_row_required_found_or_flagged(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "A,50,80,60\nB,40,70,55\n")
    with pytest.raises(UserError, match=r"board.csv: no human row \(no row whose name contains 'Human Baselines'\)"):
        read_board(path)
    assert read_board(path, human="").human is None
    flagged = parse_board("System,Human,X\nA,,5\nPeople,yes,4\n", "f.csv")
    assert flagged.systems[flagged.human] == "People"
    with pytest.raises(UserError, match="2 human rows"):
        parse_board("System,X\nHuman Baselines 1,5\nHuman Baselines 2,4\n", "f.csv")


def test_layout_errors() -> None:
    with pytest.raises(UserError, match="no system column"):
        parse_board("Team,X\nA,1\n", "f.csv", human="")
    with pytest.raises(UserError, match="no task columns"):
        parse_board("System,Score\nA,1\n", "f.csv", human="")
    with pytest.raises(UserError, match="empty system name"):
        parse_board("System,X\n,1\n", "f.csv", human="")


# -- the official aggregator reproduces the published scores --------------------------------
@pytest.mark.parametrize("board_name", ["glue", "superglue"])
def test_official_reproduces_every_published_score(board_name: str) -> None:
    t = task(board_name)
    b = t.board()
    scores = rank(board_name, "official").scores
    have = np.isfinite(b.published)
    assert np.isfinite(scores[have]).all()  # every printed Score is recomputed ...
    assert np.abs(scores[have] - b.published[have]).max() <= 0.1 + 1e-9  # ... within the rounding bound
    assert (np.abs(scores[have] - b.published[have]) <= 0.05 + 1e-9).mean() > 0.9  # most to half a printed unit
    m = cell_metrics(board_name, "official")
    assert m["n_score_mismatches"] == 0 and m["n_scores_unchecked"] == 0
    assert m["n_scores_checked"] == {"glue": 98, "superglue": 22}[board_name]


def test_official_glue_by_hand() -> None:
    b = task("glue").board()
    scores = rank("glue", "official").scores
    # human row: CoLA, SST-2, MRPC (86.3/80.8), STS-B, QQP, MNLI (92.0, 92.8), QNLI, RTE, WNLI
    human = [66.4, 97.8, (86.3 + 80.8) / 2, (92.7 + 92.6) / 2, (59.5 + 80.4) / 2, (92.0 + 92.8) / 2, 91.2, 93.6, 95.9]
    assert scores[b.human] == pytest.approx(sum(human) / 9) and round(sum(human) / 9, 2) == 87.05
    machamp = b.systems.index("MaChAmp (bert-large, single task)")  # STS-B NaN/99.8 scored 0 by the server
    assert scores[machamp] == pytest.approx(67.6278, abs=1e-4) and b.published[machamp] == 67.6
    arith = rank("glue", "arithmetic")
    assert np.isnan(arith.scores[machamp]) and arith.reasons[machamp] == "missing STS-B"


def test_geometric_mean_of_one_row_by_hand() -> None:
    b = task("superglue").board()
    ernie = b.systems.index("ERNIE 3.0")
    row = [91, (98.6 + 99.2) / 2, 97.4, (88.6 + 63.2) / 2, (94.7 + 94.2) / 2, 92.6, 77.4, 97.3]
    expected = math.prod(row) ** (1 / len(row))
    assert rank("superglue", "geometric").scores[ernie] == pytest.approx(expected, rel=1e-12)
    harm = len(row) / sum(1 / v for v in row)
    assert rank("superglue", "harmonic").scores[ernie] == pytest.approx(harm, rel=1e-12)
    first = [91, 98.6, 97.4, 88.6, 94.7, 92.6, 77.4, 97.3]
    assert rank("superglue", "arithmetic", pair="first").scores[ernie] == pytest.approx(sum(first) / 8)


# -- policies ---------------------------------------------------------------------------------
def test_nonpositive_policies_on_glue() -> None:
    with pytest.raises(UserError, match=r"glue_votenrank.csv row 81 \(Skip-Thought\) column CoLA: score 0 ≤ 0 — the geometric mean is undefined"):
        rank("glue", "geometric", nonpositive="error")
    dropped = rank("glue", "geometric")
    assert sum("≤ 0" in r for r in dropped.reasons) == 10  # ten systems with CoLA = 0
    clipped = rank("glue", "harmonic", nonpositive="clip", floor=1.0)
    assert sum("≤ 0" in r for r in clipped.reasons) == 0 and clipped.n_ranked == 97
    shifted = rank("glue", "geometric", nonpositive="shift", floor=1.0, task_set="all")  # AX min is -10.3
    assert shifted.n_ranked == 97
    # The claims do not hinge on the policy: humans are still first under the paper's rules
    for policy in ("clip", "shift"):
        assert cell_metrics("glue", "geometric", nonpositive=policy)["paper_human_rank"] == 1


def test_missing_policies() -> None:
    with pytest.raises(UserError, match=r"row 100 \(XLNet \(ensemble\)\) column QNLI: missing score \('-'\)"):
        rank("glue", "arithmetic", missing="error", nan="zero")
    with pytest.raises(UserError, match=r"column STS-B: the board printed NaN"):
        rank("glue", "arithmetic", missing="error", task_set="STS-B")
    dropped_task = rank("glue", "arithmetic", missing="drop-task")
    assert "QNLI" not in dropped_task.tasks.split("|") and "STS-B" not in dropped_task.tasks.split("|")
    assert dropped_task.n_ranked == 100
    assert rank("glue", "arithmetic", nan="zero").n_ranked == 98


def test_task_sets() -> None:
    assert rank("glue", "arithmetic", task_set="first3").tasks == "CoLA|SST-2|MRPC"
    assert rank("glue", "arithmetic", task_set="CoLA|MNLI-m+MNLI-mm").tasks == "CoLA|MNLI-m+MNLI-mm"
    with pytest.raises(UserError, match="did you mean 'SST-2'"):
        rank("glue", "arithmetic", task_set="SST2")
    with pytest.raises(UserError, match="first1 … first11"):
        rank("glue", "arithmetic", task_set="first12")
    paper = rank("glue", "geometric", task_set="paper")
    assert paper.tasks.endswith("|WNLI|AX") and paper.human_tasks.endswith("|WNLI")  # AX for systems only
    assert rank("superglue", "harmonic", task_set="paper").tasks.endswith("|AX-b|AX-g")
    from tasks.leaderboard._scoring import Rules

    with pytest.raises(UserError, match="the paper's rules are declared for none on this board"):
        rank_board(task("glue").board(), Rules(), method("arithmetic", task_set="paper"))


# -- ranking statistics -----------------------------------------------------------------------
def test_competition_ranks_and_correlations_match_scipy() -> None:
    from scipy import stats

    assert competition_ranks(np.array([3.0, 9.0, 3.0, 5.0, np.nan])).tolist()[:4] == [3.0, 1.0, 3.0, 2.0]
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 6, size=15).astype(float)
        y = x + rng.integers(-2, 3, size=15)
        assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)
        assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    a = agreement(np.array([4.0, 3.0, 2.0, 1.0, np.nan]), np.array([1.0, 3.0, 2.0, 4.0, 5.0]))
    assert (a.n_common, a.n_moved, a.max_move, a.kendall_tau) == (4, 2, 3, pytest.approx(-4 / 6))


# -- cell metrics, cells, runner --------------------------------------------------------------
def test_cell_metrics_on_glue() -> None:
    m = cell_metrics("glue", "geometric")
    assert m["human_rank"] == 16 and m["n_above_human"] == 15 and m["paper_human_rank"] == 1
    assert m["n_still_above_human_vs_arithmetic"] == 15 and 0.9 < m["kendall_tau_vs_arithmetic"] < 1
    assert m["kendall_tau_vs_official"] == m["kendall_tau_vs_arithmetic"]  # same tasks, same mean up to MaChAmp
    assert all(math.isfinite(v) for v in m.values())


def test_cell_key_follows_the_file_bytes(tmp_path: Path) -> None:
    from harness.plan.cells import Cell

    src = (Path(task("superglue").path())).read_text(encoding="utf-8")
    path = write(tmp_path, src, "mine.csv")
    before = Cell.build("superglue", "official", 0, "smoke", {"file": str(path)})
    assert before.key != Cell.build("superglue", "official", 0, "smoke").key
    path.write_text(src.replace("90.6,91,", "90.6,91.1,"), encoding="utf-8")
    assert Cell.build("superglue", "official", 0, "smoke", {"file": str(path)}).key != before.key
    assert Cell.build("superglue", "official", 5, "full").seed == 0  # unseeded: one seed suffices


def test_run_cells_and_judge_the_claims(tmp_path: Path) -> None:
    from harness.plan.cells import Cell
    from harness.judge.claims import all_claims
    from harness.run.cell import RunOptions
    from harness.run.scheduler import execute
    from harness.store.store import Store
    from harness.judge.verdicts import judge_all

    store = Store(tmp_path / "store")
    cells = [Cell.build(t, m, 0, "smoke") for t in ("glue", "superglue") for m in ("official", "arithmetic", "geometric", "harmonic")]
    outcomes = execute(cells, store, RunOptions(progress=False))
    assert all(o.status.value == "ok" for o in outcomes), [o.error for o in outcomes]
    preds = store.load_predictions(cells[2].key)
    assert {"system", "score", "rank", "official_rank", "rank_change", "unranked_reason"} <= set(preds.columns)
    assert preds.loc[preds["human"], "rank"].item() == 16
    claims = all_claims("leaderboard")
    verdicts = {v.claim.id: v.verdict for v in judge_all(claims, store.load(["glue", "superglue"]))}
    assert verdicts == {
        "8783-official-reproduces-published": "supported",
        "8783-paper-geo-harm-dethrone-models": "refuted",
        "8783-means-barely-differ": "supported",
        "8783-paper-rules-put-humans-first": "supported",
        "8783-superglue-all-columns-arithmetic": "supported",
    }


def test_everything_recomputes_in_well_under_a_second() -> None:
    from tasks.leaderboard.leaderboard_tasks import _read_cached

    rank("glue", "official")  # imports done
    _read_cached.cache_clear()
    t0 = time.perf_counter()
    for board_name in ("glue", "superglue"):
        for name in ("official", "arithmetic", "geometric", "harmonic"):
            cell_metrics(board_name, name)
    assert time.perf_counter() - t0 < 0.5


# -- the CLI verb -----------------------------------------------------------------------------
def test_verb_prints_the_reranked_board(capsys: pytest.CaptureFixture) -> None:
    assert main(["leaderboard", "superglue", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "| 4   | **SuperGLUE Human Baselines**" in out and "88.32 (5)  | -1" in out
    assert "human rank (SuperGLUE Human Baselines) — official 4/22, arithmetic 4/22, geometric 4/22, harmonic 5/22" in out
    assert main(["leaderboard", "glue", "--format", "csv", "--top", "3", "--task-set", "paper"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("system,human,official_score,official_rank,published_score,arithmetic[paper]_score")
    assert any(line.startswith("GLUE Human Baselines,1,87.05,16,87.1,") for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "{bad}"], r"bad.csv row 3 \(B\) column MRPC: malformed pair '93.9/'"),
        (["--file", "{nohuman}"], r"no human row"),
        (["--methods", "geometric", "--nonpositive", "error"], r"row 81 \(Skip-Thought\) column CoLA: score 0"),
        (["--write", "--file", "{bad}"], r"--write regenerates the committed page"),
        (["--methods", "erm"], r"not a leaderboard aggregator"),
    ],
)
def test_verb_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str) -> None:
    bad = write(tmp_path, HEADER + "Human Baselines,50,80/70,60\nB,40,93.9/,55\n", "bad.csv")
    nohuman = write(tmp_path, HEADER + "A,50,80/70,60\n", "nohuman.csv")
    argv = ["leaderboard", "glue", *(a.format(bad=bad, nohuman=nohuman) for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("harness: error:")
    import re

    assert re.search(message, err), err


def test_own_file_through_the_verb(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, "System,Human,T1,T2,T3\nA,,90,80/60,70\nB,,85,75,80\nPeople,1,95,85,60\n")
    assert main(["leaderboard", "glue", "--file", str(path), "--top", "0"]) == 0
    out = capsys.readouterr().out
    assert "**People**" in out and "task columns (every aggregator): T1|T2|T3" in out
    assert "official rule: the mean of all task columns (board.csv lacks glue's CoLA" in out


def test_help_imports_no_pandas_and_no_leaderboard_numerics() -> None:
    code = ("import sys; from harness.cli import build_parser; build_parser(); "
            "print('pandas' in sys.modules, 'tasks.leaderboard._scoring' in sys.modules, 'tasks.leaderboard._board_file' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False"]


def test_run_stops_on_a_bad_file_before_any_cell(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = write(tmp_path, HEADER + "Human Baselines,50,80/70,60\nB,40,\"93,9\",55\n", "bad.csv")
    argv = ["run", "--tasks", "glue", "--methods", "official", "--scale", "smoke", "--param", f"file={bad}", "--store", str(tmp_path / "s")]
    assert main(argv) == 2
    assert "bad.csv row 3 (B) column MRPC: '93,9' uses a comma as decimal separator" in capsys.readouterr().err
    assert not (tmp_path / "s" / "failed").exists()


def test_page_and_bump_charts(tmp_path: Path) -> None:
    from harness.report.page import render_family_page
    from harness.store.store import Store

    text, figures = render_family_page("leaderboard", Store(tmp_path / "store"), tmp_path / "figures")
    assert "| glue      | the paper's rules" in text and "| 1 / 82" in text
    assert "[✘ refuted at full] 8783-paper-geo-harm-dethrone-models" in text
    assert sorted(p.name for p in figures) == [f"leaderboard_{b}_bump.{e}" for b in ("glue", "superglue") for e in ("png", "svg")]
    assert all(p.stat().st_size > 10_000 for p in figures)
