"""Your own CSV as a long-tail task (`csv-lt`), end to end on a CSV made from the bundle's CLINC150."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.plan.data import is_available
from tasks.longtail import text_data as td
from tasks.longtail.user_csv import UserCsvLT, long_tail_subsample, stratified_split

needs_clinc = pytest.mark.skipif(not is_available((td.CLINC_IMBALANCED,)), reason="CLINC150 not in the data bundle")


def _clinc_csv(path: Path, intents: int = 12) -> Path:
    from harness.plan.data import resolve

    rows = json.loads(resolve(td.CLINC_IMBALANCED).read_text())["train"]
    keep = sorted({intent for _, intent in rows})[:intents]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["utterance", "intent", "unused"])
        writer.writerows([text, intent, "x,y"] for text, intent in rows if intent in keep)
    return path


def test_stratified_split_and_long_tail_subsample() -> None:
    labels = np.repeat(np.arange(4), [50, 20, 5, 1])
    train, test = stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[test], minlength=4).tolist() == [10, 4, 1, 0]  # a singleton class stays in train
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(labels)
    keep = long_tail_subsample(labels[train], rho=10.0, seed=0)
    counts = np.bincount(labels[train][keep], minlength=4)
    assert counts[0] == 40 and counts[0] / counts[counts > 0].min() <= 40 and (counts > 0).all()


@needs_clinc
def test_a_users_csv_runs_as_a_task(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    data = _clinc_csv(tmp_path / "intents.csv")
    params = ["--param", f"csv-lt.data={data}", "--param", "csv-lt.text_column=utterance", "--param", "csv-lt.label_column=intent",
              "--param", "csv-lt.rho=10"]
    assert main(["run", "--tasks", "csv-lt", "--methods", "logit_adjust", "--seeds", "0", "--scale", "smoke", *params]) == 0
    out = capsys.readouterr().out
    assert "baseline erm added" in out and "csv-lt" in out
    split = UserCsvLT(data=str(data), text_column="utterance", label_column="intent", rho=10.0).load("small")
    assert split.n_classes == 12 and split.counts.max() / split.counts.min() == pytest.approx(10, rel=0.15)
    assert len(split.y_test) > 0 and set(np.unique(split.y_test)) == set(range(12))


@needs_clinc
@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--param", "csv-lt.text_column=text"], "line 1: no column 'text'"),
        (["--param", "csv-lt.data=/nonexistent.csv"], "no file '/nonexistent.csv'"),
        (["--param", "csv-lt.rho=0.5"], "rho is an imbalance ratio"),
    ],
)
def test_bad_csv_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, extra: list[str], expected: str) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    data = _clinc_csv(tmp_path / "intents.csv")
    given = [] if any("csv-lt.data=" in e for e in extra) else ["--param", f"csv-lt.data={data}"]
    argv = ["run", "--tasks", "csv-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", *given,
            "--param", "csv-lt.label_column=intent", *extra]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err
