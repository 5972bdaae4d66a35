"""How batched cells and checkpoints reach the engine: ``harness run --batch-cells K`` groups ready
cells of one task, task params and scale into one job (Task.run_batch), each keeping its lease,
key and record; fsck and compact know the store's checkpoints; and ``scripts/gpu-check.sh
--dry-run`` says what a lent GPU window would do, on a CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from harness.common.files import ROOT
from harness.plan import registry
from harness.plan.cells import Cell
from harness.plan.contract import CellResult, Method, RunContext, Task
from harness.run.cell import CellBatch, RunOptions
from harness.run.scheduler import execute, take_jobs
from harness.store import checkpoints as ck
from harness.store.store import Store

JOBS: list[list[int]] = []  # the seeds of each run_batch call


class BatchProbe(Task):
    """Scores its seed; run_batch notes which cells came together and fails seed 13."""

    name: ClassVar[str] = "batch-probe"
    family: ClassVar[str] = "testing"
    uses_torch: ClassVar[bool] = False
    primary_metric: ClassVar[str] = "score"
    batch_size_cells: ClassVar[int] = 2

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        return CellResult(metrics={"score": float(ctx.seed)})

    def run_batch(self, jobs: list[tuple[Method, RunContext]]) -> list[CellResult | Exception]:
        JOBS.append([ctx.seed for _, ctx in jobs])
        return [ValueError("seed 13 breaks") if ctx.seed == 13 else self.run(m, ctx) for m, ctx in jobs]


@pytest.fixture
def probe(fake_family: Any) -> Any:
    registry.register(BatchProbe)
    JOBS.clear()
    yield JOBS
    registry._tasks.pop(BatchProbe.name, None)


def test_ready_cells_of_one_task_go_together_up_to_k_and_the_tasks_limit(probe: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    cells = [Cell.build("batch-probe", "const", seed, "smoke") for seed in (0, 1, 2, 13, 4)]
    outcomes = execute(cells, store, RunOptions(progress=False, batch_cells=3))
    # one slot (local): K = 3 but the task takes 2 at a time; the last cell, alone, runs through run()
    assert probe == [[0, 1], [2, 13]]
    status = {o.cell.seed: o.status.value for o in outcomes}
    assert status == {0: "ok", 1: "ok", 2: "ok", 13: "failed", 4: "ok"}  # the failing cell fails alone
    records = store.load()
    assert set(records["cell_key"]) == {c.key for c in cells if c.seed != 13}  # one record per cell, its own key
    assert dict(zip(records["seed"], records["value"])) == {0: 0.0, 1: 1.0, 2: 2.0, 4: 4.0}
    assert "seed 13 breaks" in store.failures()[0]["error"]
    assert not list((store.root / "leases").glob("*.lease"))  # every cell's lease released


def test_without_batch_cells_every_cell_runs_alone(probe: Any, tmp_path: Path) -> None:
    cells = [Cell.build("batch-probe", "const", seed, "smoke") for seed in (0, 1, 2)]
    outcomes = execute(cells, Store(tmp_path / "store"), RunOptions(progress=False))
    assert probe == [] and all(o.status.value == "ok" for o in outcomes)


def test_take_jobs_groups_by_task_params_and_scale_and_leaves_post_hoc_cells_alone() -> None:
    registry.load_plugins()
    full = [Cell.build("cifar10-lt", m, s, "full") for m in ("erm", "focal") for s in (0, 1)]
    other = [Cell.build("cifar10-lt", "erm", 0, "full", task_params={"rho": 10}), Cell.build("cifar10-lt", "erm", 0, "small")]
    posthoc = Cell.build("cifar10-lt", "logit_adjust_posthoc", 0, "full")
    from harness.run.graph import with_bases

    ordered = with_bases([*full, *other, posthoc], Store(Path("/nonexistent-store")))
    posthoc = next(c for c in ordered if c.method == "logit_adjust_posthoc")
    jobs, waiting = take_jobs([*full, *other, posthoc], room=10, batch_cells=12)
    assert [len(j.cells) if isinstance(j, CellBatch) else 1 for j in jobs] == [4, 1, 1, 1]
    assert jobs[0].cells == tuple(full) and jobs[3] is posthoc and waiting == []
    jobs, waiting = take_jobs(full, room=1, batch_cells=3)  # one slot: one job of 3, one cell waits
    assert len(jobs) == 1 and len(jobs[0].cells) == 3 and waiting == full[3:]
    assert take_jobs(full, room=2, batch_cells=1) == (full[:2], full[2:])


def test_batch_cells_must_be_a_positive_integer(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "harness", "run", "--tasks", "gaussian-lt", "--methods", "erm", "--scale", "smoke", "--batch-cells", "0",
                          "--store", str(tmp_path / "s"), "--dry-run"], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and "--batch-cells must be an integer >= 1" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


# -- fsck and compact know checkpoints -----------------------------------------------------
def test_fsck_verifies_and_counts_checkpoints_and_compact_leaves_them(tmp_path: Path) -> None:
    import torch

    from harness.store.compact import compact
    from harness.store.fsck import fsck

    store = Store(tmp_path / "store")
    store.ensure_writable()
    good = ck.save(store.root, "a" * 64, {"w": torch.ones(3)}, 5.0)
    bad = ck.save(store.root, "b" * 64, {"w": torch.ones(3)}, 5.0)
    bad.write_bytes(bad.read_bytes()[:-3] + b"xyz")
    from harness.common.files import HOST

    dead = good.parent / f".{good.name}~{HOST}~999999999~.tmp"  # a writer killed mid-write (no such pid)
    dead.write_bytes(b"half a checkpoint")
    result = fsck(store)
    assert result.checkpoints.verified == 1 and len(result.checkpoints.damaged) == 1
    assert result.temporaries == 1 and not dead.exists()
    assert not result.clean and good.exists() and not bad.exists()  # the damaged one is quarantined
    compact(store)
    assert good.exists()


# -- the GPU window's script, dry -----------------------------------------------------------
def _dry(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HARNESS_CACHE": str(tmp_path / "cache")}
    return subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), "--dry-run", "--out", str(tmp_path / "out"), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_gpu_check_dry_run_with_a_tiny_budget(tmp_path: Path) -> None:
    out = _dry(tmp_path, "--budget", "5")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for step in ("== install", "== device", "== data", "== store", "== grid"):
        assert step in text
    assert "would check: nvidia-smi lists a GPU" in text and "dry run: nothing installed, checked or run" in text
    assert "--scale full --seeds 0-2 --device cuda --executor local --batch-cells 12" in text
    assert "12 train, 30 only post-process" in text  # erm, logit_adjust, ldam_drw, focal × 3 seeds; τ × base post-hoc
    assert "batched (--batch-cells 12): 1 job(s) of 12 cells" in text
    assert "would stop here: no time left to train" in text  # 5 s leave nothing after the 45 s reserve
    assert not (tmp_path / "out" / "store").exists()  # a dry run writes no store


def test_gpu_check_dry_run_resuming_a_previous_window(tmp_path: Path) -> None:
    """A second window's dry run reads the first window's store: finished cells are cached, a
    checkpointed cell resumes at its epoch, and the budget leaves time to train."""
    import torch

    previous = tmp_path / "window1"
    erm0 = Cell.build("cifar10-lt", "erm", 0, "full")
    ck.save(previous / "store", erm0.key, {"w": torch.zeros(1)}, 120.0)
    out = _dry(tmp_path, "--budget", "600", "--resume", str(previous), "--seeds", "0", "--batch-cells", "4")
    assert out.returncode == 0, out.stderr
    assert f"cell {erm0.key[:12]} resumes at epoch 120.00" in out.stdout
    assert f"{erm0.key[:12]}  cifar10-lt × erm seed=0 full  (resumes from its checkpoint at epoch 120.00)" in out.stdout
    assert "batched (--batch-cells 4): 1 job(s) of 4 cells" in out.stdout
    assert "would train for 5" in out.stdout  # 600 s less the reserve, less what the steps before took


def test_gpu_check_refuses_bad_arguments(tmp_path: Path) -> None:
    for args in (["--budget", "soon"], ["--batch-cells", "0"], ["--protocol", "la"], ["--resume", str(tmp_path / "none")]):
        out = _dry(tmp_path, *args)
        assert out.returncode == 2 and out.stderr.startswith("gpu-check: "), (args, out.stderr)


@pytest.mark.skipif(not __import__("harness.plan.data", fromlist=["x"]).is_available(
    (__import__("tasks.longtail.cifar", fromlist=["x"]).TRAIN, __import__("tasks.longtail.cifar", fromlist=["x"]).TEST)),
    reason="CIFAR-10 parquet files not found under any data root")
def test_gpu_check_rehearsal_packs_resumes_and_merges(tmp_path: Path) -> None:
    """The steps a dry run only prints, run on the CPU at the smoke scale: the grid (4 trained
    cells as one batch, 10 post-hoc), the summary, the packed parts; a second window resumed from
    the parts finds every cell done; the parts unpack into a store `harness merge` takes."""
    import tarfile

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HARNESS_CACHE": os.environ.get("HARNESS_CACHE", str(tmp_path / "cache")),
           "HARNESS_THREADS": "1"}
    script = ["bash", str(ROOT / "scripts" / "gpu-check.sh"), "--rehearse", "--budget", "600", "--seeds", "0", "--batch-cells", "4"]
    first = subprocess.run([*script, "--out", str(tmp_path / "w1"), "--pack"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "14 cells asked for: 0 cached, 14 to run (4 train, 10 only post-process)" in first.stdout
    assert "finished cells: 14" in first.stdout and "every cell of the grid is finished" in first.stdout
    parts = sorted((tmp_path / "w1").glob("store.tar.gz.part-*"))
    assert parts and not (tmp_path / "w1" / "store").exists()
    second = subprocess.run([*script, "--out", str(tmp_path / "w2"), "--resume", str(tmp_path / "w1")], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=900)
    assert second.returncode == 0 and "14 cached, 0 to run" in second.stdout, second.stdout[-2000:]
    joined = tmp_path / "joined.tar.gz"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(joined) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    merged = subprocess.run([sys.executable, "-m", "harness", "merge", str(tmp_path / "unpacked" / "store"), "--into", str(tmp_path / "home")],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    assert merged.returncode == 0 and "14 copied" in merged.stdout, merged.stdout + merged.stderr
