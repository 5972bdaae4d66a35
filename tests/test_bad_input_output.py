"""Names from users reach every output escaped for it: markdown, LaTeX, CSV and the terminal.

A system, column or board name (or a sidecar's ``name``) may hold HTML, LaTeX specials, a newline
followed by ``\\input{...}``, a tab, or terminal control sequences (ESC, BEL). Each output format
has one escaping layer (:mod:`harness.common.text`), used by the leaderboard renderer, the
comparison tables, the run's own lines and every error message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.common.text import md_escape, one_line, terminal_safe, tex_escape
from harness.judge.stats import summarize
from harness.report.tables import Entry, Table, render

HOSTILE = ["<script>alert(1)</script>", "A<B>C & D", "x\n\\input{/etc/passwd}", "\x1b[2J\x1b[31mEVIL\x07", "tab\there|pipe", "50% of_$x$ {#}"]


def _leaderboard(tmp_path: Path, capsys: pytest.CaptureFixture, system: str, column: str, fmt: str, name: str | None = None) -> str:
    path = tmp_path / "board.csv"
    quoted_system = '"' + system.replace('"', '""') + '"'
    quoted_column = '"' + column.replace('"', '""') + '"'
    path.write_text(f"System,{quoted_column},T2\n{quoted_system},80,70\nB,60,50\n", encoding="utf-8")
    if name is not None:
        (tmp_path / "board.toml").write_text(f"name = {name!r}\n".replace("'", '"') if "\n" not in name else
                                             'name = "' + name.replace("\\", "\\\\").replace("\n", "\\n") + '"\n', encoding="utf-8")
    assert main(["leaderboard", str(path), "--format", fmt]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    return out + err


def _no_raw_control(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text


@pytest.mark.parametrize("hostile", HOSTILE)
def test_leaderboard_markdown_escapes_system_and_column_names(tmp_path: Path, capsys: pytest.CaptureFixture, hostile: str) -> None:
    out = _leaderboard(tmp_path, capsys, hostile, hostile, "md")
    _no_raw_control(out)
    assert "<script>" not in out and "<B>" not in out and "\t" not in out
    assert "\n\\input" not in out  # a newline in a name cannot start a line of its own
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert len({line.count(" | ") for line in table[2:]}) == 1  # every row keeps its columns


@pytest.mark.parametrize("hostile", HOSTILE)
def test_leaderboard_latex_escapes_system_and_column_names(tmp_path: Path, capsys: pytest.CaptureFixture, hostile: str) -> None:
    out = _leaderboard(tmp_path, capsys, hostile, hostile, "latex")
    _no_raw_control(out)
    assert "A<B>C" not in out and "\n\\input" not in out and "<script>" not in out
    assert all(not line.startswith("\\input") for line in out.splitlines())


@pytest.mark.parametrize("hostile", HOSTILE)
def test_leaderboard_csv_reaches_the_terminal_without_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture, hostile: str) -> None:
    import csv
    import io

    out = _leaderboard(tmp_path, capsys, hostile, "T1", "csv")
    _no_raw_control(out)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1][0] == terminal_safe(hostile).strip() and len(rows) == 3  # the CSV stays a CSV: quoted, complete


@pytest.mark.parametrize("fmt", ["md", "latex"])
def test_a_sidecar_name_with_a_newline_injects_no_line(tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str) -> None:
    out = _leaderboard(tmp_path, capsys, "A", "T1", fmt, name="Board\n\\input{/etc/passwd}")
    assert not any(line.lstrip("%_ ").startswith("\\input") for line in out.splitlines())
    assert ("Board\\n\\input{/etc/passwd}" if fmt == "md" else "Board\\textbackslash{}n\\textbackslash{}input\\{/etc/passwd\\}") in out


def test_comparison_tables_escape_names_in_every_format() -> None:
    """`harness table` (and the run's closing table) on a store whose task/method names were planted."""
    name = "<b>m</b>\x1b[31m\n\\input{x}|y"
    table = Table(metric="score", columns=[name], rows=[name], entries={(name, name): Entry(summarize([0.5, 0.6]))},
                  notes=["score (higher is better) <i>"])
    md, latex, csv_text = render(table, "md"), render(table, "latex"), render(table, "csv")
    for text in (md, latex):
        _no_raw_control(text)
        assert "<b>" not in text and not any(line.startswith("\\input") for line in text.splitlines())
    assert md_escape(name) in md and tex_escape(name) in latex and "<i>" not in md
    import csv
    import io

    _no_raw_control(csv_text)
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert len(rows) == 2 and rows[1][0] == terminal_safe(name)  # a quoted CSV field may hold the line break
    assert render(Table(metric="<x>\x1b", columns=[], rows=[], entries={}), "md") == "(no records for metric <x>\\x1b)"


def test_error_messages_quote_no_raw_control_characters(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """A binary or control-laden header must not reach the terminal through an error message."""
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    data = tmp_path / "d.csv"
    data.write_bytes(b"\x1b[31mte\x07xt,label\n" + b"".join(b"t%d,%d\n" % (i, i % 2) for i in range(20)))
    code = main(["run", "--tasks", "csv-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--param", f"csv-lt.data={data}"])
    err = capsys.readouterr().err
    assert code == 2 and "no column 'text'" in err and "\\x1b[31mte\\x07xt" in err
    _no_raw_control(err)
    data.write_bytes(b"te\x00xt,label\n" + b"a,b\n")
    assert main(["run", "--tasks", "csv-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--param", f"csv-lt.data={data}"]) == 2
    err = capsys.readouterr().err
    assert "line 1: a NUL byte; this is a binary file" in err and "te\\x00xt" not in err
    _no_raw_control(err)
    board = tmp_path / "b.csv"
    board.write_bytes(b"Sys\x1btem\x00,T1\nA,80\n")
    assert main(["leaderboard", str(board)]) == 2
    err = capsys.readouterr().err
    assert "a NUL byte" in err
    _no_raw_control(err)


def test_one_line_and_terminal_safe() -> None:
    assert one_line("a\nb\r\nc") == "a\\nb\\nc"
    assert terminal_safe("\x1b[2J\x07x\ty") == "\\x1b[2J\\x07x y"
    assert tex_escape("A<B>C") == "A\\textless{}B\\textgreater{}C"
