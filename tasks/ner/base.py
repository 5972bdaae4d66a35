"""What every NER task shares: scale → data sizes and schedule, then train a head and score spans.

Subclasses provide ``splits()`` (the full train/valid/test :class:`~tasks.ner.data.Splits`),
``lang`` (``zh``: one token per character; ``en``: word tokens) and optionally their own
schedules. Scales:

* ``smoke``: fixed subsamples (200 train / 50 valid / 100 test sentences), a tiny BiLSTM,
  3 epochs — seconds, CI's numeric regression;
* ``small``: fixed subsamples sized so that the 5-method × 4-corpus × 3-seed grid runs in
  minutes on 2 CPU cores, a 1×64 BiLSTM;
* ``full``: all the data, maxlen 256, batch 16, 10 epochs, best valid F1 (the articles'
  protocol with a from-scratch encoder in place of BERT).

Subsamples are drawn with a fixed seed independent of the cell seed, so every method and seed
of a task sees the same sentences. Importing this module does not import torch.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from harness.api import CellResult, Method, Param, RunContext, Task, UserError
from tasks.ner.data import SPLIT_SEED, Splits, subsample

# (train, valid, test) sentence caps per scale; None = all
SIZES: dict[str, tuple[int | None, int | None, int | None]] = {
    "smoke": (200, 50, 100),
    "small": (1500, 300, 1000),
    "full": (None, None, None),
}

#: The pretrained protocol: a pretrained encoder (``encoder=minilm`` or ``hf:``) at smoke/small
#: fine-tunes on fixed subsamples sized for a shared 2-core CPU (train/valid/test sentences), with
#: AdamW (encoder 5e-5, heads 1e-3, CRF transitions at the method's multiplier × 5e-5), weight
#: decay 0.01, linear warm-up over 10 % of the steps then linear decay, gradients clipped at 1,
#: 6 epochs of batch 32, 128 word pieces, best valid F1. Tokens are pooled from their first word
#: piece. Selected by the cell key (encoder + scale); at full a pretrained encoder runs the
#: articles' schedule (all data, 10 epochs, Adam 2e-5).
PRETRAINED_SIZES: dict[str, tuple[int | None, int | None, int | None]] = {
    "smoke": (64, 32, 32),
    "small": (800, 200, 800),
}

#: epochs per scale (torch-free, so that verdicts can ask :meth:`NerTask.last_epoch` cheaply)
EPOCHS = {"smoke": 3, "small": 4, "full": 10}
PRETRAINED_EPOCHS = {"smoke": 1, "small": 6}  # small: 6 since 2026-12-07 (at 2, test F1 was 0.08–0.52)

ENCODER = Param(
    "encoder",
    "str",
    "bilstm",
    "bilstm: from-scratch char (zh) / word+char (en) BiLSTM; minilm: all-MiniLM-L6-v2 (English; optional package); hf:<local dir>: a saved BERT-like model",
)
MAXLEN = Param("maxlen", "int", 0, "truncate sentences to this many tokens (0: the scale's default: smoke/small 128, full 256)", minimum=0)


def schedules() -> dict[str, Any]:
    from tasks.ner._protocol import Schedule

    return {
        "smoke": Schedule(epochs=EPOCHS["smoke"], batch_size=16, lr=1e-2, maxlen=128, emb=32, hidden=32),
        "small": Schedule(epochs=EPOCHS["small"], batch_size=32, lr=1e-2, maxlen=128, emb=64, hidden=64),
        "full": Schedule(epochs=EPOCHS["full"], batch_size=16, lr=1e-3, maxlen=256, emb=128, hidden=128, pretrained_lr=2e-5),
    }


def pretrained_schedules() -> dict[str, Any]:
    """The pretrained protocol's schedules (see :data:`PRETRAINED_SIZES`)."""
    from tasks.ner._protocol import Schedule

    common = dict(batch_size=32, lr=5e-5, maxlen=128, emb=0, hidden=0, pretrained_lr=5e-5, optimiser="adamw",
                  warmup=0.1, weight_decay=0.01, head_lr=1e-3, clip=1.0)
    return {scale: Schedule(epochs=epochs, **common) for scale, epochs in PRETRAINED_EPOCHS.items()}  # type: ignore[arg-type]


class NerTask(Task):
    family: ClassVar[str] = "ner"
    primary_metric: ClassVar[str] = "f1"
    table_metrics: ClassVar[tuple[str, ...]] = ("f1", "valid_f1", "params_per_type", "train_sents_per_cpu_s", "predict_sents_per_cpu_s")
    max_threads: ClassVar[int | None] = 1  # a 1×64 BiLSTM: a second thread mostly spins
    lang: ClassVar[str] = "zh"
    estimate_s: ClassVar[dict[str, float]] = {"smoke": 3.0, "small": 25.0, "full": 1800.0}  # CPU seconds, one thread (full: GPU with hf:)
    params: ClassVar[tuple[Param, ...]] = (ENCODER, MAXLEN)
    scales = {
        "smoke": "≤200/50/100 train/valid/test sentences, BiLSTM 1×32, 3 epochs",
        "small": "≤1500/300/1000 train/valid/test sentences (fixed subsample), BiLSTM 1×64, 4 epochs; "
                 "encoder=minilm/hf: the pretrained protocol: ≤800/200/800 sentences, 6 epochs, AdamW 5e-5 (heads 1e-3), 10 % warm-up",
        "full": "all sentences, maxlen 256, batch 16, 10 epochs, best valid F1 (BiLSTM 1×128 at Adam 1e-3; minilm/hf: at Adam 2e-5)",
    }

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        spec = self.p["encoder"]
        if spec not in ("bilstm", "minilm") and not (spec.startswith("hf:") and len(spec) > 3):
            raise UserError(f"{self.name}.encoder must be bilstm, minilm or hf:<local model dir>, got {spec!r}")

    @classmethod
    def last_epoch(cls, scale: str, params: Any) -> int | None:
        """The epochs a cell trains: a cell whose best valid epoch is this one was still improving,
        and its verdicts cannot refute (the engine's rule)."""
        pretrained = params.get("encoder", "bilstm") != "bilstm" and scale in PRETRAINED_EPOCHS
        return (PRETRAINED_EPOCHS if pretrained else EPOCHS).get(scale)

    def fingerprint(self) -> str:
        spec = self.p["encoder"]
        return super().fingerprint() + ("" if spec == "bilstm" else f"+{spec}")

    def splits(self) -> Splits:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def pretrained(self) -> bool:
        return self.p["encoder"] != "bilstm"

    def load(self, scale: str) -> Splits:
        full = self.splits()
        n_train, n_valid, n_test = PRETRAINED_SIZES[scale] if self.pretrained and scale in PRETRAINED_SIZES else SIZES[scale]
        return Splits(
            subsample(full.train, n_train, SPLIT_SEED),
            subsample(full.valid, n_valid, SPLIT_SEED),
            subsample(full.test, n_test, SPLIT_SEED),
            full.types,
            full.note,
        )

    def schedule(self, scale: str) -> Any:
        from dataclasses import replace

        table = pretrained_schedules() if self.pretrained and scale in PRETRAINED_SIZES else schedules()
        sched = table[scale]
        return replace(sched, maxlen=self.p["maxlen"]) if self.p["maxlen"] else sched

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        from tasks.ner._protocol import train_and_test

        t0, c0 = time.monotonic(), time.process_time()
        splits = self.load(ctx.scale)
        if not len(splits.train) or not len(splits.test):
            raise UserError(f"{self.name}: empty train or test split")
        if not len(splits.valid):
            raise UserError(f"{self.name}: empty valid split")
        load_s = time.monotonic() - t0
        sched = self.schedule(ctx.scale)
        out = train_and_test(method, splits, self.lang, sched, ctx, self.p["encoder"])
        out.metrics["cell_cpu_s"] = time.process_time() - c0  # the cell's CPU cost, robust to a shared machine
        return CellResult(
            metrics=out.metrics,
            train_s=out.train_s + load_s,
            eval_s=out.eval_s,
            predictions=predictions_frame(out.predictions),
            info={"batch_size": sched.batch_size, "notes": splits.note},
        )


def predictions_frame(pred: list[set[tuple[int, int, str]]]) -> Any:
    """Predicted spans per test sentence, as one "start end type; …" string (paired tests can read them)."""
    import pandas as pd

    return pd.DataFrame({"sentence": list(range(len(pred))), "spans": ["; ".join(sorted(f"{s} {e} {t}" for s, e, t in p)) for p in pred]})
