"""``flatnce-digits``: kexue.fm/archives/8586 (FlatNCE：小批次对比学习效果差的原因竟是浮点误差？).

SimCLR-style contrastive pre-training on scikit-learn's 8×8 digits at batch sizes 8, 32 and 256,
with InfoNCE or FlatNCE as the method, then a linear probe. Protocol (one cell = one method, one
seed, all three batch sizes, so that the drop from 256 to 8 is paired inside the cell):

* data: 50 images per class held out as the test set (500), the other 1,297 the unlabelled
  pre-training set (fixed split, ``split_seed``);
* views: two augmentations per image — a random resized crop (area fraction in
  [``min_area``, 1], bilinear, zero padding) and Gaussian pixel noise σ = ``noise``;
* encoder: MLP 64 → 256 → 64 (ReLU), projection head ReLU → 32; scores are cosine
  similarities over the temperature τ; each of the 2B views has one positive and 2B − 2
  negatives (NT-Xent);
* optimiser: Adam, lr 1e-3, the same number of steps at every batch size (so a batch of 8 is
  not also trained 32 times longer than one of 256, nor 32 times shorter);
* probe: multinomial logistic regression (L-BFGS, L2 10⁻³, standardised features) on the
  frozen 64-d encoder output of ``labels_per_class`` labelled images per class drawn from the
  pre-training set, test accuracy averaged over 5 fixed label draws (the same for every cell).

``nce_probe_drop`` = accuracy at batch 256 − accuracy at batch 8: how much the method loses at
small batch (lower is better). ``nce_log10_xi_b8`` is the median over the last 50 steps' rows of
log₁₀ ξ (ξ = Σ_{j≠t} e^{s_j−s_t}) at batch 8: below −7.2, 1 + ξ rounds to 1 in float32 — the
regime in which the article says cross-entropy's gradient drowns in float error.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Param, RunContext, register
from methods.theory.experiments import ContrastiveObjective
from tasks.theory.experiments.common import ExperimentTask, experiment_metric

BATCH_SIZES = (8, 32, 256)
STEPS = {"smoke": 40, "small": 1500, "full": 6000}

PROBE = {b: experiment_metric(f"nce_probe_acc_b{b}", f"linear-probe test accuracy of the encoder pre-trained at batch size {b}") for b in BATCH_SIZES}
DROP = experiment_metric("nce_probe_drop", "probe accuracy at batch 256 minus at batch 8: how much small batches cost (lower is better)", False)
XI = experiment_metric("nce_log10_xi_b8", "median log10 ξ of the rows of the last 50 steps at batch 8 (< −7.2: 1 + ξ == 1 in float32); a diagnostic", None)


@register
class FlatNCEDigits(ExperimentTask):
    """8586: SimCLR on sklearn digits (MLP encoder, crop + noise views) at batch 8/32/256; 5-shot linear probe."""

    name: ClassVar[str] = "flatnce-digits"
    version: ClassVar[str] = "1"
    hook = ContrastiveObjective
    baseline: ClassVar[str] = "infonce"
    params = (
        Param("temperature", "float", 0.1, "τ: scores are cosine similarities / τ", minimum=1e-3),
        Param("noise", "float", 0.1, "σ of the Gaussian pixel noise of each view (pixels in [0, 1])", minimum=0.0),
        Param("min_area", "float", 0.6, "smallest area fraction of the random resized crop", minimum=0.05),
        Param("labels_per_class", "int", 5, "labelled images per class the linear probe trains on", minimum=1),
        Param("split_seed", "int", 0, "seed of the fixed test split and of the probe's label draws (not the run seed)"),
    )
    scales = {
        "smoke": f"{STEPS['smoke']} Adam steps per batch size",
        "small": f"{STEPS['small']} Adam steps per batch size (≈20 s per cell on one CPU thread)",
        "full": f"{STEPS['full']} Adam steps per batch size",
    }
    estimate_s = {"smoke": 1.0, "small": 20.0, "full": 80.0}
    primary_metric: ClassVar[str] = DROP
    table_metrics: ClassVar[tuple[str, ...]] = (DROP, *PROBE.values(), XI)

    def fingerprint(self) -> str:
        from tasks.theory.experiments._digits import fingerprint

        return fingerprint()

    def train(self, method: Any, ctx: RunContext) -> tuple[dict[str, float], dict[str, Any]]:
        from tasks.theory.experiments._contrastive import pretrain_and_probe

        acc, xi = {}, 0.0
        for b in BATCH_SIZES:
            acc[b], log10_xi = pretrain_and_probe(method, b, STEPS[ctx.scale], self.p, ctx)
            if b == BATCH_SIZES[0]:
                xi = log10_xi
        metrics = {PROBE[b]: acc[b] for b in BATCH_SIZES}
        metrics.update({DROP: acc[BATCH_SIZES[-1]] - acc[BATCH_SIZES[0]], XI: xi})
        return metrics, {"batch_size": BATCH_SIZES[0], "notes": f"batch sizes {BATCH_SIZES}, {STEPS[ctx.scale]} steps each"}
