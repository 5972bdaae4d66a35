"""Bad input gets one clear line on stderr and exit 2, before any cell runs — no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.common.text import md_escape, tex_escape


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--timeout", "0", "--dry-run"], "--timeout must be a positive"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--timeout", "nan", "--dry-run"], "--timeout must be a positive"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--timeout", "-1", "--dry-run"], "--timeout must be a positive"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "4294967296", "--dry-run"], "out of range"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0-2000000", "--dry-run"], "more than 10,000 seeds"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--workers", "0", "--dry-run"], "--workers must be"),
        (["run", "--claims", "no-such-claim", "--dry-run"], "unknown claim or family"),
        (["run", "--claims", "longtail", "--tasks", "digits-lt", "--dry-run"], "drop --tasks"),
        (["claims", "--family", "nosuch"], "unknown family 'nosuch'"),
        (["results", "-o", "/nonexistent/dir/x.csv"], "does not exist"),
        (["table", "--store", "/typo/store"], "no store at /typo/store"),
        (["table", "--store", ""], "is empty"),
        ([], "name a verb"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], expected: str, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    (tmp_path / "store").mkdir()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_suite_names_as_a_string_are_a_list(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    suite = tmp_path / "suite.toml"
    suite.write_text('tasks = "digits-lt,gaussian-lt"\nmethods = "erm"\nseeds = "0"\nscale = "smoke"\n')
    assert main(["run", str(suite), "--dry-run", "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "2 cells" in out and "digits-lt × erm" in out and "gaussian-lt × erm" in out
    suite.write_text('tasks = ["digits-lt"]\nmethods = ["erm"]\nseeds = -1\n')
    assert main(["run", str(suite), "--dry-run"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_table_metric_typo_and_empty_scale(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    assert main(["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--no-report"]) == 0
    assert main(["table", "--metric", "balanced_acuracy"]) == 2
    assert "did you mean 'balanced_accuracy'" in capsys.readouterr().err
    assert main(["table", "--metric", "accuracy", "--scale", "full"]) == 0  # no full records: a line, not an IndexError
    assert "no records" in capsys.readouterr().out


def test_an_unimportable_plugin_is_one_line() -> None:
    env = {**os.environ, "HARNESS_PLUGINS": "nosuchmodule"}
    done = subprocess.run([sys.executable, "-m", "harness", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "cannot import plugin package 'nosuchmodule'" in done.stderr and "Traceback" not in done.stderr


def test_names_are_escaped_in_markdown_and_latex() -> None:
    assert md_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_escape("a|b") == "a\\|b"
    assert tex_escape("CIFAR-10-LT ρ=100, 50% of_x") == "CIFAR-10-LT $\\rho$=100, 50\\% of\\_x"
