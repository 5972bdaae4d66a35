"""A leaderboard of your own (the ``csv-board`` task, ``harness leaderboard FILE.csv``): its own
name, column roles from flags or a sidecar, lower-is-better tasks, the published-total warning,
boards without a human row; and the verb's papercuts (complete CSV, ``--write`` leaving the
store alone, exact values in the generic table)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from harness.plan import registry
from harness.cli import main
from harness.common.errors import UserError

# Four systems, four tasks, the board's own totals: Mean-Rank and Meta-Ave (aggregates by name)
# and Score (the published total; minilm's 70 is wrong: its tasks average 56.275).
MTEB = """Model,Mean-Rank,Meta-Ave,Score,Retrieval,STS,Classification,Clustering
e5-large,2.5,63.1,63.1,50.6,82.1,75.2,44.5
bge-base,2.0,63.6,63.6,51.7,81.5,75.5,45.8
gte-small,3.5,61.4,61.4,49.5,82.0,72.3,41.9
minilm,4.0,56.3,70.0,42.7,78.9,63.1,40.4
"""
TASKS = {"e5-large": [50.6, 82.1, 75.2, 44.5], "bge-base": [51.7, 81.5, 75.5, 45.8],
         "gte-small": [49.5, 82.0, 72.3, 41.9], "minilm": [42.7, 78.9, 63.1, 40.4]}

# Speech: WER is lower-is-better. A averages best as printed, B is best once WER is flipped.
ASR = """System,Accuracy,WER
A,90,40
B,85,10
C,80,20
"""


def write(tmp_path: Path, text: str, name: str = "mteb.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def board(path: Path, **params):
    return registry.get_task("csv-board")(file=str(path), **params)


def official(path: Path, **params) -> dict[str, float]:
    from tasks.leaderboard.leaderboard_tasks import make_method
    from tasks.leaderboard._scoring import rank_board

    task = board(path, **params)
    b = task.board()
    scores = rank_board(b, task.rules(b), make_method("official")).scores
    return dict(zip(b.systems, scores.tolist()))


def verb(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(["leaderboard", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- its own name -------------------------------------------------------------------------
def test_a_csv_path_is_a_board_of_its_own(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    code, out, _ = verb(capsys, str(path), "--top", "0")
    assert code == 0
    assert "_mteb: 4 systems, 4 shown_" in out
    assert "glue" not in out and "lacks" not in out
    code, out, _ = verb(capsys, "--file", str(path))  # --file alone: the same board
    assert code == 0 and "_mteb: 4 systems" in out


def test_the_sidecar_names_the_board(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    write(tmp_path, 'name = "MTEB English (2023)"\n', "mteb.toml")
    _, out, _ = verb(capsys, str(path))
    assert "_MTEB English (2023): 4 systems" in out


def test_glue_with_another_board_points_to_the_own_board_verb(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    _, out, _ = verb(capsys, "glue", "--file", str(path), "--human", "none")
    assert "lacks glue's CoLA" in out and "`harness leaderboard FILE`" in out


# -- roles ----------------------------------------------------------------------------------
def test_aggregate_columns_are_detected_and_not_averaged(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    b = board(path).board()
    assert b.columns == ["Retrieval", "STS", "Classification", "Clustering"]
    assert b.detected == ["Mean-Rank", "Meta-Ave"] and b.total == "Score"
    assert b.aggregates["Mean-Rank"].tolist() == [2.5, 2.0, 3.5, 4.0]
    scores = official(path)
    for system, row in TASKS.items():
        assert scores[system] == pytest.approx(sum(row) / 4)
    _, out, _ = verb(capsys, str(path))
    assert "published aggregate columns (not averaged in): Mean-Rank, Meta-Ave" in out
    assert "detected by name: Mean-Rank, Meta-Ave" in out
    assert "task columns (every aggregator): Retrieval|STS|Classification|Clustering" in out


def test_roles_from_flags_override_detection(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    scores = official(path, roles="Meta-Ave=task|Retrieval=ignore")
    assert scores["minilm"] == pytest.approx((56.3 + 78.9 + 63.1 + 40.4) / 4)
    _, out, _ = verb(capsys, str(path), "--role", "Meta-Ave=task", "--role", "Retrieval=ignore")
    assert "task columns (every aggregator): Meta-Ave|STS|Classification|Clustering" in out
    assert "ignored columns: Retrieval" in out


def test_roles_from_the_sidecar_and_flags_on_top(tmp_path: Path) -> None:
    path = write(tmp_path, MTEB)
    write(tmp_path, '[columns]\n"Clustering" = "ignore"\n"Meta-Ave" = "task"\n', "mteb.toml")
    assert board(path).board().columns == ["Meta-Ave", "Retrieval", "STS", "Classification"]
    # a param overrides the sidecar's role for that column, and adds its own
    t = board(path, roles="Meta-Ave=aggregate|STS=ignore")
    assert t.board().columns == ["Retrieval", "Classification"]
    assert board(path, sidecar="none").board().columns == ["Retrieval", "STS", "Classification", "Clustering"]


def test_the_sidecar_is_part_of_the_cell_key(tmp_path: Path) -> None:
    from harness.plan.cells import Cell

    path = write(tmp_path, MTEB)
    before = Cell.build("csv-board", "official", 0, "smoke", {"file": str(path)}).key
    write(tmp_path, '[columns]\n"Clustering" = "ignore"\n', "mteb.toml")
    assert Cell.build("csv-board", "official", 0, "smoke", {"file": str(path)}).key != before


# -- lower is better --------------------------------------------------------------------------
def test_lower_is_better_columns_are_flipped_before_averaging(tmp_path: Path) -> None:
    path = write(tmp_path, ASR)
    assert official(path) == {"A": 65.0, "B": 47.5, "C": 50.0}  # WER averaged as printed: A first
    flipped = official(path, lower="WER")  # 100 - WER
    assert flipped == {"A": (90 + 60) / 2, "B": (85 + 90) / 2, "C": (80 + 80) / 2}
    assert max(flipped, key=flipped.get) == "B"
    assert official(path, lower="WER", lower_as="1/x")["B"] == pytest.approx((85 + 1 / 10) / 2)


def test_lower_is_better_in_the_sidecar_and_the_footnote(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, ASR, "asr.csv")
    write(tmp_path, 'lower = ["WER"]\n', "asr.toml")
    code, out, _ = verb(capsys, str(path), "--methods", "geometric")
    assert code == 0
    assert "lower is better: WER (averaged as 100-score)" in out
    assert re.search(r"\| 1 +\| B +\| 87\.50", out)


# -- the published total ----------------------------------------------------------------------
def test_a_published_total_far_from_the_recomputed_one_is_one_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    code, out, err = verb(capsys, str(path))
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: warning: ")
    assert "published Score disagrees with the recomputed official score on 1 of 4 rows by more than the tolerance 0.1" in lines[0]
    assert "row 5 (minilm): published 70, recomputed 56.28" in lines[0]
    assert "_warning:" in out  # and in the footnotes
    # a stated tolerance: 13.7 away is inside 20
    assert verb(capsys, str(path), "--tolerance", "20")[2] == ""
    # with a correct total (the other rows agree within the rounding bound) there is no warning
    fixed = write(tmp_path, MTEB.replace("4.0,56.3,70.0", "4.0,56.3,56.3"), "fixed.csv")
    assert verb(capsys, str(fixed))[2] == ""


def test_another_column_as_the_total(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    _, _, err = verb(capsys, str(path), "--total", "Meta-Ave")
    assert err == ""  # Meta-Ave is right for every row (to 0.1)
    _, _, err = verb(capsys, str(path), "--total", "none")
    assert err == ""


def test_the_cell_counts_the_mismatch(tmp_path: Path) -> None:
    from tasks.leaderboard.leaderboard_tasks import make_method, sibling
    from tasks.leaderboard._scoring import evaluate

    task = board(write(tmp_path, MTEB))
    b = task.board()
    e = evaluate(b, task.rules(b), make_method("official"), sibling)
    assert e.metrics["n_score_mismatches"] == 1 and e.metrics["max_abs_error_vs_published"] == pytest.approx(13.725)
    assert any(n.startswith("warning: ") and "minilm" in n for n in e.notes)


# -- human rows ---------------------------------------------------------------------------------
def test_human_row_found_by_name_or_none(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, ASR + "Human,95,5\n", "asr.csv")
    b = board(path).board()
    assert b.systems[b.human] == "Human" and b.human_how == "found by name"
    assert board(path, human="none").board().human is None
    assert board(write(tmp_path, ASR, "plain.csv")).board().human is None  # auto: no such row, no human row
    _, out, _ = verb(capsys, str(path))
    assert "human row: Human (found by name; human=none to rank without it)" in out


def test_human_none_still_prints_a_ranking(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    code, out, _ = verb(capsys, str(path), "--param", "human=none", "--param", "nonpositive=error")
    assert code == 0 and re.search(r"\| 1 +\| bge-base", out)
    store = tmp_path / "store"
    argv = ["run", "--tasks", "csv-board", "--methods", "official,arithmetic,geometric,harmonic", "--scale", "smoke",
            "--param", f"file={path}", "--param", "human=none", "--store", str(store)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no records" not in out
    assert re.search(r"\| geometric +\| 1 +\|", out)  # the rank agreement with the official ranking (τ = 1)


def test_a_family_run_leaves_the_own_board_task_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["run", "--tasks", "leaderboard", "--methods", "official", "--scale", "smoke", "--dry-run", "--store", str(tmp_path / "s")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "glue × official" in out and "csv-board" not in out


# -- bad input: one line, exit 2 ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "sidecar", "message"),
    [
        (["--role", "Mean-Rank=aggregat"], None, r"unknown role 'aggregat' for column 'Mean-Rank'; did you mean 'aggregate'\?"),
        (["--role", "Mean-Rank"], None, r"'Mean-Rank' is not COLUMN=ROLE"),
        (["--role", "Latency=ignore"], None, r"no column 'Latency' \(columns: Model, Mean-Rank"),
        (["--lower", "Retreival"], None, r"lower .*a lower-is-better column must be a task column;: no column 'Retreival'; did you mean 'Retrieval'\?"),
        (["--lower", "STS", "--lower-as", "1-x"], None, r"row 2 \(e5-large\) column STS: 82.1 is outside 0 <= x <= 1"),
        (["--lower", "STS", "--lower-as", "100/x"], None, r"lower_as must be one of"),
        (["--total", "Averag"], None, r"total .*: no column 'Averag'"),
        (["--total", "STS", "--role", "STS=task"], None, r"STS is declared a task column; the published total must be an aggregate"),
        (["--param", "nosuch=1"], None, r"unknown parameter 'nosuch' for csv-board"),
        (["--tolerance", "-3"], None, r"tolerance must be >= 0"),
        ([], '[columns]\n"Mean-Rank" = "average"\n', r"mteb.toml: unknown role 'average'"),
        ([], 'names = "x"\n', r"mteb.toml: unknown key 'names'"),
        ([], "lower = [\n", r"mteb.toml: not valid TOML"),
        (["--sidecar", "{tmp}/nosuch.toml"], None, r"no such file"),
    ],
)
def test_bad_roles_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], sidecar: str | None, message: str) -> None:
    path = write(tmp_path, MTEB)
    if sidecar is not None:
        write(tmp_path, sidecar, "mteb.toml")
    code, _, err = verb(capsys, str(path), *(a.format(tmp=tmp_path) for a in args))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("harness: error:"), err
    assert re.search(message, err), err


def test_a_non_numeric_aggregate_cell_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, MTEB.replace("2.5,63.1", "n.a.,63.1"))
    with pytest.raises(UserError, match=r"mteb.csv row 2 \(e5-large\) column Mean-Rank: 'n.a.' is not a number"):
        board(path).board()


def test_bad_board_names_and_mixups(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, MTEB)
    for argv, message in (
        (["glu"], r"unknown board 'glu': did you mean 'glue'\?"),
        ([], r"name a board \(glue, superglue\) or give the path"),
        (["glue", "--role", "X=task"], r"--role is for a board of your own"),
        ([str(path), "--write"], r"--write regenerates the committed page"),
        ([str(tmp_path / "missing.csv")], r"csv-board.file=.*missing.csv: no such file"),
    ):
        code, _, err = verb(capsys, *argv)
        assert code == 2 and re.search(message, err), (argv, err)
    with pytest.raises(UserError, match="csv-board needs your leaderboard CSV"):
        registry.get_task("csv-board")().board()


# -- papercuts ---------------------------------------------------------------------------------
def test_csv_is_complete_unless_top_is_given(capsys: pytest.CaptureFixture) -> None:
    _, out, _ = verb(capsys, "glue", "--format", "csv")
    assert len(out.strip().splitlines()) == 1 + 100
    _, out, _ = verb(capsys, "glue", "--format", "csv", "--top", "3")
    assert len(out.strip().splitlines()) < 10
    _, out, _ = verb(capsys, "glue")  # markdown keeps its top 20
    assert "100 systems, 21 shown" in out


def test_write_leaves_the_default_store_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.report.page import write_family_page

    default = tmp_path / "default-store"
    monkeypatch.setenv("HARNESS_STORE", str(default))
    page, *_ = write_family_page("leaderboard", None, force=True, results=tmp_path / "results")
    assert "[✘ refuted at full] 8783-paper-geo-harm-dethrone-models" in page.read_text(encoding="utf-8")
    assert not default.exists() or not any(p.is_file() for p in default.rglob("*"))
    given = tmp_path / "given"
    write_family_page("leaderboard", str(given), force=True, results=tmp_path / "results")  # an explicit --store keeps the cells
    assert any(p.suffix == ".parquet" for p in given.rglob("*"))


def test_generic_table_shows_exact_ranks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = tmp_path / "store"
    assert main(["run", "--tasks", "leaderboard", "--methods", "official,geometric", "--scale", "smoke", "--store", str(store), "--no-report"]) == 0
    capsys.readouterr()
    assert main(["table", "--tasks", "leaderboard", "--store", str(store), "--metric", "human_rank"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\| geometric +\| 16 +\| 4 +\|", out), out
    assert ".0000" not in out and "(1)" not in out
    assert "one exact value per cell (unseeded)" in out


def test_bundled_boards_are_parsed_exactly_as_before() -> None:
    for name, n_columns in (("glue", 11), ("superglue", 10)):
        b = registry.get_task(name)().board()
        assert len(b.columns) == n_columns and b.detected == [] and b.ignored == [] and b.total == "Score"
        assert list(b.aggregates) == ["Score"] and not b.lower.any() and b.human_how == ""
        assert np.array_equal(b.aggregates["Score"], b.published, equal_nan=True)


def test_run_with_human_none_prints_a_table(tmp_path, capsys) -> None:
    """Before: `harness run --tasks glue --param human=none` printed '(no records for metric
    human_rank)': the run's table now falls back to the first table metric the cells stored."""
    from harness.cli import main

    assert main(["run", "--tasks", "glue", "--methods", "arithmetic", "--param", "human=none", "--scale", "smoke",
                 "--store", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "no records for metric" not in out and "| arithmetic |" in out


def test_task_columns_named_with_an_aggregate_word_stay_tasks() -> None:
    """Review finding: `Rank-1`, `Mean IoU`, `Total Recall` were taken for a board's own totals."""
    from tasks.leaderboard.columns import looks_aggregate

    assert all(map(looks_aggregate, ["Average", "Avg.", "Meta-Ave", "Mean-Rank", "Overall", "Total", "Mean win rate", "Average Score"]))
    assert not any(map(looks_aggregate, ["Rank-1", "Mean IoU", "Total Recall", "Overall Acc", "CoLA", "GLUE Score"]))


# -- untidy published files (issue 20, item 9) ---------------------------------------------------

def test_an_overflowing_cell_is_one_line_not_a_numpy_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """1e308 overflowed the arithmetic mean (unranked, reason '()') while harmonic ranked it first,
    with a numpy RuntimeWarning on stderr; now the cell is named and the board refused."""
    path = write(tmp_path, "System,T1,T2\nA,80,70\nB,60,50\nBig,1e308,1e308\nC,40,30\n", "big.csv")
    code, out, err = verb(capsys, str(path))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and "row 4 (Big) column T1: 1e+308 is too large" in err
    assert "RuntimeWarning" not in err and "overflow encountered" not in err
    with pytest.raises(UserError, match="too large"):  # `harness run --tasks csv-board` refuses it before any cell
        board(path).fingerprint()


def test_a_trailing_empty_field_is_read_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A published file whose data rows end with a comma the header lacks: read, and said."""
    path = write(tmp_path, "System,T1,T2\nA,80,70,\nB,60,50,\n", "trail.csv")
    code, out, err = verb(capsys, str(path))
    assert code == 0 and "| A " in out and "| B " in out
    assert "2 rows (2–3) end with an empty field the header does not have (a trailing comma); read without it" in err
    assert official(path) == {"A": 75.0, "B": 55.0}
    every = write(tmp_path, "System,T1,T2,\nA,80,70,\nB,60,50,\n", "every.csv")  # the header's line ends with one too
    assert official(every) == {"A": 75.0, "B": 55.0} and "every line ends with an empty field" in board(every).board().notes[0]
    filled = write(tmp_path, "System,T1,T2\nA,80,70,x\nB,60,50,\n", "filled.csv")
    code, _, err = verb(capsys, str(filled))
    assert code == 2 and "its last field is not empty: not a trailing comma" in err


def test_a_column_empty_on_every_row_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, "System,T1,T2\nA,80,\nB,60,\n", "emptycol.csv")
    code, out, err = verb(capsys, str(path))
    assert code == 0 and "column T2 is empty on every row" in err and "--role 'T2=ignore'" in err
    assert "column T2 is empty on every row" in out  # and in the footnotes
    code, out, err = verb(capsys, str(path), "--role", "T2=ignore")
    assert code == 0 and "empty on every row" not in err and "75.00" not in out and "80.00" in out


def test_a_single_cell_is_marked_missing_with_a_dash(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A published 0 that means "not reported" counts as a real 0; - (or an empty cell) marks it
    missing, and the human row is then unranked with the reason named."""
    zero = write(tmp_path, "System,T1,AX\nA,80,70\nHuman Baselines,90,0\n", "zero.csv")
    dash = write(tmp_path, "System,T1,AX\nA,80,70\nHuman Baselines,90,-\n", "dash.csv")
    empty = write(tmp_path, "System,T1,AX\nA,80,70\nHuman Baselines,90,\n", "empty.csv")
    assert official(zero)["Human Baselines"] == 45.0
    for path in (dash, empty):
        scores = official(path)
        assert np.isnan(scores["Human Baselines"]) and scores["A"] == 75.0
    code, out, _ = verb(capsys, str(dash))
    assert code == 0 and "official 1 (1 missing)" in out
    code, _, err = verb(capsys, str(write(tmp_path, "System,T1,AX\nA,80,70\nB,90,n/a\n", "na.csv")))
    assert code == 2 and "or - for missing" in err


def test_names_with_tabs_and_pipes_keep_the_markdown_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, "System,T1,T2\nA\tX|Y,80,70\nB,60,50\n", "tab.csv")
    code, out, _ = verb(capsys, str(path))
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert code == 0 and "\t" not in out and all(line.count(" | ") + line.count("-|-") >= 8 for line in table)
    assert "A X\\|Y" in out


@pytest.mark.parametrize("name", ["Human performance (Nangia and Bowman 2019)", "Humans — crowd workers", "Human: 5 raters",
                                  "Human Baselines [ours]"])
def test_a_human_row_with_an_aside_is_found(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f"System,T1,T2\nA,80,70\n{name},90,95\nB,60,50\n", "human.csv")
    b = board(path).board()
    assert b.human is not None and b.systems[b.human] == name and b.human_how == "found by name"


@pytest.mark.parametrize("name", ["Human-like LM", "HumanEval-tuned 7B", "T5 + human feedback"])
def test_a_system_named_after_humans_is_not_the_human_row(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f"System,T1,T2\nA,80,70\n{name},90,95\nB,60,50\n", "human.csv")
    assert board(path).board().human is None
