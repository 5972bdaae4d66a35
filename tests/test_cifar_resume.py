"""CIFAR cells cut off and resumed: checkpoints in the store (harness.store.checkpoints) through
RunContext.save_checkpoint / load_checkpoint, and a resumed cell equal bit for bit to one never
stopped (on the CPU, where every kernel is deterministic)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.common.files import ROOT
from harness.plan.contract import RunContext
from harness.plan.data import is_available
from harness.store import checkpoints as ck
from methods.longtail.erm import ERM
from methods.longtail.ldam_drw import LDAMDRW
from tasks.longtail._batched import StackedModels
from tasks.longtail._cifar_train import Position, SingleModel, checkpoint_position, restore_models, train_cells
from tasks.longtail._heads import with_head
from tasks.longtail._resnet import cifar_resnet
from tasks.longtail.cifar import TEST, TRAIN
from tasks.longtail.schedules import SGDSchedule
from tasks.longtail.split import Split

CPU = torch.device("cpu")
SCHEDULE = SGDSchedule(epochs=3, batch_size=8, lr=0.05, warmup_epochs=1, per_step=True, milestones=((2.0, 0.1),))


def _split() -> Split:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24 + 20, 16, 16, 3), dtype=np.uint8)  # 3 steps an epoch
    return Split(images[:24], np.arange(24) % 10, images[24:], np.arange(20) % 10, 10)


class Cut(Exception):
    """Stands for kill -9 right after a checkpoint was written."""


class CutAfter(ck.CellCheckpoints):
    """The store's checkpoints of one cell, with the process 'killed' after the n-th save."""

    def __init__(self, root: Path, key: str, every: float, cut_after: int | None) -> None:
        super().__init__(root, key, every)
        self.cut_after, self.saves = cut_after, 0

    def save(self, state: Any, epoch: float) -> None:
        super().save(state, epoch)
        self.saves += 1
        if self.cut_after is not None and self.saves >= self.cut_after:
            raise Cut()


def _run(tmp: Path, batched: bool, cut_after: int | None, every: float = 0.5) -> list[tuple[Any, list[float]]]:
    methods = [ERM(), LDAMDRW(drw_start=0.5)]
    seeds = (3, 4) if batched else (3,)
    methods = methods[: len(seeds)]
    # 'killed' once the last cell has written its n-th checkpoint: each cell's n-th is on disk
    contexts = [RunContext(seed=s, scale="smoke", checkpoints=CutAfter(tmp, f"{s}" * 64, every, cut_after if s == seeds[-1] else None)) for s in seeds]
    states = [c.load_checkpoint() for c in contexts]
    models = []
    for method, ctx in zip(methods, contexts):
        torch.manual_seed(ctx.seed)
        models.append(with_head(cifar_resnet(8, 2, 10), method.head))
    restore_models(models, states)
    cells = StackedModels(models, CPU) if batched else SingleModel(models[0], CPU)
    return train_cells(cells, _split(), methods, contexts, SCHEDULE, "fp32", track_best=True, states=states)


@pytest.mark.parametrize("batched", [False, True], ids=["separate", "batched"])
@pytest.mark.parametrize("cut_after,at", [(1, (0, 2)), (2, (1, 1)), (3, (2, 0))], ids=["mid-epoch-0", "mid-epoch-1", "epoch-end"])
def test_resumed_training_is_bit_identical(tmp_path: Path, batched: bool, cut_after: int, at: tuple[int, int]) -> None:
    """Checkpoints every half epoch (3 steps an epoch, so every 2 steps: epoch 0 step 2, epoch 1
    step 1, the start of epoch 2); cut after the first, second or third, resumed from the store,
    training ends exactly where an uninterrupted run ends: logits and per-epoch history equal bit
    for bit, with the stacked model as with one model."""
    torch.set_num_threads(1)
    never_cut = _run(tmp_path / "a", batched, cut_after=None, every=0)
    with pytest.raises(Cut):
        _run(tmp_path / "b", batched, cut_after=cut_after)
    positions = {checkpoint_position(ck.load(tmp_path / "b", f"{s}" * 64)) for s in ((3, 4) if batched else (3,))}
    assert positions == {Position(*at)}
    resumed = _run(tmp_path / "b", batched, cut_after=None)
    for (a, history_a), (b, history_b) in zip(never_cut, resumed):
        assert np.array_equal(a, b) and history_a == history_b and len(history_a) == 3


def test_a_cell_past_its_deadline_saves_where_it_stopped_and_resumes(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    never_cut = _run(tmp_path / "a", False, cut_after=None, every=0)
    methods, split = [ERM()], _split()
    ctx = RunContext(seed=3, scale="smoke", deadline=time.monotonic() - 1, checkpoints=ck.CellCheckpoints(tmp_path / "b", "3" * 64, 0))
    torch.manual_seed(3)
    from harness.common.errors import CellFailure

    with pytest.raises(CellFailure, match="checkpoint saved at epoch 0, step 0"):
        train_cells(SingleModel(with_head(cifar_resnet(8, 2, 10), "linear"), CPU), split, methods, [ctx], SCHEDULE, "fp32", track_best=True)
    assert ck.checkpoint_path(tmp_path / "b", "3" * 64).exists()
    resumed = _run(tmp_path / "b", False, cut_after=None)
    assert np.array_equal(never_cut[0][0], resumed[0][0])


def test_a_batch_mixing_a_start_checkpoint_and_none_trains_as_if_fresh(tmp_path: Path) -> None:
    """A deadline before the first step leaves a checkpoint at (epoch 0, step 0); beside a cell
    that has none, the stack starts both from the beginning, with the same numbers."""
    torch.set_num_threads(1)
    never_cut = _run(tmp_path / "a", True, cut_after=None, every=0)
    ctx = RunContext(seed=3, scale="smoke", deadline=time.monotonic() - 1, checkpoints=ck.CellCheckpoints(tmp_path / "b", "3" * 64, 0))
    torch.manual_seed(3)
    from harness.common.errors import CellFailure

    with pytest.raises(CellFailure):
        train_cells(SingleModel(with_head(cifar_resnet(8, 2, 10), "linear"), CPU), _split(), [ERM()], [ctx], SCHEDULE, "fp32", track_best=True)
    assert not ck.checkpoint_path(tmp_path / "b", "4" * 64).exists()
    resumed = _run(tmp_path / "b", True, cut_after=None)
    for (a, history_a), (b, history_b) in zip(never_cut, resumed):
        assert np.array_equal(a, b) and history_a == history_b


# -- the checkpoint files ------------------------------------------------------------------
def test_checkpoint_round_trip_and_damage(tmp_path: Path, capsys: Any) -> None:
    state = {"model": {"w": torch.arange(6.0).view(2, 3)}, "generator": torch.Generator().manual_seed(1).get_state(), "epoch": 2, "history": [0.5]}
    path = ck.save(tmp_path, "e" * 64, state, 2.0)
    assert path == tmp_path / "checkpoints" / f"{'e' * 64}.pt"
    back = ck.load(tmp_path, "e" * 64)
    assert torch.equal(back["model"]["w"], state["model"]["w"]) and back["history"] == [0.5] and back["epoch"] == 2
    report = ck.verify_all(tmp_path)
    assert report.verified == 1 and not report.damaged and report.bytes == path.stat().st_size
    # one flipped payload byte: quarantined with a warning, the cell starts over
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert ck.load(tmp_path, "e" * 64) is None
    assert "does not match its sha256" in capsys.readouterr().err and not path.exists()
    assert len(list((tmp_path / "quarantine").glob("checkpoints~*.pt"))) == 1
    # a checkpoint copied under another cell's name is not that cell's
    ck.save(tmp_path, "a" * 64, state, 1.0)
    os.replace(ck.checkpoint_path(tmp_path, "a" * 64), ck.checkpoint_path(tmp_path, "b" * 64))
    report = ck.verify_all(tmp_path)
    assert report.verified == 0 and "holds cell aaaaaaaaaaaa" in report.damaged[0][1]


def test_checkpoint_names_are_cell_keys(tmp_path: Path) -> None:
    """A key becomes a file name: anything but a sha256 digest is refused (no path of its own),
    and a file under checkpoints/ not named by a key is reported, not read."""
    from harness.common.errors import UserError

    with pytest.raises(UserError, match="not a sha256 hex digest"):
        ck.checkpoint_path(tmp_path, "../../records/x")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "planted.pt").write_bytes(b"x")
    report = ck.verify_all(tmp_path)
    assert report.verified == 0 and "not a cell key" in report.damaged[0][1]


def test_checkpoint_payload_cannot_run_code(tmp_path: Path) -> None:
    """Loaded with weights_only: a pickled callable (a merged-in file from elsewhere) is refused."""
    import hashlib
    import io
    import json

    sink = io.BytesIO()
    torch.save({"evil": os.system}, sink)
    payload = sink.getvalue()
    header = {"format": ck.FORMAT, "cell_key": "c" * 64, "epoch": 0.0, "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    ck.checkpoint_path(tmp_path, "c" * 64).parent.mkdir(parents=True)
    ck.checkpoint_path(tmp_path, "c" * 64).write_bytes(ck.MAGIC + json.dumps(header).encode() + b"\n" + payload)
    assert ck.load(tmp_path, "c" * 64) is None


@pytest.mark.parametrize("text,ok", [("", ck.DEFAULT_EVERY_EPOCHS), ("0", 0.0), ("0.25", 0.25), ("-1", None), ("often", None), ("inf", None)])
def test_checkpoint_interval_from_the_environment(text: str, ok: float | None) -> None:
    from harness.common.errors import UserError

    if ok is None:
        with pytest.raises(UserError, match="HARNESS_CHECKPOINT_EVERY"):
            ck.every_epochs(text)
    else:
        assert ck.every_epochs(text) == ok


# -- a real smoke cell, killed -9 and run again --------------------------------------------
DRIVER = textwrap.dedent("""
    import sys, time
    from harness.plan.cells import Cell
    from harness.run.cell import RunOptions, run_cell
    from harness.store import checkpoints as ck
    from harness.store.store import Store

    store, mode, flag = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "pause":  # stands still after its first checkpoint, to be killed there
        saved = ck.save
        def save_then_wait(root, key, state, epoch):
            path = saved(root, key, state, epoch)
            open(flag, "w").write(str(epoch))
            time.sleep(600)
            return path
        ck.save = save_then_wait
    loaded = ck.load
    def load_and_say(root, key):
        state = loaded(root, key)
        if state is not None:
            print(f"resumed at epoch {state['epoch']} step {state['step']}")
        return state
    ck.load = load_and_say
    outcome = run_cell(Cell.build("cifar10-lt", "ldam_drw", 0, "smoke"), Store(store), RunOptions(progress=False))
    print(outcome.status.value, outcome.error)
""")


@pytest.mark.skipif(not is_available((TRAIN, TEST)), reason="CIFAR-10 parquet files not found under any data root")
def test_smoke_cell_killed_after_its_first_checkpoint_resumes_bit_identical(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from harness.plan.cells import Cell
    from harness.store.store import Store

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HARNESS_THREADS": "1", "HARNESS_CACHE": os.environ.get("HARNESS_CACHE", str(tmp_path / "cache"))}
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)

    def run(store: str, mode: str, every: str) -> str:
        out = subprocess.run([sys.executable, str(driver), str(tmp_path / store), mode, str(tmp_path / "flag")], env={**env, ck.ENV_EVERY: every},
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert run("never-cut", "plain", "0").strip().endswith("ok")
    # 624 smoke images, batch 128: 5 steps; a checkpoint every 0.2 epoch is one after every step
    victim = subprocess.Popen([sys.executable, str(driver), str(tmp_path / "cut"), "pause", str(tmp_path / "flag")],
                              env={**env, ck.ENV_EVERY: "0.2"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (tmp_path / "flag").exists():
        assert victim.poll() is None and time.monotonic() < deadline, victim.stderr.read() if victim.poll() is not None else "timed out"
        time.sleep(0.1)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    cell = Cell.build("cifar10-lt", "ldam_drw", 0, "smoke")
    cut = Store(tmp_path / "cut")
    assert not cut.is_finished(cell) and ck.checkpoint_path(cut.root, cell.key).exists()

    second = run("cut", "plain", "0.2")
    assert "resumed at epoch 0 step 1" in second and second.strip().endswith("ok")
    assert not ck.checkpoint_path(cut.root, cell.key).exists()  # removed once the record is stored
    never = Store(tmp_path / "never-cut")
    a, b = never.load(), cut.load()
    assert dict(zip(a["metric"], a["value"])) == dict(zip(b["metric"], b["value"]))  # every metric, exactly
    assert len(a) >= 6
    preds_a = pq.read_table(never.preds_path(cell.key))
    preds_b = pq.read_table(cut.preds_path(cell.key))
    assert preds_a.equals(preds_b)  # labels, predictions and every logit, bit for bit
