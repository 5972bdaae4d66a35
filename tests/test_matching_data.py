"""Matching family data path: the bundle read through ``datasets``, the carve, the tokenizer,
a user's own pair file end to end, and one-line errors on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.plan import registry
from harness.plan.cells import Cell
from harness.plan.data import is_available
from harness.common.errors import UserError
from tasks.matching.data import BINARY, SCORE_0_5, Columns, carve, load_table, to_pairs
from tasks.matching.tokenizer import VOCAB, basic_split, bundle_tokenizer

needs_bundle = pytest.mark.skipif(not is_available((VOCAB,)), reason="data bundle not here")


def _task(name: str, **params):
    return registry.get_task(name)(**params)


@needs_bundle
@pytest.mark.parametrize(
    "name,sizes",
    [
        ("atec", (16000, 4000, 20000)),
        ("pawsx", (1600, 400, 2000)),
        ("stsb-zh", (5231, 1458, 1361)),
        ("stsb-en", (5749, 1500, 1379)),
        ("mrpc", (3668, 408, 1725)),
        ("afqmc", (30901, 3433, 4316)),
    ],
)
def test_bundle_splits_have_the_documented_sizes(name: str, sizes: tuple[int, int, int]) -> None:
    train, valid, test = _task(name).bundle_splits()
    assert (len(train), len(valid), len(test)) == sizes
    labels = _task(name).labels
    for part in (train, valid, test):
        assert part.label.min() >= labels.low and part.label.max() <= labels.high


@needs_bundle
def test_bundle_rows_parse_like_the_readme_says() -> None:
    train, _, test = _task("stsb-en").bundle_splits()
    assert (train.a[0], train.b[0], train.label[0]) == ("A plane is taking off.", "An air plane is taking off.", 5.0)
    assert not any(s.endswith("\r") for s in test.b)  # CRLF stripped
    mrpc_train, _, mrpc_test = _task("mrpc").bundle_splits()
    assert not mrpc_test.a[0].startswith("\ufeff")  # BOM read as utf-8-sig
    assert int(mrpc_test.label.sum()) == 1147 and int(mrpc_train.label.sum() + _task("mrpc").bundle_splits()[1].label.sum()) == 2753


def test_carve_is_seeded_disjoint_and_complete() -> None:
    from tasks.matching.data import Pairs

    pairs = Pairs(tuple(str(i) for i in range(100)), tuple("x" for _ in range(100)), np.arange(100.0) % 2)
    valid, train = carve(pairs, (0.2,), seed=4)
    again, _ = carve(pairs, (0.2,), seed=4)
    other, _ = carve(pairs, (0.2,), seed=5)
    assert len(valid) == 20 and len(train) == 80
    assert valid.a == again.a and valid.a != other.a
    assert sorted(valid.a + train.a) == sorted(pairs.a)


@needs_bundle
def test_wordpiece_matches_transformers_bert_tokenizer() -> None:
    transformers = pytest.importorskip("transformers")
    from harness.plan.data import resolve

    theirs = transformers.BertTokenizer(str(resolve(VOCAB)), do_lower_case=True)
    ours = bundle_tokenizer()
    texts = [
        "开初婚未育证明怎么弄？", "A plane is taking off.", "The tech-laced Nasdaq Composite .IXIC rallied 30.46 points",
        "Café naïve résumé, 2004年的iPhone？", "unbelievably hyperparameterised tokenizers",
    ]
    for text in texts:
        assert ours.tokens(text) == theirs.tokenize(text), text


def test_basic_split_isolates_cjk_and_punctuation() -> None:
    assert basic_split("借呗,Hello World！") == ["借", "呗", ",", "hello", "world", "！"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content,params,message",
    [
        ("a\tb\t1\nc\td\t7\n", {}, "labels are not 0/1"),
        ("a\tb\t1\nc\td\tyes\n", {}, "label 'yes' in column '2' is not a number"),
        ("q1,q2,y\nx,y,1\n", {"header": True, "delimiter": "comma", "text_a": "question1"}, "no column 'question1'"),
        ("\tb\t1\n\t\t0\n", {}, "no pair with two non-empty sentences"),
    ],
)
def test_bad_pair_files_are_one_line(tmp_path: Path, content: str, params: dict, message: str) -> None:
    path = _write(tmp_path, "pairs.tsv", content)
    task = _task("pair-file", path=str(path), label_min=0, label_max=1, **params)
    with pytest.raises(UserError, match=message) as info:
        task.bundle_splits()
    assert "\n" not in str(info.value)


def test_empty_sentences_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = "".join(f"s{i}\tt{i}\t{i % 2}\n" for i in range(20)) + "\tempty\t1\nnone\t \t0\n"
    table = load_table(_write(tmp_path, "p.tsv", rows), header=False)
    pairs = to_pairs(table, Columns("0", "1", "2"), BINARY, "p.tsv")
    assert len(pairs) == 20 and pairs.skipped == 2


def test_bad_task_params_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="encoder must be scratch, minilm or hf:"):
        _task("atec", encoder="bert")
    with pytest.raises(UserError, match="data must be bundle or hf:"):
        _task("atec", data="/some/file")
    with pytest.raises(UserError, match="label_max"):
        _task("pair-file", label_min=3, label_max=1)
    with pytest.raises(UserError, match="not found"):
        _task("pair-file", path=str(tmp_path / "nope.tsv")).bundle_splits()


@needs_bundle
def test_own_pair_file_runs_as_a_task(tmp_path: Path) -> None:
    """A user's CSV with a header and graded labels 1–4: no code, a recorded cell."""
    pytest.importorskip("torch")
    from harness.run.cell import RunOptions, run_cell
    from harness.store.store import Store

    rng = np.random.default_rng(0)
    words = ["猫", "狗", "鱼", "鸟", "马", "牛", "羊", "猪"]
    lines = ["score,left,right"]
    for _ in range(120):
        a = "".join(rng.choice(words, 4))
        b = a if rng.random() < 0.5 else "".join(rng.choice(words, 4))
        lines.append(f"{4 if a == b else 1},{a},{b}")
    path = _write(tmp_path, "mine.csv", "\n".join(lines) + "\n")
    params = dict(path=str(path), header=True, delimiter="comma", text_a="left", text_b="right", label="score", label_min=1, label_max=4)
    cell = Cell.build("pair-file", "cosent", 0, "smoke", params)
    store = Store(tmp_path / "store")
    outcome = run_cell(cell, store, RunOptions(progress=False))
    assert outcome.status.value == "ok", outcome.error
    metrics = dict(zip(store.load()["metric"], store.load()["value"]))
    assert "spearman" in metrics and "accuracy" not in metrics  # graded labels: no threshold metrics
    assert metrics["spearman"] > 50  # identical strings get cosine 1: the ranking is nearly right


def test_score_range_label_check() -> None:
    with pytest.raises(UserError, match=r"not in \[0, 5\]"):
        SCORE_0_5.check(np.array([0.0, 5.5]), "x")
    assert BINARY.binarised(np.array([0.0, 1.0])).tolist() == [0, 1]
    assert SCORE_0_5.binarised(np.array([2.5, 2.6])).tolist() == [0, 1]


def test_hub_dataset_offline_is_one_line() -> None:
    """``data=hf:<id>`` goes through datasets' hub builder; offline it is a clear error, not a traceback.
    The offline flags are read when ``datasets`` is imported, so the load runs in a fresh process
    that has them from its start (set later, a machine with a network would query the hub: the
    error would then name a lookup failure, not offline mode)."""
    code = ("from harness.common.errors import UserError\n"
            "from harness.plan.cells import Cell\n"
            "task = Cell.build('stsb-en', 'cosent', 0, 'smoke', {'data': 'hf:no-such-user/no-such-dataset', 'label': 'score'}).make_task()\n"
            "assert task.fingerprint() == 'hf:no-such-user/no-such-dataset'\n"
            "try:\n    task.hub_splits()\nexcept UserError as exc:\n    print(exc)\n")
    done = _offline_python(code)
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.count("\n") == 1 and "cannot load hub dataset 'no-such-user/no-such-dataset' split 'train'" in done.stdout
    assert "OfflineModeIsEnabled" in done.stdout  # the flag was in force: no request left this machine


def _offline_python(code: str) -> Any:
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
