"""``adv-iflytek`` and ``adv-tnews``: kexue.fm/archives/7234 (对抗训练浅谈：意义、方法和思考（附Keras实现）).

Text classification with an embedding layer, trained plainly, with FGM on the embedding matrix,
or with the gradient penalty (the methods: ``methods/theory/exp_adversarial.py``). The data,
featurisation and optimiser schedules are the long-tail family's (``tasks/longtail/text.py``,
reused through its public task classes): FewCLUE IFLYTEK (119 classes; train ``train_few_all``,
3,024 texts; test the labelled ``test_public``, 1,749) and TNEWS (15 classes; 1,185 / 2,010),
hashed character 1–2-gram bags. The model is that family's fastText-style classifier — the
mean of the text's n-gram embeddings (2¹⁸ × 100, uniform ±1/dim), dropout 0.5, a zero-initialised
linear head; SparseAdam on the embeddings, Adam on the head, the learning rate decaying linearly
to 0 — rebuilt in ``_adversarial.py`` because FGM and the penalty need the embedding step apart
from the head. The article fine-tunes BERT-base on CLUE's full IFLYTEK and TNEWS; its numbers
(none / FGM / GP: 60.29 / 62.46 / 62.31 on IFLYTEK, 56.58 / 57.66 / 57.81 on TNEWS) are recorded
beside no cell of ours.

``adv_regulariser_share`` = mean over training steps of (loss descended − clean loss) / clean
loss: how strongly the perturbation or the penalty acts on this model (0 for plain training).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from harness.api import RunContext, register
from methods.theory.experiments import AdversarialObjective
from tasks.longtail.schedules import Schedule
from tasks.longtail.text import NGRAM_MAX, IflytekFew, TextLongTailTask, TnewsFew, ngram_params
from tasks.theory.experiments.common import ExperimentTask, experiment_metric

SHARE = experiment_metric(
    "adv_regulariser_share", "mean over steps of (regularised − clean loss)/clean loss: how active FGM or the penalty is; a diagnostic", None
)
SHARED_PARAMS = ("ngram_max", "buckets", "dim", "dropout")


class AdversarialText(ExperimentTask):
    """A text task whose data and schedules are those of one long-tail n-gram task (``source``)."""

    hook = AdversarialObjective
    baseline: ClassVar[str] = "adv-none"
    source: ClassVar[type[TextLongTailTask]]
    epochs: ClassVar[dict[str, int]] = {}  # scale → epochs, where they differ from the source task's
    params = (NGRAM_MAX, *ngram_params(dim=100, dropout=0.5))
    primary_metric: ClassVar[str] = "accuracy"
    table_metrics: ClassVar[tuple[str, ...]] = ("accuracy", SHARE)

    def source_task(self) -> TextLongTailTask:
        return self.source(**{k: self.p[k] for k in SHARED_PARAMS})

    def schedule(self, scale: str) -> Schedule:
        """The source task's schedule, with this task's own number of epochs where it sets one."""
        schedule = self.source_task().schedule(scale)
        return replace(schedule, epochs=self.epochs.get(scale, schedule.epochs))

    def train(self, method: Any, ctx: RunContext) -> tuple[dict[str, float], dict[str, Any]]:
        from tasks.theory.experiments._adversarial import train_and_test

        source = self.source_task()
        schedule = self.schedule(ctx.scale)
        accuracy, share = train_and_test(method, source.load(ctx.scale), schedule, self.p, ctx)
        return {"accuracy": accuracy, SHARE: share}, {"batch_size": schedule.batch_size}


@register
class AdversarialIflytek(AdversarialText):
    """7234: FewCLUE IFLYTEK (119 classes), hashed char-n-gram bag; plain vs FGM vs gradient penalty."""

    name: ClassVar[str] = "adv-iflytek"
    version: ClassVar[str] = "1"
    source = IflytekFew
    data = IflytekFew.data
    epochs = {"small": 4}  # for time: iflytek-few's small trains 8; plain training scored alike at 4 (test accuracy, seeds 0–2: 0.503 vs 0.497)
    scales = {
        "smoke": IflytekFew.scales["smoke"] + " (as iflytek-few)",
        "small": "full FewCLUE splits, char 1-2-gram bag (2^18×100), 4 epochs",
        "full": IflytekFew.scales["full"] + " (as iflytek-few)",
    }
    estimate_s = {"smoke": 3.0, "small": 15.0, "full": 60.0}


@register
class AdversarialTnews(AdversarialText):
    """7234: FewCLUE TNEWS (15 classes), hashed char-n-gram bag; plain vs FGM vs gradient penalty."""

    name: ClassVar[str] = "adv-tnews"
    version: ClassVar[str] = "1"
    source = TnewsFew
    data = TnewsFew.data
    scales = {scale: f"{text} (as tnews-few)" for scale, text in TnewsFew.scales.items()}
    estimate_s = {"smoke": 1.0, "small": 3.0, "full": 6.0}
