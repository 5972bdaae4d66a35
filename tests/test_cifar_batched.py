"""Batched CIFAR cells (tasks.longtail._batched) give the separate cells' results.

Tolerance, derived rather than tuned. The stacked model computes the same arithmetic as K
separate models, but a convolution with K groups, a batched matrix product or a BatchNorm over
K·C channels may add the same float32 terms in another order. For a sum of n terms, the two
orders' results differ by at most 2·γ_n·Σ|x_i| (γ_n = n·u/(1−n·u), u = 2⁻²⁴) in the worst case;
rounding errors of either sign make it grow like √n·u in practice (Higham & Mary 2019). The
longest sum of a training step is a weight gradient of the first convolution, over every pixel of
the batch: n = B·H·W. Over S steps such differences add up (to first order), so a tensor of the
batched run may differ from the separate run's by at most

    rtol = 2 · S · √(B·H·W) · u       (relative to the tensor's largest magnitude)

which for B = 16, 32×32 images and S = 3 steps is 2·3·128·2⁻²⁴ ≈ 4.6e-5. Measured (2-core CPU,
torch 2.13): 1.8e-6 on parameters and BatchNorm buffers, 1.1e-6 on test logits. A wrong
batching (one cell's data or seed given to another, statistics pooled over cells) moves every
tensor by orders of magnitude more; a test checks that this bound sees such a change.

"To first order" matters: training amplifies any rounding-level difference, like any other
perturbation. On the real smoke data (batch 128, lr 0.1 from the first step) the batched and
separate logits differ by 1.6e-7 after one step (bound 4.3e-5), then by up to 4.2e-6, 1.4e-3
and 1.1e-3 after 2, 3 and 5 steps, the LDAM cell (s = 30) growing fastest. Long runs therefore
agree as two runs of one cell on two GPUs agree (statistically), not element by element; the
real-data test below checks what batching could get wrong there — each cell's own method, seed,
head and order — against a margin that a mix-up exceeds by orders of magnitude.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import torch

from harness.plan.contract import RunContext
from methods.longtail.erm import ERM
from methods.longtail.focal import Focal
from methods.longtail.ldam_drw import LDAMDRW
from tasks.longtail._batched import StackedModels
from tasks.longtail._cifar_train import SingleModel, train_cells
from tasks.longtail._heads import CosineLinear, with_head
from tasks.longtail._resnet import cifar_resnet
from tasks.longtail.schedules import SGDSchedule
from tasks.longtail.split import Split

BATCH, SIZE, STEPS = 16, 32, 3
U = 2.0**-24
RTOL = 2 * STEPS * math.sqrt(BATCH * SIZE * SIZE) * U  # ≈ 4.6e-5, see the module docstring
CPU = torch.device("cpu")


def _split(n: int = BATCH * STEPS, n_test: int = 40) -> Split:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n + n_test, SIZE, SIZE, 3), dtype=np.uint8)
    return Split(images[:n], np.arange(n) % 10, images[n:], np.arange(n_test) % 10, 10)


SCHEDULE = SGDSchedule(epochs=1, batch_size=BATCH, lr=0.1, warmup_epochs=0.0, per_step=True, milestones=())


def _cells() -> tuple[list[Any], list[int]]:
    # three methods, two kinds of head (LDAM's cosine head), DRW switched on after the first step
    return [ERM(), LDAMDRW(drw_start=0.3), Focal()], [0, 1, 2]


def _model(method: Any, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)  # as run_cell's seed_everything before the task builds its model
    return with_head(cifar_resnet(8, 4, 10), method.head)


def _close(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """max |a − b| relative to max |a| (float64)."""
    a64, b64 = torch.as_tensor(a).detach().double(), torch.as_tensor(b).detach().double()
    return float((a64 - b64).abs().max() / a64.abs().max().clamp_min(1e-30))


def _train_both(seeds_separate: list[int] | None = None) -> tuple[list[Any], list[dict], list[Any], list[dict]]:
    methods, seeds = _cells()
    split = _split()
    contexts = [RunContext(seed=s, scale="smoke") for s in seeds]
    separate_models = [_model(m, s) for m, s in zip(methods, seeds_separate or seeds)]
    separate = [train_cells(SingleModel(model, CPU), split, [m], [c], SCHEDULE, "fp32")[0][0]
                for model, m, c in zip(separate_models, methods, [RunContext(seed=s, scale="smoke") for s in seeds_separate or seeds])]
    stacked = StackedModels([_model(m, s) for m, s in zip(methods, seeds)], CPU)
    batched = [logits for logits, _ in train_cells(stacked, split, methods, contexts, SCHEDULE, "fp32")]
    return separate, [dict(m.state_dict()) for m in separate_models], batched, [stacked.cell_state(k) for k in range(3)]


def test_three_batched_cells_equal_three_separate_cells() -> None:
    separate, separate_states, batched, batched_states = _train_both()
    worst_params, worst_logits = 0.0, 0.0
    for k in range(3):
        assert separate_states[k].keys() == batched_states[k].keys()  # cell k's state_dict, names and all
        for name, tensor in separate_states[k].items():
            if tensor.is_floating_point():
                worst_params = max(worst_params, _close(tensor, batched_states[k][name]))
            else:  # num_batches_tracked: counted per cell
                assert torch.equal(tensor, batched_states[k][name]), name
        worst_logits = max(worst_logits, _close(separate[k], batched[k]))
    assert worst_params <= RTOL, f"parameters differ by {worst_params:.2e} relative (bound {RTOL:.2e})"
    assert worst_logits <= RTOL, f"test logits differ by {worst_logits:.2e} relative (bound {RTOL:.2e})"
    assert isinstance(_model(LDAMDRW(), 1).linear, CosineLinear)  # the cosine head was among them


def test_the_bound_sees_a_cell_given_another_cells_seed() -> None:
    """The tolerance is tight enough to catch a mix-up: separate cells trained from the seeds in
    another order (each cell's init and data order given to its neighbour) fail it by far."""
    separate, separate_states, batched, batched_states = _train_both(seeds_separate=[1, 2, 0])
    for k in range(3):
        assert _close(separate[k], batched[k]) > 100 * RTOL
        assert _close(separate_states[k]["conv1.weight"], batched_states[k]["conv1.weight"]) > 100 * RTOL


def test_batchnorm_statistics_stay_per_cell() -> None:
    """One training-mode forward: cell k's running mean and variance come from cell k's batch
    alone, even when another cell's batch is on a wholly different scale."""
    models = [cifar_resnet(8, 4, 10) for _ in range(3)]
    separate = [cifar_resnet(8, 4, 10) for _ in range(3)]
    for a, b in zip(models, separate):
        b.load_state_dict(a.state_dict())
    stacked = StackedModels(models, CPU)
    stacked.train()
    x = torch.randn(3, 8, 3, 32, 32) * torch.tensor([1.0, 100.0, 0.01]).view(3, 1, 1, 1, 1)
    stacked.forward(x, autocast=False)
    for k, model in enumerate(separate):
        model.train()(x[k])
        ours = stacked.cell_state(k)
        for name in ("bn1.running_mean", "bn1.running_var", "layer3.0.bn2.running_var"):
            assert _close(model.state_dict()[name], ours[name]) < 1e-5, (k, name)
        assert int(ours["bn1.num_batches_tracked"]) == 1


def test_a_non_finite_cell_fails_alone() -> None:
    class Broken(ERM):
        def loss(self, logits: Any, y: Any, ctx: Any) -> Any:
            return logits.sum() * float("nan")

    methods = [ERM(), Broken(), Focal()]
    contexts = [RunContext(seed=s, scale="smoke") for s in (0, 1, 2)]
    stacked = StackedModels([_model(m, s) for m, s in zip(methods, (0, 1, 2))], CPU)
    out = train_cells(stacked, _split(), methods, contexts, SCHEDULE, "fp32")
    assert "non-finite" in str(out[1][0])
    alone = train_cells(SingleModel(_model(ERM(), 0), CPU), _split(), [ERM()], [contexts[0]], SCHEDULE, "fp32")[0][0]
    assert np.isfinite(out[0][0]).all() and np.isfinite(out[2][0]).all()
    assert _close(alone, out[0][0]) <= RTOL  # its neighbour's NaNs never reached cell 0


def test_cell_keys_do_not_depend_on_batching() -> None:
    """Batching is how cells run, not what they are: the keys of the committed CIFAR records are
    still the keys the cells get (no version or parameter changed with this machinery)."""
    import pyarrow.parquet as pq

    from harness.common.files import ROOT
    from harness.plan.cells import Cell

    packs = sorted((ROOT / "results" / "store" / "packs" / "cifar10-lt").glob("*.parquet"))
    if not packs:
        pytest.skip("no committed cifar10-lt records")
    rows = {r["cell_key"]: r for r in pq.read_table(packs[0], columns=["cell_key", "method", "seed", "scale", "params_json"]).to_pylist()}
    for row in rows.values():
        params = json.loads(row["params_json"])
        cell = Cell.build("cifar10-lt", row["method"], int(row["seed"]), row["scale"], task_params=params["task"], method_params=params["method"])
        assert cell.key == row["cell_key"], row
    assert {r["method"] for r in rows.values()} >= {"erm", "ldam_drw", "focal", "logit_adjust"}


@pytest.mark.skipif(not __import__("harness.plan.data", fromlist=["is_available"]).is_available(
    (__import__("tasks.longtail.cifar", fromlist=["TRAIN"]).TRAIN, __import__("tasks.longtail.cifar", fromlist=["TEST"]).TEST)),
    reason="CIFAR-10 parquet files not found under any data root")
def test_run_batch_of_real_smoke_cells_equals_separate_runs() -> None:
    """Cifar10LT.run_batch: three trained smoke cells (two kinds of head) in one stack, each
    finished as run() finishes it, each with its own numbers (see the module docstring)."""
    from harness.run.device import seed_everything
    from methods.longtail.logit_adjust import LogitAdjustLoss
    from tasks.longtail.cifar import Cifar10LT

    methods = [ERM(), LDAMDRW(), LogitAdjustLoss()]
    separate = []
    for seed, method in enumerate(methods):
        seed_everything(seed, threads=1)
        separate.append(Cifar10LT().run(method, RunContext(seed=seed, scale="smoke")))
    seed_everything(0, threads=1)
    task = Cifar10LT()
    batched = task.run_batch([(m, RunContext(seed=s, scale="smoke")) for s, m in enumerate(methods)])
    rows = len(separate[0].predictions)
    logits_one = [np.stack(r.predictions["logits"]) for r in separate]
    for k, many in enumerate(batched):
        assert not isinstance(many, Exception), many
        mine = np.stack(many.predictions["logits"])
        own = _close(logits_one[k], mine)
        others = min(_close(logits_one[j], mine) for j in range(3) if j != k)
        assert own < 1e-2 and others > 100 * own, (k, own, others)  # its own cell's numbers, not a neighbour's
        assert (many.predictions["pred"] == separate[k].predictions["pred"]).mean() >= 0.98 and rows == 200
        assert set(separate[k].metrics) == set(many.metrics)
        assert "batched with 3 cells" in many.info["notes"] and many.train_s > 0
