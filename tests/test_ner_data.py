"""Reading corpora: CoNLL columns and CLUENER JSON through ``datasets``, the bundle's real files
(counts from the bundle README), bad input, truncation, and the user-files task."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.plan.contract import DataFile
from harness.plan.data import is_available
from harness.common.errors import UserError
from tasks.ner import data as nd

pytest.importorskip("datasets")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_conll_parsing_skips_docstart_and_reads_iob1(tmp_path: Path) -> None:
    path = write(tmp_path, "x.conll", "EU NNP I-NP I-ORG\nrejects VBZ I-VP O\n\n-DOCSTART- -X- O O\n\nPeter NNP I-NP I-PER\nBlack NNP I-NP I-PER\nJohn NNP I-NP B-PER\n")
    corpus = nd.parse_conll(nd.read_lines(path), "iob1", name="x.conll")
    assert [s.tokens for s in corpus.sentences] == [("EU", "rejects"), ("Peter", "Black", "John")]
    assert [s.spans for s in corpus.sentences] == [((0, 0, "ORG"),), ((0, 1, "PER"), (2, 2, "PER"))]


def test_malformed_line_is_one_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.conll", "a O\nlonelytoken\n")
    with pytest.raises(UserError, match=r"bad.conll: line 2 is malformed"):
        nd.parse_conll(nd.read_lines(path), "bio", name="bad.conll")


def test_bad_tag_names_the_sentence(tmp_path: Path) -> None:
    path = write(tmp_path, "t.conll", "a O\n\nb Z-PER\n")
    with pytest.raises(UserError, match=r"sentence at line 3: tag 'Z-PER' does not parse"):
        nd.parse_conll(nd.read_lines(path), "bio", name="t.conll")


def test_i_after_o_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.conll", "a O\nb I-PER\n")
    assert nd.parse_conll(nd.read_lines(path), "bio").repaired == 1
    with pytest.raises(UserError, match="does not continue"):
        nd.parse_conll(nd.read_lines(path), "bio", "error")


def test_cluener_json_checks_offsets(tmp_path: Path) -> None:
    ok = '{"text": "郑阿姨就赶到文汇路排队", "label": {"address": {"文汇路": [[6, 8]]}}}\n'
    corpus, types = nd.parse_cluener(nd.read_lines(write(tmp_path, "a.json", ok)))
    assert corpus.sentences[0].spans == ((6, 8, "address"),) and types == ("address",)
    outside = '{"text": "文汇路", "label": {"address": {"文汇路": [[1, 3]]}}}\n'
    with pytest.raises(UserError, match="outside the sentence of 3 tokens"):
        nd.parse_cluener(nd.read_lines(write(tmp_path, "b.json", outside)), name="b.json")
    wrong = '{"text": "文汇路口", "label": {"address": {"文汇路": [[1, 3]]}}}\n'
    with pytest.raises(UserError, match="reads '汇路口', not '文汇路'"):
        nd.parse_cluener(nd.read_lines(write(tmp_path, "c.json", wrong)))
    with pytest.raises(UserError, match="line 1: not a CLUENER JSON object"):
        nd.parse_cluener(nd.read_lines(write(tmp_path, "d.json", "[1, 2]\n")))


def need(*files: DataFile) -> None:
    if not is_available(files):
        pytest.skip("the shared NER data bundle is not on this machine")


def test_bundle_counts_match_the_readme() -> None:
    from harness.plan.data import resolve

    need(nd.CONLL_TRAIN, nd.WNUT_TEST, nd.PD_DEV, nd.CLUENER_DEV)
    conll = nd.load_conll_file(str(resolve(nd.CONLL_TRAIN)), "iob1")
    assert len(conll) == 14041 and nd.types_of(conll) == nd.CONLL_TYPES
    assert conll.repaired == 0  # IOB1 read as IOB1: nothing to repair
    assert len(nd.load_conll_file(str(resolve(nd.WNUT_TEST)), "bio")) == 1287
    assert len(nd.load_conll_file(str(resolve(nd.PD_DEV)), "bio")) == 2318
    cluener, types = nd.load_cluener_file(str(resolve(nd.CLUENER_DEV)))
    assert len(cluener) == 1343 and types == nd.CLUENER_TYPES


def test_conll_iob1_differs_from_reading_it_as_bio() -> None:
    """Reading CoNLL-2003 as IOB2 would 'repair' thousands of leading I- tags."""
    from harness.plan.data import resolve

    need(nd.CONLL_TEST)
    path = str(resolve(nd.CONLL_TEST))
    as_iob1, as_bio = nd.load_conll_file(path, "iob1"), nd.load_conll_file(path, "bio")
    assert as_iob1.repaired < 50 < as_bio.repaired
    # and the spans agree except where B- splits two same-type entities
    same = sum(a.spans == b.spans for a, b in zip(as_iob1.sentences, as_bio.sentences))
    assert same > 0.99 * len(as_iob1)


def test_peoples_daily_split_is_fixed() -> None:
    from tasks.ner.corpora import PD_VALID, PeoplesDaily

    need(nd.PD_DEV, nd.PD_TEST)
    a, b = PeoplesDaily().splits(), PeoplesDaily().splits()
    assert a.train == b.train and len(a.valid) == PD_VALID and len(a.train) == 2318 - PD_VALID
    assert len(a.test) == 4636


def test_user_files_task_reads_the_example_and_rejects_bad_folders(tmp_path: Path) -> None:
    from tasks.ner.custom import NerFiles

    splits = NerFiles().splits()
    assert splits.types == ("LOC", "ORG", "PER") and len(splits.train) == 80
    with pytest.raises(UserError, match="is not a folder"):
        NerFiles(data=str(tmp_path / "nope")).splits()
    write(tmp_path, "train.conll", "a B-X\n")
    with pytest.raises(UserError, match="no test.\\* file"):
        NerFiles(data=str(tmp_path)).splits()
    write(tmp_path, "test.conll", "b O\n\nc B-X\n")
    got = NerFiles(data=str(tmp_path)).splits()  # no dev file: valid carved from train
    assert got.types == ("X",) and len(got.test) == 2


def test_truncation_counts_and_misses_cut_entities() -> None:
    torch = pytest.importorskip("torch")
    from harness.plan.contract import RunContext
    from methods.ner.globalpointer import GlobalPointer
    from tasks.ner.data import Corpus, Sentence, Splits
    from tasks.ner._protocol import Schedule, train_and_test

    torch.manual_seed(0)
    long = Sentence(tuple("abcdefghij"), ((1, 2, "X"), (7, 9, "X")))  # the second span is cut at maxlen 6
    short = Sentence(tuple("abc"), ((0, 1, "X"),))
    splits = Splits(Corpus((long, short) * 4), Corpus((short,)), Corpus((long, short)), ("X",))
    sched = Schedule(epochs=1, batch_size=4, lr=1e-2, maxlen=6, emb=8, hidden=8)
    out = train_and_test(GlobalPointer(head_size=4), splits, "zh", sched, RunContext(seed=0, scale="smoke"))
    assert out.metrics["test_truncated"] == 1.0
    assert out.metrics["train_spans_truncated"] == 4.0
    assert all(e < 6 for p in out.predictions for _, e, _ in p)  # nothing predicted past maxlen
    assert out.metrics["recall"] <= 2 / 3  # the cut gold span stays in the score, as a miss


def test_hub_dataset_offline_is_one_line() -> None:
    """``data=hf:<id>`` goes through datasets' hub loader; offline it is one clear line. The
    offline flags are read when ``datasets`` is imported: the load runs in a fresh process that
    has them from its start, and the message proves the flag was in force."""
    import os
    import subprocess
    import sys

    code = ("from harness.common.errors import UserError\n"
            "from tasks.ner.custom import NerFiles\n"
            "task = NerFiles(data='hf:no-such-user/no-such-ner')\n"
            "assert task.fingerprint() == 'hf:no-such-user/no-such-ner'\n"
            "try:\n    task.splits()\nexcept UserError as exc:\n    print(exc)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.count("\n") == 1 and "cannot load hub dataset 'no-such-user/no-such-ner'" in done.stdout
    assert "OfflineModeIsEnabled" in done.stdout


