"""Claims of your own, on your own runs: typed on the command line or kept in a claims file,
decided with the same paired statistics as the declared ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

RUN = ["run", "--tasks", "gaussian-lt", "--methods", "logit_adjust,erm", "--no-baseline", "--scale", "smoke", "--seeds", "0-4"]


def test_a_claim_typed_on_the_command_line_is_decided(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([*RUN, "--store", str(tmp_path / "s"), "--claim", "logit_adjust > erm"]) == 0
    out = capsys.readouterr().out
    assert "CLAIMS this run decides: 1 of 1 decided" in out  # declared claims read other tasks too: not this run's
    line = next(l for l in out.splitlines() if "cli-1" in l)
    assert line.startswith("[✔ supported at smoke] cli-1 — logit_adjust > erm")
    assert "gaussian-lt: logit_adjust > erm [smoke] — Δ=+" in out and "(t over seeds)" in out


@pytest.mark.parametrize("text,expected", [
    ("focal > erm", "not run here"),  # a method the run does not run
    ("logit_adjust >> erm", "cannot read method"),
])
def test_a_typed_claim_that_cannot_be_decided_here_is_one_line(text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main([*RUN, "--store", str(tmp_path / "s"), "--claim", text, "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and "Traceback" not in err, err
    assert not (tmp_path / "s").exists()


def test_a_claims_file_of_your_own(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    claims = tmp_path / "mine.toml"
    claims.write_text('''
[[claim]]
id = "mine-la-beats-erm"
title = "my check"
url = "https://example.org/notes"
date = "2026-12-07"
sentence = "On the synthetic problem the logit-adjusted loss beats ERM."
tasks = ["gaussian-lt"]
compare = "logit_adjust > erm"
metric = "balanced_accuracy"
scales = ["smoke"]
min_seeds = 3
''', encoding="utf-8")
    store = str(tmp_path / "s")
    assert main(["run", "--claims-file", str(claims), "--scale", "smoke", "--seeds", "0-2", "--store", store]) == 0
    capsys.readouterr()
    assert main(["claims", "--claims-file", str(claims), "--store", store]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[✔ supported at smoke] mine-la-beats-erm — On the synthetic problem") and "n=3" in out
    bad = tmp_path / "typo.toml"
    bad.write_text(claims.read_text(encoding="utf-8").replace("min_seeds", "min_seed"), encoding="utf-8")
    assert main(["claims", "--claims-file", str(bad), "--store", store]) == 2
    assert "unknown key 'min_seed'; did you mean 'min_seeds'?" in capsys.readouterr().err
