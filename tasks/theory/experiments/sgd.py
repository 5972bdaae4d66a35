"""``sgd-digits``: a ReLU MLP on a small subset of scikit-learn's digits, trained by plain SGD, for
kexue.fm/archives/7681 (L2正则没有想象那么好？可能是“权重尺度偏移”惹的祸: WEISSI vs L2 vs none)
and kexue.fm/archives/7643 (我们真的需要把训练集的损失降低到零吗？: flooding vs its alternating
variant vs an explicit gradient penalty of equal strength).

Protocol: per class, ``train_per_class`` training images, ``val_per_class`` validation images,
the rest (1,297 at the defaults) the test set (fixed split, ``split_seed``). MLP 64 → h → h → 10
(ReLU, PyTorch's default init), plain SGD (no momentum) at learning rate ε = ``lr`` on shuffled
mini-batches of ``batch_size``, a fixed number of epochs. A method declares the strengths it is
selected among (L2's λ, WEISSI's λ₁, flooding's b, whose grid contains 0); the cell trains one
model per strength from the same initialisation and data order (both from the run seed, shared
by every method) and keeps the one with the best validation accuracy (the first, on ties).

Metrics of the kept model: test ``accuracy``; ``sgd_input_grad_norm``, the mean over test images
of ‖∇ₓ CE(f(x), y)‖₂ (the sensitivity WEISSI's paper bounds); ``sgd_val_accuracy``; the
strength kept (``sgd_selected``) and the final training loss (``sgd_train_loss``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Param, RunContext, register
from methods.theory.experiments import SGDRule
from tasks.theory.experiments.common import ExperimentTask, experiment_metric

EPOCHS = {"smoke": 10, "small": 200, "full": 600}

GRAD = experiment_metric("sgd_input_grad_norm", "mean over test images of ‖∇ₓ CE(f(x), y)‖₂ (lower: less sensitive to input perturbations)", False)
VAL = experiment_metric("sgd_val_accuracy", "validation accuracy of the model kept (the selection criterion)")
SELECTED = experiment_metric("sgd_selected", "the strength kept on validation (λ, λ₁, b or ρ); a setting", None)
TRAIN_LOSS = experiment_metric("sgd_train_loss", "mean cross-entropy on the training images at the end; a diagnostic", None)


@register
class SGDDigits(ExperimentTask):
    """7681/7643: ReLU MLP on 20 digits per class, plain SGD; regulariser strengths chosen on validation."""

    name: ClassVar[str] = "sgd-digits"
    version: ClassVar[str] = "1"
    hook = SGDRule
    baseline: ClassVar[str] = "sgd-plain"
    params = (
        Param("train_per_class", "int", 20, "training images per class", minimum=1),
        Param("val_per_class", "int", 30, "validation images per class (for the selection)", minimum=1),
        Param("hidden", "int", 256, "width of the two hidden layers", minimum=1),
        Param("lr", "float", 0.1, "SGD learning rate ε", minimum=0.0),
        Param("batch_size", "int", 32, "mini-batch size", minimum=1),
        Param("split_seed", "int", 0, "seed of the fixed train/validation/test split (not the run seed)"),
    )
    scales = {scale: f"{epochs} epochs of SGD per strength tried" for scale, epochs in EPOCHS.items()}
    estimate_s = {"smoke": 0.5, "small": 8.0, "full": 25.0}
    primary_metric: ClassVar[str] = "accuracy"
    table_metrics: ClassVar[tuple[str, ...]] = ("accuracy", GRAD, VAL, SELECTED)

    def fingerprint(self) -> str:
        from tasks.theory.experiments._digits import fingerprint

        return fingerprint()

    def train(self, method: Any, ctx: RunContext) -> tuple[dict[str, float], dict[str, Any]]:
        from tasks.theory.experiments._sgd import select_and_test

        kept = select_and_test(method, self.p, EPOCHS[ctx.scale], ctx)
        metrics = {"accuracy": kept.test_accuracy, GRAD: kept.input_grad_norm, VAL: kept.val_accuracy,
                   SELECTED: kept.strength, TRAIN_LOSS: kept.train_loss}
        return metrics, {"batch_size": self.p["batch_size"], "notes": kept.notes}
