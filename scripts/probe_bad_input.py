"""Probe `python -m harness` with bad and hostile inputs; classify each outcome (issue 20's
measurement, not a test: the tests assert each case; this counts them on a whole tree).

usage: python scripts/probe_bad_input.py TREE [CASE_PREFIX ...]   (scratch folder: $PROBE_WORK, default /tmp/probe-sec-input)

Outcomes:
  clean      refused: exit 2, one `harness: error:` line on stderr, no traceback, no store created
             (or, for escape/warn cases: exit 0, payload escaped / warning said)
  traceback  a Python traceback reached the user
  accepted   wrongly accepted: exit 0 (or the raw payload reached the output, or no warning)
  failed     exit 1: the bad input became failed cells
  multiline  refused, but with more than one line or a store folder created
  hang       ran past the timeout
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TREE = Path(sys.argv[1]).resolve()
ONLY = sys.argv[2:]
WORK = Path(os.environ.get("PROBE_WORK", "/tmp/probe-sec-input"))
shutil.rmtree(WORK, ignore_errors=True)
WORK.mkdir(parents=True)
F = WORK / "files"
F.mkdir()


def w(name: str, data: str | bytes) -> str:
    p = F / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")
    return str(p)


# ---- csv-lt fixtures ----
good_rows = "".join(f"text number {i} about {'cats' if i % 2 else 'dogs'},{'a' if i % 2 else 'b'}\n" for i in range(40))
CSV_OK = w("ok.csv", "text,label\n" + good_rows)
CSV_EMPTY = w("empty.csv", "")
CSV_HEADER = w("header.csv", "text,label\n")
CSV_LATIN = w("latin.csv", ("text,label\n" + good_rows + "caf\u00e9 cr\u00e8me,a\n").encode("latin-1"))
CSV_BINARY = w("binary.csv", b"text,label\n" + bytes(range(256)) * 4 + b"\n")
CSV_BINHEAD = w("binhead.csv", b"\x1b[31mte\x00xt\x07,\xff\xfelabel\n" + good_rows.encode())
CSV_ONECLASS = w("oneclass.csv", "text,label\n" + "".join(f"t {i},a\n" for i in range(20)))
CSV_SINGLETON = w("singleton.csv", "text,label\n" + "".join(f"t {i},c{i}\n" for i in range(20)))
CSV_EMPTYLABEL = w("emptylabel.csv", "text,label\n" + good_rows + "some text,\n")
CSV_TESTUNK = w("testunk.csv", "text,label\nfoo,zzz\nbar,a\n")
CSV_RAGGED = w("ragged.csv", "text,label\n" + good_rows + "a,b,c,d\n")

# ---- pair-file fixtures ----
pairs = "".join(f"sentence a{i}\tsentence b{i}\t{i % 6}\n" for i in range(60))
PF_OK = w("pairs.tsv", pairs)
PF_HDR = w("pairs_h.tsv", "s1\ts2\tscore\n" + pairs)
PF_NONNUM = w("nonnum.tsv", pairs + "x\ty\thigh\n")
PF_RANGE = w("range.tsv", pairs + "x\ty\t7\n")
PF_EMPTY = w("pempty.tsv", "")
PF_LATIN = w("platin.tsv", (pairs + "caf\u00e9\tcr\u00e8me\t3\n").encode("latin-1"))
PF_BINARY = w("pbinary.tsv", bytes(range(256)) * 8)
PF_HEADONLY = w("phead.tsv", "s1\ts2\tscore\n")
PF_TWO = w("ptwo.tsv", "a\tb\t1\nc\td\t2\n")
PF_BIN01 = w("bin01.tsv", "".join(f"a{i}\tb{i}\t{i % 2}\n" for i in range(40)) + "x\ty\t0.5\n")
PF_BIG = w("pbig.tsv", "".join(f"s a{i}\ts b{i}\t{i % 6}\n" for i in range(9000)))

# ---- ner fixtures ----
conll = "John\tB-PER\nlives\tO\nin\tO\nNew\tB-LOC\nYork\tI-LOC\n\nAcme\tB-ORG\nhired\tO\nMary\tB-PER\n\n" * 10


def ner_dir(name: str, train: str | bytes, test: str | bytes | None = None, suffix: str = ".conll") -> str:
    w(f"{name}/train{suffix}", train)
    if test is not None:
        w(f"{name}/test{suffix}", test)
    return str(F / name)


N_NOTEST = ner_dir("ner_notest", conll)
N_TAGS = ner_dir("ner_tags", conll.replace("B-PER", "X-PER"), conll)
N_MALFORMED = ner_dir("ner_malformed", "John\nlives O\n", conll)
N_EMPTY = ner_dir("ner_empty", "", conll)
N_LATIN = ner_dir("ner_latin", (conll + "caf\u00e9\tB-LOC\n").encode("latin-1"), conll)
N_BINARY = ner_dir("ner_binary", bytes(range(256)) * 8, conll)
N_ALLO = ner_dir("ner_allo", conll.replace("B-PER", "O").replace("B-LOC", "O").replace("I-LOC", "O").replace("B-ORG", "O"),
                 conll.replace("B-PER", "O").replace("B-LOC", "O").replace("I-LOC", "O").replace("B-ORG", "O"))
jl = json.dumps({"text": "John lives in York", "label": {"PER": {"John": [[0, 3]]}}}) + "\n"
N_SPAN = ner_dir("ner_span", jl * 5 + json.dumps({"text": "abc", "label": {"PER": {"abcd": [[0, 9]]}}}) + "\n", jl * 5, ".jsonl")
N_NOTOBJ = ner_dir("ner_notobj", jl * 3 + "[1, 2]\n", jl * 3, ".jsonl")
N_MISMATCH = ner_dir("ner_mismatch", jl * 3 + json.dumps({"text": "John", "label": {"PER": {"Mary": [[0, 3]]}}}) + "\n", jl * 3, ".jsonl")
weibo = "".join(f"{c}{i}\t{t}\n" for i, (c, t) in enumerate([("女", "B-PER.NOM"), ("孩", "I-PER.NOM"), ("很", "O"), ("好", "O")])) + "\n"
N_WEIBO = ner_dir("ner_weibo", weibo * 20, weibo * 10)
N_OK = ner_dir("ner_ok", conll, conll)

# ---- leaderboard fixtures ----
LB_SCRIPT = w("lb_script.csv", "System,<b>T1</b>,T2\n<script>alert(1)</script>,80,70\nB,60,50\n")
LB_TEX = w("lb_tex.csv", "System,T1,T2\nA<B>C,80,70\nB,60,50\n")
LB_ESC = w("lb_esc.csv", "System,T1,T2\n\x1b[2J\x1b[31mEVIL\x07,80,70\nB,60,50\n")
LB_NL = w("lb_nl.csv", "System,T1,T2\nA,80,70\nB,60,50\n")
w("lb_nl.toml", 'name = "Board\\n\\\\input{/etc/passwd}"\n')
LB_BINHEAD = w("lb_binhead.csv", b"Sys\x1b[31mtem\x00\x07,\xc3\xa9T1\n" + b"A,80\n")
LB_1E308 = w("lb_1e308.csv", "System,T1,T2\nA,80,70\nB,60,50\nBig,1e308,1e308\nC,40,30\n")
LB_TRAIL = w("lb_trail.csv", "System,T1,T2\nA,80,70,\nB,60,50,\n")
LB_EMPTYCOL = w("lb_emptycol.csv", "System,T1,T2\nA,80,\nB,60,\n")
LB_NA = w("lb_na.csv", "System,T1,T2\nA,80,70\nB,60,n/a\n")
LB_TAB = w("lb_tab.csv", "System,T1,T2\nA\tX,80,70\nB,60,50\n")
LB_HUMAN = w("lb_human.csv", "System,T1,T2\nA,80,70\nHuman performance (Nangia and Bowman 2019),90,95\nB,60,50\n")
LB_LATIN = w("lb_latin.csv", "System,T1\nCaf\u00e9,80\n".encode("latin-1"))

# ---- suite files ----
S_HUGE = w("huge.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = "0"\nscale = "huge"\n')
S_BIN = w("bin.toml", b"\xff\xfe\x00tasks = 1\x80\n")
S_DEVICE = w("device.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = "0"\ndevice = "tpu"\n')
S_OVER = w("over.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = "0"\noverwrite = "sometimes"\n')
S_TASKS = w("tasks.toml", 'tasks = 5\nmethods = ["erm"]\n')
S_PARAMS = w("params.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nparams = 3\n')
S_EXEC = w("exec.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = "0"\nexecutor = 7\n')
S_SEEDS = w("seeds.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = true\n')
S_PVAL = w("pval.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = "0"\n[params]\n"gaussian-lt.positive_rate" = 2.0\n')
PF_JSONL = w("pairs.jsonl", "".join(json.dumps({"a": f"x{i}", "b": f"y{i}", "y": i % 6}) + "\n" for i in range(40)) + '{"a": "x", "b": "y", "y": "high"}\n')
PF_JSONL_BAD = w("pairs_bad.jsonl", "".join(json.dumps({"a": f"x{i}", "b": f"y{i}", "y": i % 6}) + "\n" for i in range(40)) + "{not json\n")
PF_CSV = w("pairs.csv", "q1,q2,dup\n" + "".join(f"a{i},b{i},{i % 2}\n" for i in range(40)) + "a,b,c,1\n")
LB_SIDE_BAD = w("lb_side.csv", "System,T1,T2\nA,80,70\nB,60,50\n")
w("lb_side.toml", "nam = 1\n")
LB_SIDE_BIN = w("lb_sidebin.csv", "System,T1,T2\nA,80,70\nB,60,50\n")
w("lb_sidebin.toml", b"\xff\xfe\x00")
N_GBK = ner_dir("ner_gbk", ("\u5973\tB-PER\n\u5b69\tI-PER\n\n" * 5).encode("gbk"), conll)
N_BIOES = ner_dir("ner_bioes", "a\tB-PER\nb\tO\n\n" * 5, conll)
DIR = str(WORK / "adir")
os.makedirs(DIR)
READ = str(WORK / "readstore")
subprocess.run([sys.executable, "-m", "harness", "run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke",
                "--no-report", "--store", READ], env={**os.environ, "PYTHONPATH": str(TREE)}, capture_output=True, check=True)
RS = ["--store", READ]

LT = ["run", "--tasks", "csv-lt", "--methods", "erm", "--no-baseline", "--seeds", "0", "--scale", "smoke", "--no-report"]
PF = ["run", "--tasks", "pair-file", "--methods", "cosent", "--no-baseline", "--seeds", "0", "--scale", "smoke", "--no-report"]
NER = ["run", "--tasks", "ner-files", "--methods", "softmax", "--no-baseline", "--seeds", "0", "--scale", "smoke", "--no-report"]
GA = ["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--dry-run"]
big_gamma = ",".join(str(i) for i in range(1, 3001))
big_n = ",".join(str(n) for n in range(100, 30001, 100))


def p(name: str, value: str) -> list[str]:
    return ["--param", f"{name}={value}"]


# (id, kind, argv, check) ; kind: refuse | escape:<payload> | warn:<text> | ok
CASES: list[tuple[str, str, list[str]]] = [
    # own data: csv-lt
    ("csv-lt/missing-file", "refuse", LT + p("csv-lt.data", "/nonexistent.csv")),
    ("csv-lt/no-data", "refuse", LT),
    ("csv-lt/unknown-column", "refuse", LT + p("csv-lt.data", CSV_OK) + p("csv-lt.text_column", "utterance")),
    ("csv-lt/empty-file", "refuse", LT + p("csv-lt.data", CSV_EMPTY)),
    ("csv-lt/header-only", "refuse", LT + p("csv-lt.data", CSV_HEADER)),
    ("csv-lt/latin1", "refuse", LT + p("csv-lt.data", CSV_LATIN)),
    ("csv-lt/binary", "refuse", LT + p("csv-lt.data", CSV_BINARY)),
    ("csv-lt/binary-header", "refuse", LT + p("csv-lt.data", CSV_BINHEAD)),
    ("csv-lt/one-class", "refuse", LT + p("csv-lt.data", CSV_ONECLASS)),
    ("csv-lt/singleton-classes", "refuse", LT + p("csv-lt.data", CSV_SINGLETON)),
    ("csv-lt/empty-label", "refuse", LT + p("csv-lt.data", CSV_EMPTYLABEL)),
    ("csv-lt/ragged-row", "refuse", LT + p("csv-lt.data", CSV_RAGGED)),
    ("csv-lt/test-unknown-label", "refuse", LT + p("csv-lt.data", CSV_OK) + p("csv-lt.test_data", CSV_TESTUNK)),
    ("csv-lt/test_fraction=0", "refuse", LT + p("csv-lt.data", CSV_OK) + p("csv-lt.test_fraction", "0")),
    ("csv-lt/test_fraction=1.5", "refuse", LT + p("csv-lt.data", CSV_OK) + p("csv-lt.test_fraction", "1.5")),
    ("csv-lt/folder-as-file", "refuse", LT + p("csv-lt.data", DIR)),
    # own data: pair-file
    ("pair-file/missing-file", "refuse", PF + p("pair-file.path", "/nonexistent.tsv")),
    ("pair-file/unknown-column", "refuse", PF + p("pair-file.path", PF_HDR) + p("pair-file.header", "true") + p("pair-file.text_a", "nope")),
    ("pair-file/column-position", "refuse", PF + p("pair-file.path", PF_OK) + p("pair-file.label", "5")),
    ("pair-file/non-numeric-label", "refuse", PF + p("pair-file.path", PF_NONNUM)),
    ("pair-file/out-of-range-label", "refuse", PF + p("pair-file.path", PF_RANGE)),
    ("pair-file/binary-0.5-label", "refuse", PF + p("pair-file.path", PF_BIN01) + p("pair-file.label_max", "1")),
    ("pair-file/empty-file", "refuse", PF + p("pair-file.path", PF_EMPTY)),
    ("pair-file/latin1", "refuse", PF + p("pair-file.path", PF_LATIN)),
    ("pair-file/binary", "refuse", PF + p("pair-file.path", PF_BINARY)),
    ("pair-file/header-only", "refuse", PF + p("pair-file.path", PF_HEADONLY) + p("pair-file.header", "true") + p("pair-file.text_a", "s1") + p("pair-file.text_b", "s2") + p("pair-file.label", "score")),
    ("pair-file/two-pairs", "refuse", PF + p("pair-file.path", PF_TWO)),
    ("pair-file/valid_fraction=1.5", "refuse", PF + p("pair-file.path", PF_OK) + p("pair-file.valid_fraction", "1.5")),
    ("pair-file/test_fraction=0", "refuse", PF + p("pair-file.path", PF_OK) + p("pair-file.test_fraction", "0")),
    ("pair-file/fractions-sum>1", "refuse", PF + p("pair-file.path", PF_OK) + p("pair-file.valid_fraction", "0.6") + p("pair-file.test_fraction", "0.6")),
    ("pair-file/missing-valid_path", "refuse", PF + p("pair-file.path", PF_OK) + p("pair-file.valid_path", "/nonexistent.tsv")),
    ("pair-file/label_max<min", "refuse", PF + p("pair-file.path", PF_OK) + p("pair-file.label_max", "-1")),
    # own data: ner-files
    ("ner-files/missing-folder", "refuse", NER + p("ner-files.data", "/nonexistent")),
    ("ner-files/no-test-file", "refuse", NER + p("ner-files.data", N_NOTEST)),
    ("ner-files/unknown-tags", "refuse", NER + p("ner-files.data", N_TAGS)),
    ("ner-files/malformed-line", "refuse", NER + p("ner-files.data", N_MALFORMED)),
    ("ner-files/empty-train", "refuse", NER + p("ner-files.data", N_EMPTY)),
    ("ner-files/latin1", "refuse", NER + p("ner-files.data", N_LATIN)),
    ("ner-files/binary", "refuse", NER + p("ner-files.data", N_BINARY)),
    ("ner-files/every-tag-O", "refuse", NER + p("ner-files.data", N_ALLO)),
    ("ner-files/span-outside-sentence", "refuse", NER + p("ner-files.data", N_SPAN)),
    ("ner-files/json-not-object", "refuse", NER + p("ner-files.data", N_NOTOBJ)),
    ("ner-files/span-text-mismatch", "refuse", NER + p("ner-files.data", N_MISMATCH)),
    ("ner-files/weibo-digits", "warn:ends in a digit", NER + p("ner-files.data", N_WEIBO) + ["--dry-run"]),
    ("pair-file/jsonl-non-numeric", "refuse", PF + p("pair-file.path", PF_JSONL) + p("pair-file.text_a", "a") + p("pair-file.text_b", "b") + p("pair-file.label", "y")),
    ("pair-file/jsonl-malformed", "refuse", PF + p("pair-file.path", PF_JSONL_BAD) + p("pair-file.text_a", "a") + p("pair-file.text_b", "b") + p("pair-file.label", "y")),
    ("pair-file/csv-ragged", "refuse", PF + p("pair-file.path", PF_CSV) + p("pair-file.delimiter", "comma") + p("pair-file.header", "true") + p("pair-file.text_a", "q1") + p("pair-file.text_b", "q2") + p("pair-file.label", "dup") + p("pair-file.label_max", "1")),
    ("pair-file/folder", "refuse", PF + p("pair-file.path", DIR)),
    ("ner-files/gbk", "refuse", NER + p("ner-files.data", N_GBK)),
    ("ner-files/bioes-dangling", "refuse", NER + p("ner-files.data", N_BIOES) + p("ner-files.scheme", "bioes") + p("ner-files.on_invalid", "error")),
    ("csv-board/run-1e308", "refuse", ["run", "--tasks", "csv-board", "--methods", "official", "--seeds", "0", "--scale", "smoke", "--no-report"] + p("file", LB_1E308)),
    ("csv-board/run-missing-file", "refuse", ["run", "--tasks", "csv-board", "--methods", "official", "--seeds", "0", "--scale", "smoke", "--no-report"] + p("file", "/nonexistent.csv")),
    ("csv-board/run-binary-header", "refuse-noraw", ["run", "--tasks", "csv-board", "--methods", "official", "--seeds", "0", "--scale", "smoke", "--no-report"] + p("file", LB_BINHEAD)),
    ("csv-board/run-trailing-comma", "warn:trailing comma", ["run", "--tasks", "csv-board", "--methods", "official", "--seeds", "0", "--scale", "smoke", "--dry-run"] + p("file", LB_TRAIL)),
    ("leaderboard/sidecar-unknown-key", "refuse", ["leaderboard", LB_SIDE_BAD]),
    ("leaderboard/sidecar-binary", "refuse", ["leaderboard", LB_SIDE_BIN]),
    ("leaderboard/unknown-aggregator", "refuse", ["leaderboard", "glue", "--methods", "median"]),
    ("leaderboard/bad-task-set", "refuse", ["leaderboard", "glue", "--task-set", "first0"]),
    # params, suites, grids
    ("run/positive_rate=1.5", "refuse", GA + p("gaussian-lt.positive_rate", "1.5")),
    ("run/positive_rate=0", "refuse", GA + p("gaussian-lt.positive_rate", "0")),
    ("run/focal.gamma=-1", "refuse", ["run", "--tasks", "gaussian-lt", "--methods", "focal", "--seeds", "0", "--scale", "smoke", "--dry-run"] + p("focal.gamma", "-1")),
    ("run/dropout=1.5", "refuse", ["run", "--tasks", "iflytek-few", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--dry-run"] + p("dropout", "1.5")),
    ("run/suite-scale-huge", "refuse", ["run", S_HUGE, "--dry-run"]),
    ("run/suite-binary", "refuse", ["run", S_BIN, "--dry-run"]),
    ("run/suite-device-tpu", "refuse", ["run", S_DEVICE, "--dry-run"]),
    ("run/suite-overwrite", "refuse", ["run", S_OVER, "--dry-run"]),
    ("run/suite-tasks-int", "refuse", ["run", S_TASKS, "--dry-run"]),
    ("run/suite-params-int", "refuse", ["run", S_PARAMS, "--dry-run"]),
    ("run/suite-executor-int", "refuse", ["run", S_EXEC, "--dry-run"]),
    ("run/suite-seeds-bool", "refuse", ["run", S_SEEDS, "--dry-run"]),
    ("run/suite-param-out-of-range", "refuse", ["run", S_PVAL, "--dry-run"]),
    ("run/suite-is-folder", "refuse", ["run", DIR, "--dry-run"]),
    ("run/grid-900k", "refuse", ["run", "--tasks", "gaussian-lt", "--methods", "focal", "--seeds", "0", "--scale", "smoke", "--dry-run",
                                 "--no-baseline"] + p("focal.gamma", big_gamma) + p("n_train", big_n)),
    ("run/slurm-no-srun", "refuse", ["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--executor", "slurm", "--no-report"]),
    ("run/store-is-file", "refuse", ["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--store", CSV_OK, "--no-report"]),
    # read verbs
    ("results/output-dir", "refuse", ["results", "--output", DIR, *RS]),
    ("results/parquet-no-output", "refuse", ["results", "--format", "parquet", *RS]),
    ("table/out-dir", "refuse", ["table", "--out", DIR, *RS]),
    ("table/store-file", "refuse", ["table", "--store", CSV_OK]),
    ("report/out-dir", "refuse", ["report", "--out", DIR, *RS]),
    ("report/figures-missing", "refuse", ["report", "--figures", "/nonexistent"]),
    ("claims/unknown-family", "refuse", ["claims", "--family", "nosuch"]),
    ("plot/unknown-task", "refuse", ["plot", "--tasks", "nosuch", *RS]),
    ("fsck/missing-store", "refuse", ["fsck", "--store", "/nonexistent-store"]),
    ("compact/missing-store", "refuse", ["compact", "--store", "/nonexistent-store"]),
    ("merge/missing-source", "refuse", ["merge", "/nonexistent-store"]),
    ("list/unknown-kind", "refuse-usage", ["list", "nosuch"]),
    ("results/unknown-task", "refuse", ["results", "--tasks", "nosuch", *RS]),
    ("table/unknown-metric", "refuse", ["table", "--metric", "balanced_acuracy", *RS]),
    ("table/unknown-task", "refuse", ["table", "--tasks", "nosuch", *RS]),
    ("table/write-with-out", "refuse", ["table", "--write", "--out", "x.md", *RS]),
    ("claims/format-bad", "refuse-usage", ["claims", "--format", "yaml"]),
    ("check/unknown-task", "refuse", ["check", "--tasks", "nosuch"]),
    ("plot/missing-store", "refuse", ["plot", "--store", "/nonexistent-store"]),
    ("report/store-missing", "refuse", ["report", "--store", "/nonexistent-store", "--out", str(WORK / "r.html")]),
    ("run/unknown-task", "refuse", ["run", "--tasks", "nosuch", "--methods", "erm", "--dry-run"]),
    ("run/unknown-method", "refuse", ["run", "--tasks", "gaussian-lt", "--methods", "focall", "--dry-run"]),
    ("run/param-type", "refuse", GA + p("focal.gamma", "abc") + ["--methods", "focal"]),
    ("run/param-unknown", "refuse", GA + p("gaussian-lt.positive_rat", "0.1")),
    ("run/claims-huge-seeds", "refuse", ["run", "--claims", "all", "--seeds", "0-9999", "--dry-run"]),
    ("run/max-cells-0", "refuse", GA + ["--max-cells", "0"]),
    ("run/workers-str-suite", "refuse", ["run", w("workers.toml", 'tasks = ["gaussian-lt"]\nmethods = ["erm"]\nworkers = "2"\n'), "--dry-run"]),
    # leaderboard
    ("leaderboard/script-md", "escape:<script>", ["leaderboard", LB_SCRIPT, "--format", "md"]),
    ("leaderboard/script-column-md", "escape:<b>", ["leaderboard", LB_SCRIPT, "--format", "md"]),
    ("leaderboard/lt-gt-latex", "escape:A<B>C", ["leaderboard", LB_TEX, "--format", "latex"]),
    ("leaderboard/esc-bel-md", "escape:\x1b", ["leaderboard", LB_ESC, "--format", "md"]),
    ("leaderboard/esc-bel-csv", "escape:\x07", ["leaderboard", LB_ESC, "--format", "md"]),
    ("leaderboard/newline-name-md", "escape:\n\\input", ["leaderboard", LB_NL, "--format", "md"]),
    ("leaderboard/newline-name-latex", "escape:\n\\input", ["leaderboard", LB_NL, "--format", "latex"]),
    ("leaderboard/binary-header", "refuse-noraw", ["leaderboard", LB_BINHEAD]),
    ("leaderboard/1e308", "refuse", ["leaderboard", LB_1E308, "--format", "md"]),
    ("leaderboard/trailing-empty-field", "warn:trailing comma", ["leaderboard", LB_TRAIL]),
    ("leaderboard/empty-column", "warn:empty on every row", ["leaderboard", LB_EMPTYCOL]),
    ("leaderboard/n/a-marker", "refuse", ["leaderboard", LB_NA]),  # only - marks a missing cell (README)
    ("leaderboard/tab-in-name", "escape:A\tX", ["leaderboard", LB_TAB, "--format", "md"]),
    ("leaderboard/human-extra-text", "warn:Human performance (Nangia and Bowman 2019) (found by name", ["leaderboard", LB_HUMAN]),
    ("leaderboard/missing-file", "refuse", ["leaderboard", "/nonexistent.csv"]),
    ("leaderboard/latin1", "refuse", ["leaderboard", LB_LATIN]),
    ("leaderboard/top-negative", "refuse", ["leaderboard", "glue", "--top", "-1"]),
    ("leaderboard/unknown-board", "refuse", ["leaderboard", "glu"]),
]


def run_case(cid: str, kind: str, argv: list[str]) -> dict:
    store = WORK / "stores" / cid.replace("/", "_")
    env = {**os.environ, "PYTHONPATH": str(TREE), "HARNESS_STORE": str(store), "PATH": "/usr/bin:/bin:" + os.path.dirname(sys.executable)}
    t0 = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "harness", *argv], env=env, capture_output=True, text=True, timeout=150,
                              cwd=str(WORK), errors="replace")
    except subprocess.TimeoutExpired:
        return {"id": cid, "outcome": "hang", "s": round(time.monotonic() - t0, 1)}
    secs = round(time.monotonic() - t0, 1)
    err_lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in err_lines if line.startswith("harness: error:")]
    out = done.stdout
    if "Traceback" in done.stderr:
        outcome = "traceback"
    elif kind == "refuse-usage":  # argparse's own refusal: usage line + error line, exit 2
        outcome = "clean" if done.returncode == 2 and "error:" in done.stderr and not store.exists() else f"rc{done.returncode}"
    elif kind.startswith("refuse"):
        if done.returncode == 2:
            one = len([line for line in err_lines if not line.startswith("harness: warning:")]) == 1 and len(errors) == 1
            raw = kind == "refuse-noraw" and any(ch in done.stderr for ch in "\x1b\x00\x07")
            outcome = "clean" if one and not store.exists() and not raw else "multiline"
        elif done.returncode == 1:
            outcome = "failed"
        else:
            outcome = "accepted"
    elif kind.startswith("escape:"):
        payload = kind[len("escape:"):]
        outcome = "accepted" if payload in out or payload in done.stderr else ("clean" if done.returncode == 0 else f"rc{done.returncode}")
    elif kind.startswith("warn:"):
        text = kind[len("warn:"):]
        said = text in done.stderr or text in out
        outcome = "clean" if said and done.returncode in (0, 2) else ("accepted" if done.returncode == 0 else f"rc{done.returncode}")
    else:
        outcome = "clean" if done.returncode == 0 else f"rc{done.returncode}"
    shown = (errors or err_lines or [""])[-1][:220]
    return {"id": cid, "outcome": outcome, "rc": done.returncode, "s": secs, "stderr": shown}


results = []
for cid, kind, argv in CASES:
    if ONLY and not any(cid.startswith(o) for o in ONLY):
        continue
    r = run_case(cid, kind, argv)
    results.append(r)
    print(f"{r['outcome']:<10} {r.get('rc', '-')!s:>3} {r['s']:>6}s  {cid:<36} {r.get('stderr', '')!r}", flush=True)

counts: dict[str, int] = {}
for r in results:
    counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
print(json.dumps({"cases": len(results), **counts}))
(WORK / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
