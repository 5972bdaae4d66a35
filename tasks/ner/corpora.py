"""The four bundled corpora as tasks: ``cluener``, ``peoples-daily``, ``conll2003``, ``wnut17``.

Files come from the shared bundle (``shared/data/ner``, see its README), verified by sha256.
Train/valid/test, and the deviations from the articles' setups:

* ``cluener``: CLUENER2020's labelled dev set is the **test** set (the official test labels are
  not public, as in the articles); **valid** is a fixed 1,000 sentences carved from train.
* ``peoples-daily``: the bundle has only the upstream dev (2,318) and test (4,636) files.
  **Train and valid are carved from dev** (a fixed 318 valid, 2,000 train; seed
  ``SPLIT_SEED``) and test stays test — the articles train on the ~20,864-sentence train
  file, so our absolute numbers are far lower.
* ``conll2003``: ``eng.train`` / ``eng.testa`` / ``eng.testb``, IOB1 read into spans.
* ``wnut17``: train / dev / annotated test, BIO.
"""

from __future__ import annotations

from typing import ClassVar

from harness.api import Metric, register, register_metric, resolve

# Speeds and the cell's CPU time: measured, not reproducible, so kept out of the numeric reference.
for _name, _what in (
    ("train_sents_per_s", "training sentences per wall-clock second"),
    ("train_sents_per_cpu_s", "training sentences per CPU second"),
    ("log_train_sents_per_cpu_s", "log of training sentences per CPU second"),
    ("predict_sents_per_s", "prediction sentences per wall-clock second"),
    ("predict_sents_per_cpu_s", "prediction sentences per CPU second"),
    ("cell_cpu_s", "CPU seconds of the whole cell"),
):
    register_metric(Metric(_name, _name != "cell_cpu_s", _what, measures_time=True))
from tasks.ner import data as nd
from tasks.ner.base import NerTask
from tasks.ner.data import Splits

PD_VALID = 318
CLUENER_VALID = 1000


def _checked_types(splits: Splits, expected: tuple[str, ...], name: str) -> Splits:
    found = nd.types_of(splits.train, splits.valid, splits.test)
    if not set(found) <= set(expected):
        raise RuntimeError(f"{name}: unexpected entity types {sorted(set(found) - set(expected))}")
    return splits


@register
class Cluener(NerTask):
    """CLUENER2020, Chinese, 10 fine-grained types; test = official dev, valid carved from train."""

    name: ClassVar[str] = "cluener"
    version: ClassVar[str] = "1"
    lang = "zh"
    data = (nd.CLUENER_TRAIN, nd.CLUENER_DEV)

    def splits(self) -> Splits:
        train, _ = nd.load_cluener_file(str(resolve(nd.CLUENER_TRAIN)))
        test, _ = nd.load_cluener_file(str(resolve(nd.CLUENER_DEV)))
        train, valid = nd.split_off(train, CLUENER_VALID, nd.SPLIT_SEED)
        note = f"test = CLUENER dev; valid = {CLUENER_VALID} sentences carved from train (seed {nd.SPLIT_SEED})"
        return _checked_types(Splits(train, valid, test, nd.CLUENER_TYPES, note), nd.CLUENER_TYPES, self.name)


@register
class PeoplesDaily(NerTask):
    """People's Daily 1998, Chinese, PER/LOC/ORG; train+valid carved from the dev file, test = test."""

    name: ClassVar[str] = "peoples-daily"
    version: ClassVar[str] = "1"
    lang = "zh"
    data = (nd.PD_DEV, nd.PD_TEST)

    def splits(self) -> Splits:
        dev = nd.load_conll_file(str(resolve(nd.PD_DEV)), "bio")
        test = nd.load_conll_file(str(resolve(nd.PD_TEST)), "bio")
        train, valid = nd.split_off(dev, PD_VALID, nd.SPLIT_SEED)
        note = f"no train file in the bundle: train ({len(train)}) and valid ({PD_VALID}) carved from example.dev (seed {nd.SPLIT_SEED})"
        return _checked_types(Splits(train, valid, test, nd.PD_TYPES, note), nd.PD_TYPES, self.name)


@register
class Conll2003(NerTask):
    """CoNLL-2003 English (Reuters), PER/LOC/ORG/MISC, IOB1 converted to spans; word+char BiLSTM."""

    name: ClassVar[str] = "conll2003"
    version: ClassVar[str] = "1"
    lang = "en"
    data = (nd.CONLL_TRAIN, nd.CONLL_DEV, nd.CONLL_TEST)

    def splits(self) -> Splits:
        train, valid, test = (nd.load_conll_file(str(resolve(f)), "iob1") for f in self.data)
        return _checked_types(Splits(train, valid, test, nd.CONLL_TYPES, "eng.train / eng.testa / eng.testb"), nd.CONLL_TYPES, self.name)


@register
class Wnut17(NerTask):
    """WNUT-17 emerging entities (English social media), 6 types, BIO; word+char BiLSTM."""

    name: ClassVar[str] = "wnut17"
    version: ClassVar[str] = "1"
    lang = "en"
    data = (nd.WNUT_TRAIN, nd.WNUT_DEV, nd.WNUT_TEST)

    def splits(self) -> Splits:
        train, valid, test = (nd.load_conll_file(str(resolve(f)), "bio") for f in self.data)
        return _checked_types(Splits(train, valid, test, nd.WNUT_TYPES, "train / dev / annotated test"), nd.WNUT_TYPES, self.name)


