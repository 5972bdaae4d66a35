"""A user's own data (csv-lt, pair-file, ner-files) is read and checked before anything runs.

Each bad file is one line on stderr naming the file (and line, column where there is one), exit
2, and no store folder — not a failed cell per method and seed, and never the bare
``DatasetGenerationError`` that ``datasets`` raises for an empty, binary or latin-1 file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli import main

GOOD_CSV = "text,label\n" + "".join(f"text number {i} about {'cats' if i % 2 else 'dogs'},{'a' if i % 2 else 'b'}\n" for i in range(40))
PAIRS = "".join(f"sentence a{i}\tsentence b{i}\t{i % 6}\n" for i in range(60))
CONLL = "John\tB-PER\nlives\tO\nin\tO\nNew\tB-LOC\nYork\tI-LOC\n\nAcme\tB-ORG\nhired\tO\nMary\tB-PER\n\n" * 10
JSONL = json.dumps({"text": "John lives in York", "label": {"PER": {"John": [[0, 3]]}}}) + "\n"
ALL_O = CONLL.replace("B-PER", "O").replace("B-LOC", "O").replace("I-LOC", "O").replace("B-ORG", "O")
RUN = ["run", "--no-baseline", "--seeds", "0", "--scale", "smoke", "--no-report"]


def _file(tmp: Path, name: str, data: str | bytes) -> str:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def _ner(tmp: Path, train: str | bytes, test: str | bytes | None, suffix: str = ".conll") -> str:
    _file(tmp, f"corpus/train{suffix}", train)
    if test is not None:
        _file(tmp, f"corpus/test{suffix}", test)
    return str(tmp / "corpus")


def csv_lt(name: str, data: str | bytes, *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["--tasks", "csv-lt", "--methods", "erm", "--param", f"csv-lt.data={_file(tmp, name, data)}", *extra]


def pair_file(data: str | bytes, *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["--tasks", "pair-file", "--methods", "cosent", "--param", f"pair-file.path={_file(tmp, 'pairs.tsv', data)}", *extra]


def ner_files(train: str | bytes, test: str | bytes | None, suffix: str = ".conll") -> Callable[[Path], list[str]]:
    return lambda tmp: ["--tasks", "ner-files", "--methods", "softmax", "--param", f"ner-files.data={_ner(tmp, train, test, suffix)}"]


CASES = [
    # csv-lt
    ("csv-lt missing file", lambda tmp: ["--tasks", "csv-lt", "--methods", "erm", "--param", "csv-lt.data=/nonexistent.csv"],
     "no file '/nonexistent.csv'"),
    ("csv-lt unknown column", csv_lt("d.csv", GOOD_CSV, "--param", "csv-lt.text_column=utterance"), "line 1: no column 'utterance'"),
    ("csv-lt empty file", csv_lt("d.csv", ""), "is empty"),
    ("csv-lt header only", csv_lt("d.csv", "text,label\n"), "has a header line but no examples"),
    ("csv-lt latin-1", csv_lt("d.csv", (GOOD_CSV + "caf\u00e9,a\n").encode("latin-1")), "line 42 column 4: byte 0xe9 is not UTF-8"),
    ("csv-lt binary", csv_lt("d.csv", b"text,label\n" + bytes(range(256)) * 4), "line 2: a NUL byte"),
    ("csv-lt one class", csv_lt("d.csv", "text,label\n" + "".join(f"t {i},a\n" for i in range(20))), "at least 2 classes"),
    ("csv-lt singleton classes", csv_lt("d.csv", "text,label\n" + "".join(f"t {i},c{i}\n" for i in range(20))),
     "no class has 2 examples"),
    ("csv-lt empty label", csv_lt("d.csv", GOOD_CSV + "some text,\n"), "line 42 column label: empty label"),
    ("csv-lt ragged line", csv_lt("d.csv", GOOD_CSV + "a,b,c,d\n"), "line 42: 4 fields, the header has 2"),
    ("csv-lt test_fraction=0", csv_lt("d.csv", GOOD_CSV, "--param", "csv-lt.test_fraction=0"), "test_fraction must be in (0, 1)"),
    ("csv-lt test_fraction=1.5", csv_lt("d.csv", GOOD_CSV, "--param", "csv-lt.test_fraction=1.5"), "test_fraction must be in (0, 1)"),
    # pair-file
    ("pair-file missing file", lambda tmp: ["--tasks", "pair-file", "--methods", "cosent", "--param", "pair-file.path=/nonexistent.tsv"],
     "pair file /nonexistent.tsv not found"),
    ("pair-file unknown column", pair_file("s1\ts2\tscore\n" + PAIRS, "--param", "pair-file.header=true", "--param", "pair-file.text_a=nope"),
     "no column 'nope'"),
    ("pair-file column position", pair_file(PAIRS, "--param", "pair-file.label=5"), "no column '5' (columns: 0, 1, 2)"),
    ("pair-file non-numeric label", pair_file(PAIRS + "x\ty\thigh\n"), "line 61: label 'high' in column '2' is not a number"),
    ("pair-file out-of-range label", pair_file(PAIRS + "x\ty\t7\n"), "labels are not in [0, 5] (first: line 61, 7)"),
    ("pair-file empty file", pair_file(""), "is empty"),
    ("pair-file latin-1", pair_file((PAIRS + "caf\u00e9\tcr\u00e8me\t3\n").encode("latin-1")), "line 61 column 4: byte 0xe9 is not UTF-8"),
    ("pair-file binary", pair_file(bytes(range(256)) * 8), "line 1: a NUL byte"),
    ("pair-file header only", pair_file("s1\ts2\tscore\n", "--param", "pair-file.header=true", "--param", "pair-file.text_a=s1",
                                        "--param", "pair-file.text_b=s2", "--param", "pair-file.label=score"), "header line but no pairs"),
    ("pair-file too few pairs", pair_file("a\tb\t1\nc\td\t2\n"), "leaves an empty split"),
    ("pair-file valid_fraction=1.5", pair_file(PAIRS, "--param", "pair-file.valid_fraction=1.5"), "valid_fraction must be in (0, 1)"),
    ("pair-file test_fraction=0", pair_file(PAIRS, "--param", "pair-file.test_fraction=0"), "test_fraction must be in (0, 1)"),
    ("pair-file fractions carve everything", pair_file(PAIRS, "--param", "pair-file.valid_fraction=0.6", "--param", "pair-file.test_fraction=0.6"),
     "their sum must be below 1"),
    ("pair-file ragged csv line", lambda tmp: ["--tasks", "pair-file", "--methods", "cosent", "--param",
                                               f"pair-file.path={_file(tmp, 'p.csv', 'q1,q2,y' + chr(10) + PAIRS.replace(chr(9), ',') + 'a,b,c,1' + chr(10))}",
                                               "--param", "pair-file.delimiter=comma", "--param", "pair-file.header=true", "--param", "pair-file.text_a=q1",
                                               "--param", "pair-file.text_b=q2", "--param", "pair-file.label=y"],
     "Expected 3 fields in line 62, saw 4"),
    ("pair-file malformed json line", lambda tmp: ["--tasks", "pair-file", "--methods", "cosent", "--param",
                                                   f"pair-file.path={_file(tmp, 'p.jsonl', json.dumps({'a': 'x', 'b': 'y', 'y': 1}) + chr(10) + '{oops' + chr(10))}",
                                                   "--param", "pair-file.text_a=a", "--param", "pair-file.text_b=b", "--param", "pair-file.label=y"],
     "line 2 column 2: not JSON"),
    # ner-files
    ("ner-files missing folder", lambda tmp: ["--tasks", "ner-files", "--methods", "softmax", "--param", "ner-files.data=/nonexistent"],
     "is not a folder"),
    ("ner-files no test file", ner_files(CONLL, None), "no test.* file"),
    ("ner-files unknown tags", ner_files(CONLL.replace("B-PER", "X-PER"), CONLL), "train.conll line 1 column 2, sentence at line 1: tag 'X-PER' does not parse"),
    ("ner-files empty train", ner_files("", CONLL), "train.conll is empty"),
    ("ner-files latin-1", ner_files((CONLL + "caf\u00e9\tB-LOC\n").encode("latin-1"), CONLL), "line 101 column 4: byte 0xe9 is not UTF-8"),
    ("ner-files binary", ner_files(bytes(range(256)) * 8, CONLL), "line 1: a NUL byte"),
    ("ner-files no entity", ner_files(ALL_O, ALL_O), "no entity"),
    ("ner-files span outside the sentence",
     ner_files(JSONL * 5 + json.dumps({"text": "abc", "label": {"PER": {"abcd": [[0, 9]]}}}) + "\n", JSONL * 5, ".jsonl"),
     "line 6: span (0, 9, PER) lies outside the sentence"),
]


@pytest.mark.parametrize("build,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_own_data_is_refused_before_anything_runs(build: Callable[[Path], list[str]], expected: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    monkeypatch.setenv("HARNESS_STORE", str(store))
    code = main([*RUN, *build(tmp_path)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("harness: error:") and expected in lines[0], err
    assert "DatasetGenerationError" not in err and "Traceback" not in err
    assert not store.exists()


def test_the_file_is_parsed_once_for_the_check_and_the_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before the run and the cell read one parse (memoised by path, size and mtime)."""
    from tasks.longtail import user_csv

    path = _file(tmp_path, "d.csv", GOOD_CSV)
    calls: list[str] = []
    real = user_csv.read_text
    monkeypatch.setattr(user_csv, "read_text", lambda p, what: calls.append(p) or real(p, what))
    user_csv._parsed.cache_clear()
    task = user_csv.UserCsvLT(data=path)
    task.validate()
    task.load("smoke")
    assert calls == [path]


def test_weibo_position_digits_are_said(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raw Weibo NER files (女0<TAB>B-PER.NOM: the digit is the character's place in its word) are
    read as tokens 女0 — said in one warning line, the run is not refused."""
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    weibo = "".join(f"{c}{i}\t{t}\n" for i, (c, t) in enumerate([("女", "B-PER.NOM"), ("孩", "I-PER.NOM"), ("很", "O"), ("好", "O")])) + "\n"
    folder = _ner(tmp_path, weibo * 20, weibo * 10)
    assert main(["run", "--tasks", "ner-files", "--methods", "softmax", "--seeds", "0", "--scale", "smoke", "--dry-run",
                 "--param", f"ner-files.data={folder}"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("harness: warning:")]
    assert len(warnings) == 1 and "every token of" in warnings[0] and "ends in a digit (女0, 孩1, 很2" in warnings[0]
    plain = _ner(tmp_path / "plain", CONLL, CONLL)
    assert main(["run", "--tasks", "ner-files", "--methods", "softmax", "--seeds", "0", "--scale", "smoke", "--dry-run",
                 "--param", f"ner-files.data={plain}"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_small_scores_the_whole_own_test_file_and_says_what_it_cut(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """--scale small caps a user's training pairs (the scale's budget) but scores the whole test
    split, and the run's output says so before it starts."""
    from tasks.matching.tasks import PairFile
    from tasks.ner.custom import NerFiles

    big = _file(tmp_path, "big.tsv", "".join(f"s a{i}\ts b{i}\t{i % 6}\n" for i in range(12_000)))
    task = PairFile(path=big)
    train, valid, test = task.splits("small")
    assert (len(train), len(valid)) == (2000, 500) and len(test) == 2400  # 20 % of 12,000: all of it, not 2,000
    sentences = "".join(f"w{i}\tB-PER\nx\tO\n\n" for i in range(1500))
    folder = _ner(tmp_path, sentences, sentences)
    assert len(NerFiles(data=folder).load("small").test) == 1500  # not the 1,000 of the bundled corpora's small scale
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    assert main(["run", "--tasks", "pair-file", "--methods", "cosent", "--seeds", "0", "--scale", "small", "--dry-run",
                 "--no-baseline", "--param", f"pair-file.path={big}"]) == 0
    out = capsys.readouterr().out
    assert "pair-file at small: train and valid cut to ≤2000/500 pairs" in out and "the whole test split scored" in out
