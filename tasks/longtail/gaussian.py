"""``gaussian-lt``: the logit-adjustment paper's synthetic binary problem (Menon et al. 2021, §6.1).

P(y=+1) = 5%; x | y ~ N(y·(1,1), I₂) with y ∈ {−1, +1}; an affine model. The Bayes-optimal
rule for the balanced error predicts +1 iff x₁ + x₂ > 0, with balanced error Φ(−√2) ≈ 0.0786;
it is reported beside each method (``bayes_balanced_accuracy``, analytic, and
``bayes_rule_balanced_accuracy``, that rule on this test set).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from harness.api import Param, register
from tasks.longtail.longtail_task import SHOT_PARAMS, LongTailTask
from tasks.longtail.metrics import longtail_metrics
from tasks.longtail.schedules import Schedule
from tasks.longtail.split import Split

if TYPE_CHECKING:
    import numpy as np


def bayes_balanced_accuracy() -> float:
    """1 − Φ(−√2): x₁+x₂ ~ N(±2, 2), the balanced rule thresholds at 0."""
    return 1.0 - 0.5 * math.erfc(math.sqrt(2.0) / math.sqrt(2.0))


@register
class GaussianLT(LongTailTask):
    """Binary Gaussians, 5% positives, affine model; Bayes-optimal balanced rule reported beside."""

    name: ClassVar[str] = "gaussian-lt"
    version: ClassVar[str] = "1"
    max_threads: ClassVar[int | None] = 1
    params = (
        Param("positive_rate", "float", 0.05, "P(y=+1) in training", minimum=0.0, maximum=1.0, bounds="()"),
        Param("n_train", "int", 10000, "training examples (small/full scale)", minimum=10),
        Param("n_test_per_class", "int", 5000, "balanced test set, per class", minimum=1),
        *SHOT_PARAMS,
    )
    scales = {"smoke": "1,000 train, 20 epochs", "small": "n_train, 40 epochs", "full": "n_train, 200 epochs"}
    estimate_s = {"smoke": 0.2, "small": 2.0, "full": 8.0}
    table_metrics = ("balanced_accuracy", "accuracy", "bayes_balanced_accuracy")

    def fingerprint(self) -> str:
        return "synthetic:numpy-default_rng"

    def load(self, scale: str) -> Split:
        """Drawn from a fixed generator: the data set is the same for every run seed."""
        import numpy as np

        rng = np.random.default_rng(12345)
        n = 1000 if scale == "smoke" else self.p["n_train"]
        y_train = (rng.random(n) < self.p["positive_rate"]).astype(np.int64)  # class 1 = y=+1
        m = self.p["n_test_per_class"]
        y_test = np.repeat(np.array([0, 1], dtype=np.int64), m)
        def draw(y: np.ndarray) -> np.ndarray:
            import numpy as np

            sign = np.where(y == 1, 1.0, -1.0)[:, None]
            return (sign * np.ones((1, 2)) + rng.standard_normal((len(y), 2))).astype(np.float32)
        return Split(draw(y_train), y_train, draw(y_test), y_test, 2)

    def schedule(self, scale: str) -> Schedule:
        epochs = {"smoke": 20, "small": 40, "full": 200}[scale]
        return Schedule(epochs=epochs, batch_size=256, lr=5e-2)

    def model(self, split: Split):  # noqa: ANN201 - a torch module
        from tasks.longtail._train_loop import mlp

        return mlp(2, 2, hidden=0)

    def extra_metrics(self, split: Split, pred: np.ndarray) -> dict[str, float]:
        import numpy as np

        bayes_pred = (split.x_test.sum(1) > 0).astype(np.int64)
        counts = split.counts
        return {
            "bayes_balanced_accuracy": bayes_balanced_accuracy(),
            "bayes_rule_balanced_accuracy": longtail_metrics(split.y_test, bayes_pred, counts)["balanced_accuracy"],
        }
