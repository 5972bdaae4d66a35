"""cifar10-lt: EXP profile on the real parquet, decode cache, batched augmentation, ResNet-32,
schedules, and one smoke cell end to end. Tests that read the bundle skip when it is missing."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest
import torch

from harness.plan.contract import RunContext
from harness.plan.data import is_available, resolve
from harness.common.errors import CellFailure
from tasks.longtail import _cifar_data as cifar_data
from tasks.longtail.split import Split
from tasks.longtail.cifar import TEST, TRAIN, Cifar10LT
from tasks.longtail.schedules import PROTOCOLS, SGDSchedule
from tasks.longtail._cifar_train import crop_flip, draw_augmentation, pad_images, random_crop_flip, train_sgd
from tasks.longtail._resnet import cifar_resnet, n_parameters, resnet32

needs_cifar = pytest.mark.skipif(
    not is_available((TRAIN, TEST)),
    reason="CIFAR-10 parquet files (images/cifar10/{train,test}.parquet) not found under any data root; see shared/data/README.md",
)


@pytest.fixture
def cache(tmp_path: Any, monkeypatch: Any) -> Any:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# -- data ----------------------------------------------------------------------------------
@needs_cifar
def test_exp_profile_draws_a_seeded_random_subset_of_each_class() -> None:
    import pyarrow.parquet as pq

    expected = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert Cifar10LT().train_counts("full") == expected and sum(expected) == 12406
    table = pq.read_table(resolve(TRAIN), columns=["label", "source_path"])
    labels = table.column("label").to_numpy()
    first = cifar_data.select_per_class(labels, expected)
    paths = np.asarray(table.column("source_path").to_pylist(), dtype=object)
    start = 0
    for n in expected:  # seed None: class by class, files 0000 … n_c−1 in stored order
        numbers = [int(p.rsplit("/", 1)[1].split(".")[0]) for p in paths[first][start : start + n]]
        assert numbers == list(range(n))
        start += n
    rows = cifar_data.select_per_class(labels, expected, seed=0)
    assert np.bincount(labels[rows], minlength=10).tolist() == expected and len(set(rows.tolist())) == len(rows)
    # the reference generator: np.random.seed(0), then per class shuffle its indices and keep n_c
    np.random.seed(0)
    reference = []
    for c, n in enumerate(expected):
        idx = np.where(labels == c)[0]
        np.random.shuffle(idx)
        reference.append(idx[:n])
    assert np.array_equal(rows, np.concatenate(reference))
    assert not np.array_equal(rows, first)  # random, not the first files
    assert not np.array_equal(rows, cifar_data.select_per_class(labels, expected, seed=1))
    assert Cifar10LT(rho=10).train_counts("full")[-1] == 500 and Cifar10LT(rho=50).train_counts("full")[-1] == 100


def _tiny_parquet(path: Any, per_class: int = 3) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    rng = np.random.default_rng(0)
    blobs, labels = [], []
    for c in range(10):
        for _ in range(per_class):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, format="JPEG", quality=90)
            blobs.append(buf.getvalue())
            labels.append(c)
    pq.write_table(pa.table({"image": pa.array(blobs, pa.binary()), "label": pa.array(labels, pa.int64())}), path)


def test_decode_cache_round_trip(tmp_path: Any, cache: Any, monkeypatch: Any) -> None:
    source = tmp_path / "tiny.parquet"
    _tiny_parquet(source)
    first = cifar_data.load_images(source, "0" * 64, [2] * 10)
    assert first[0].shape == (20, 32, 32, 3) and first[0].dtype == np.uint8
    assert first[1].tolist() == np.repeat(np.arange(10), 2).tolist()
    assert list((cache / "cifar10").glob("*.npz"))

    def no_decoding(blobs: Any) -> Any:
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(cifar_data, "decode_jpegs", no_decoding)
    second = cifar_data.load_images(source, "0" * 64, [2] * 10)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    with pytest.raises(AssertionError):  # another selection (or file digest) is another entry
        cifar_data.load_images(source, "1" * 64, [2] * 10)


@needs_cifar
def test_real_decode_matches_pil(cache: Any) -> None:
    import pyarrow.parquet as pq
    from PIL import Image

    images, labels = cifar_data.load_images(resolve(TEST), TEST.sha256, [2] * 10)
    table = pq.read_table(resolve(TEST), columns=["image"])
    blob = table.column("image")[1000].as_py()  # second class, first file
    assert labels[2] == 1
    assert np.array_equal(images[2], np.asarray(Image.open(io.BytesIO(blob)).convert("RGB")))


# -- augmentation --------------------------------------------------------------------------
def test_augmentation_keeps_shape_dtype_and_is_seeded() -> None:
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = random_crop_flip(x, torch.Generator().manual_seed(3))
    b = random_crop_flip(x, torch.Generator().manual_seed(3))
    c = random_crop_flip(x, torch.Generator().manual_seed(4))
    assert a.shape == x.shape and a.dtype == torch.uint8
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_crop_and_flip_on_a_hand_made_tensor() -> None:
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    padded = pad_images(x, pad=1)
    assert padded.shape == (2, 1, 6, 6) and padded[:, :, 0].sum() == 0 and torch.equal(padded[:, :, 1:5, 1:5], x)
    offsets = torch.tensor([[0, 2], [1, 1]])
    flips = torch.tensor([True, False])
    out = crop_flip(padded, None, offsets, flips, size=4)
    assert torch.equal(out[0, 0], padded[0, 0, 0:4, 2:6].flip(-1))
    assert torch.equal(out[1, 0], x[1, 0])  # offset (pad, pad), no flip: the original
    assert out[0, 0, 0].sum() == 0  # top row comes from the zero padding
    picked = crop_flip(padded, torch.tensor([1]), offsets[1:], flips[1:], size=4)  # gather by index
    assert torch.equal(picked[0], x[1])


def test_crop_flip_matches_the_pil_reference_transform() -> None:
    from PIL import Image, ImageOps

    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    top, left = 7, 2
    ref = ImageOps.expand(Image.fromarray(img), border=4, fill=0).crop((left, top, left + 32, top + 32))
    ref = np.asarray(ref.transpose(Image.FLIP_LEFT_RIGHT))
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    ours = crop_flip(pad_images(x), None, torch.tensor([[top, left]]), torch.tensor([True]))
    assert np.array_equal(ours[0].permute(1, 2, 0).numpy(), ref)
    offsets, flips = draw_augmentation(10_000, torch.Generator().manual_seed(0))
    assert offsets.min() == 0 and offsets.max() == 8 and 0.45 < flips.float().mean() < 0.55


# -- model and schedule --------------------------------------------------------------------
def test_resnet32_parameter_count_and_output() -> None:
    # conv1 432 + bn 32 + stage1 5·(2·2304+64) + stage2 (4608+9216+128) + 4·(2·9216+128)
    # + stage3 (18432+36864+256) + 4·(2·36864+256) + linear 650 = 464,154
    model = resnet32(10)
    assert n_parameters(model) == 464_154
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert n_parameters(cifar_resnet(8, 4, 10)) < n_parameters(cifar_resnet(8, 8, 10)) < n_parameters(cifar_resnet(20, 16, 10))
    with pytest.raises(ValueError):
        cifar_resnet(30)


def test_learning_rate_schedules() -> None:
    ldam = PROTOCOLS["ldam"]
    assert [round(ldam.lr_at(e), 6) for e in (0, 4, 5, 159, 160, 179, 180, 199)] == [0.02, 0.1, 0.1, 0.1, 1e-3, 1e-3, 1e-5, 1e-5]
    la = PROTOCOLS["la_schedule"]
    steps = la.steps_per_epoch(12406)
    assert steps == 96 and ldam.steps_per_epoch(12406) == 97
    assert la.lr_at(0, 0, steps) == 0.0 and math.isclose(la.lr_at(10, 0, steps), 0.05)
    assert [round(la.lr_at(e, 0, steps), 8) for e in (20, 603, 604, 926, 1128, 1240)] == [0.1, 0.1, 0.01, 0.001, 1e-4, 1e-4]
    small = ldam.compressed(10)
    assert small.lr_at(0, 0, 10) == 0.0 and small.lr_at(1, 0, 10) == 0.1 and math.isclose(small.lr_at(8, 0, 10), 1e-3)


# -- training ------------------------------------------------------------------------------
def _tiny_split(n: int = 12, size: int = 8) -> Split:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 10
    images = rng.integers(0, 256, (n + 10, size, size, 3), dtype=np.uint8)
    return Split(images[:n], y, images[n:], np.arange(10), 10)


class _CE:
    head = "linear"

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        assert 0.0 <= ctx.progress < 1.0 and ctx.log_prior.shape == (10,)
        return torch.nn.functional.cross_entropy(logits, y)


class _NaN:
    head = "linear"

    def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
        return logits.sum() * float("nan")


def test_training_is_deterministic_on_cpu_and_fails_on_nan() -> None:
    schedule = SGDSchedule(epochs=2, batch_size=8, lr=0.05, warmup_epochs=1, per_step=True)
    ctx = RunContext(seed=5, scale="smoke")
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(train_sgd(cifar_resnet(8, 2, 10), _tiny_split(), _CE(), schedule, ctx, "fp32")[0])
    assert runs[0].shape == (10, 10) and runs[0].dtype == np.float32
    assert np.array_equal(runs[0], runs[1])
    with pytest.raises(CellFailure, match="non-finite"):
        train_sgd(cifar_resnet(8, 2, 10), _tiny_split(), _NaN(), schedule, ctx, "fp32")


@needs_cifar
def test_smoke_cell_end_to_end(tmp_path: Any, cache: Any) -> None:
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, run_cell
    from harness.store.store import Store

    store = Store(tmp_path / "store")
    cell = Cell.build("cifar10-lt", "erm", 0, "smoke")
    outcome = run_cell(cell, store, RunOptions(progress=False))
    assert outcome.status.value == "ok", outcome.error
    records = store.load()
    metrics = dict(zip(records["metric"], records["value"]))
    assert {"accuracy", "balanced_accuracy", "many_shot_accuracy", "few_shot_accuracy"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert records["notes"].iloc[0].startswith("smoke: ResNet-8")
    assert len(store.load_predictions(cell.key)) == 200


def test_cosine_head_replaces_the_last_linear_layer_everywhere() -> None:
    from tasks.longtail._heads import CosineLinear, with_head
    from tasks.longtail._train_loop import mlp

    net = with_head(cifar_resnet(8, 2, 10), "cosine")
    assert isinstance(net.linear, CosineLinear) and net.linear.weight.shape == (8, 10)
    logits = net(torch.randn(4, 3, 32, 32))
    assert logits.shape == (4, 10) and float(logits.detach().abs().max()) <= 1.0 + 1e-6  # cosines
    assert isinstance(with_head(mlp(5, 3, hidden=0), "cosine"), CosineLinear)
    two_layer = with_head(mlp(5, 3, hidden=4), "cosine")
    assert isinstance(two_layer[-1], CosineLinear) and isinstance(two_layer[0], torch.nn.Linear)
    x = torch.randn(6, 5)
    w = two_layer[-1].weight
    h = two_layer[1](two_layer[0](x))
    expected = (h / h.norm(dim=1, keepdim=True)) @ (w / w.norm(dim=0, keepdim=True))
    assert torch.allclose(two_layer(x), expected, atol=1e-6)
    plain = mlp(5, 3, hidden=4)
    assert with_head(plain, "linear") is plain
    with pytest.raises(ValueError, match="unknown head"):
        with_head(plain, "nosuch")


def test_ldam_drw_trains_with_a_cosine_head_by_default() -> None:
    from methods.longtail.ldam_drw import LDAMDRW

    assert LDAMDRW().head == "cosine" and LDAMDRW(head="linear").head == "linear"
    schedule = SGDSchedule(epochs=3, batch_size=8, lr=0.05, warmup_epochs=1, per_step=True)
    logits, history = train_sgd(cifar_resnet(8, 2, 10), _tiny_split(), LDAMDRW(), schedule, RunContext(seed=1, scale="smoke"), "fp32", track_best=True)
    assert np.isfinite(logits).all() and float(np.abs(logits).max()) <= 1.0 + 1e-5  # cosine logits
    assert len(history) == 3 and all(0.0 <= a <= 1.0 for a in history)
    assert history[-1] == pytest.approx(float(np.mean(logits.argmax(1) == np.arange(10))))  # balanced test set


def test_menon_numbers_are_compared_only_with_the_la_schedule_protocol() -> None:
    """Menon et al.'s 0.7136 / 0.7732 / 0.7789 come from their 1,241-epoch schedule: only claims
    whose cells run protocol=la_schedule (full scale) carry them, with that protocol stated."""
    from harness.judge.claim_cells import cells_for_claims
    from harness.judge.claims import all_claims
    from harness.plan.cells import Cell

    menon = {0.7136, 0.7732, 0.7789}
    carrying = [c for c in all_claims("longtail") if menon & set(c.published.values())]
    assert {c.id for c in carrying} == {"7615-la-loss-beats-erm-la-schedule", "7615-la-posthoc-beats-erm-la-schedule"}
    for claim in carrying:
        assert claim.task_params == {"protocol": "la_schedule"} == claim.published_task_params
        assert claim.scales == ("full",) and claim.published_scale == "full" and claim.protocol["epochs"].startswith("1,241")
        cells = cells_for_claims([claim], "full", [0, 1, 2])
        assert len(cells) == 6 and all(c.task_params["protocol"] == "la_schedule" for c in cells)
        default = Cell.build("cifar10-lt", cells[0].method, cells[0].seed, "full", method_params=cells[0].method_params)
        assert default.key not in {c.key for c in cells}  # another protocol is another cell
