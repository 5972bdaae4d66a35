"""Train one head on one encoder, keep the epoch with the best valid F1, score the test set
(imports torch).

* Sentences longer than ``maxlen`` are truncated for the model; spans cut off are dropped from
  the training targets and can never be predicted, but stay in the gold test spans, so they
  count as missed (``test_truncated`` says how many sentences that touched).
* Adam at constant rates, gradient norm clipped at 5 (from scratch); with a pretrained encoder at
  smoke/small, the pretrained protocol's AdamW with warm-up and linear decay (:func:`make_optimiser`);
  mini-batches shuffled per epoch with a generator seeded by
  the cell seed and bucketed by length (sorted inside chunks of 20 batches: less padding,
  still random).
* Speeds are measured in this run for this method: training sentences/s over the optimiser
  steps only (valid passes excluded), prediction sentences/s over the test pass. Each is
  reported per wall-clock second and per CPU second of this process (``*_per_cpu_s``): on a
  CPU shared with other jobs the wall clock measures the neighbours as much as the method,
  while with one torch thread (``HARNESS_THREADS=1``) CPU seconds are what a dedicated core
  would take. Speed claims use the CPU-second figures.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from harness.api import CellFailure, RunContext
from tasks.ner.data import Corpus, Splits
from tasks.ner._encoder import BiLSTMEncoder, Vocab, collate
from tasks.ner.metrics import span_scores
from methods.ner.spans import Span


@dataclass(frozen=True)
class Schedule:
    epochs: int
    batch_size: int
    lr: float
    maxlen: int
    emb: int
    hidden: int
    dropout: float = 0.3
    pretrained_lr: float = 5e-5  # the encoder's rate when it is pretrained (minilm, hf:)
    optimiser: str = "adam"  # adam (constant rate) | adamw (warm-up + linear decay, the pretrained protocol)
    warmup: float = 0.0  # adamw: fraction of the optimiser steps spent warming up linearly from 0
    weight_decay: float = 0.0  # adamw: decoupled decay, off biases and LayerNorm weights
    head_lr: float | None = None  # the heads' rate with a pretrained encoder (None: the encoder's)
    clip: float = 5.0  # global gradient-norm clip


@dataclass
class Outcome:
    metrics: dict[str, float]
    train_s: float
    eval_s: float
    predictions: list[set[Span]]


def _truncate(corpus: Corpus, maxlen: int) -> tuple[list[tuple[str, ...]], list[tuple[Span, ...]], int]:
    tokens = [s.tokens[:maxlen] for s in corpus.sentences]
    spans = [tuple(sp for sp in s.spans if sp[1] < maxlen) for s in corpus.sentences]
    return tokens, spans, sum(len(s.tokens) > maxlen for s in corpus.sentences)


def _batches(n: int, batch_size: int, lengths: Sequence[int], rng: np.random.Generator | None) -> list[list[int]]:
    order = rng.permutation(n) if rng is not None else np.argsort(lengths, kind="stable")
    if rng is not None:
        chunk = batch_size * 20
        order = np.concatenate([sorted(order[i : i + chunk], key=lambda k: lengths[k]) for i in range(0, n, chunk)]) if n else order
    batches = [list(map(int, order[i : i + batch_size])) for i in range(0, n, batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


class Model(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head


def _predict(model: Model, feats: list[dict[str, torch.Tensor]], batch_size: int) -> list[set[Span]]:
    model.eval()
    out: list[set[Span]] = [set() for _ in feats]
    lengths = [len(f.get("first", f.get("ids"))) for f in feats]
    with torch.no_grad():
        for idx in _batches(len(feats), batch_size * 2, lengths, None):
            x, mask = collate([feats[i] for i in idx])
            for i, spans in zip(idx, model.head.decode(model.encoder(x, mask), mask)):
                out[i] = spans
    return out


def build_encoder(spec: str, lang: str, sched: Schedule, train_tokens: list[tuple[str, ...]]) -> tuple[Callable[[Sequence[str]], dict[str, torch.Tensor]], torch.nn.Module, float, bool]:
    """(encode a token sequence, encoder module, learning rate, pretrained?) for ``spec``."""
    if spec == "bilstm":
        vocab = Vocab.build(train_tokens, lang)
        return (lambda tokens: vocab.encode(tokens, lang)), BiLSTMEncoder(vocab, lang, sched.emb, sched.hidden, sched.dropout), sched.lr, False
    from tasks.ner._pretrained import PieceVocab, PretrainedEncoder, model_dir

    folder = str(model_dir(spec))
    pieces = PieceVocab(folder, sched.maxlen)
    return pieces.encode, PretrainedEncoder(folder), sched.pretrained_lr, True


NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias")


def make_optimiser(model: Model, special: list[tuple[list[Any], float]], lr: float, sched: Schedule, pretrained: bool,
                   steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """(optimiser, per-step rate scheduler or None). Groups: the encoder at ``lr``, the head at
    ``sched.head_lr`` (pretrained encoders; default ``lr``), and a method's special parameters
    (CRF transitions) at ``lr × multiplier``. ``adam`` keeps every rate constant (the from-scratch
    protocol); ``adamw`` decays weights (not biases/LayerNorm), warms up linearly over
    ``sched.warmup`` of the steps and then decays linearly to 0 (``transformers``' linear schedule)."""
    special_ids = {id(p) for params, _ in special for p in params}
    if sched.optimiser == "adam":
        groups = [{"params": [p for p in model.parameters() if id(p) not in special_ids], "lr": lr}]
        groups += [{"params": params, "lr": lr * mult} for params, mult in special]
        return torch.optim.Adam(groups), None
    if sched.optimiser != "adamw":
        raise ValueError(f"unknown optimiser {sched.optimiser!r}")
    head_lr = sched.head_lr if (pretrained and sched.head_lr is not None) else lr
    buckets: dict[tuple[float, float], list[Any]] = {}
    for part, rate in ((model.encoder, lr), (model.head, head_lr)):
        for name, p in part.named_parameters():
            if id(p) in special_ids or not p.requires_grad:
                continue
            decay = 0.0 if any(name.endswith(k) for k in NO_DECAY) else sched.weight_decay
            buckets.setdefault((rate, decay), []).append(p)
    groups = [{"params": ps, "lr": rate, "weight_decay": decay} for (rate, decay), ps in buckets.items()]
    groups += [{"params": params, "lr": lr * mult, "weight_decay": 0.0} for params, mult in special]
    opt = torch.optim.AdamW(groups)
    warmup_steps = math.ceil(steps * sched.warmup)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (steps - step) / max(1, steps - warmup_steps))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def train_and_test(method: Any, splits: Splits, lang: str, sched: Schedule, ctx: RunContext, encoder_spec: str = "bilstm") -> Outcome:
    tr_tokens, tr_spans, _ = _truncate(splits.train, sched.maxlen)
    tr_cut_spans = sum(len(s.spans) for s in splits.train.sentences) - sum(map(len, tr_spans))
    va_tokens, _, _ = _truncate(splits.valid, sched.maxlen)
    te_tokens, _, _ = _truncate(splits.test, sched.maxlen)
    encode, encoder, lr, pretrained = build_encoder(encoder_spec, lang, sched, tr_tokens)
    enc_tr = [encode(t) for t in tr_tokens]
    enc_va = [encode(t) for t in va_tokens]
    enc_te = [encode(t) for t in te_tokens]
    word_key = "first" if pretrained else "ids"
    te_cut = sum(len(e[word_key]) < len(s.tokens) for e, s in zip(enc_te, splits.test.sentences))

    head = method.head(encoder.out_dim, splits.types)
    model = Model(encoder, head)
    lengths = [len(e[word_key]) for e in enc_tr]
    steps = sched.epochs * len(_batches(len(enc_tr), sched.batch_size, lengths, None))
    opt, lr_sched = make_optimiser(model, method.lr_multipliers(head, pretrained_encoder=pretrained), lr, sched, pretrained, steps)

    rng = np.random.default_rng(ctx.seed)
    best_f1, best_state, best_epoch = -1.0, None, 0
    step_s, step_cpu, eval_valid_s, seen = 0.0, 0.0, 0.0, 0
    valid_gold = [s.spans for s in splits.valid.sentences]
    for epoch in range(sched.epochs):
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        for idx in _batches(len(enc_tr), sched.batch_size, lengths, rng):
            x, mask = collate([enc_tr[i] for i in idx])
            loss = model.head.loss(model.encoder(x, mask), mask, [tr_spans[i] for i in idx])
            if not math.isfinite(loss.item()):
                raise CellFailure(f"non-finite training loss at epoch {epoch}")
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), sched.clip)
            opt.step()
            if lr_sched is not None:
                lr_sched.step()
            seen += len(idx)
            ctx.check_deadline()
        step_s += time.perf_counter() - t0
        step_cpu += time.process_time() - c0
        t1 = time.perf_counter()
        f1 = span_scores(valid_gold, _predict(model, enc_va, sched.batch_size))["f1"]
        eval_valid_s += time.perf_counter() - t1
        if f1 > best_f1:
            best_f1, best_state, best_epoch = f1, copy.deepcopy(model.state_dict()), epoch + 1
    assert best_state is not None
    model.load_state_dict(best_state)
    dropped = int(getattr(head, "dropped", 0))

    t2, c2 = time.perf_counter(), time.process_time()
    pred = _predict(model, enc_te, sched.batch_size)
    predict_s, predict_cpu = time.perf_counter() - t2, time.process_time() - c2
    gold = [s.spans for s in splits.test.sentences]
    metrics = span_scores(gold, pred, splits.types)
    metrics.update(
        valid_f1=best_f1,
        best_epoch=float(best_epoch),
        params_per_type=float(head.params_per_type()),
        head_params=float(sum(p.numel() for p in head.parameters())),
        train_sents_per_s=seen / step_s,
        predict_sents_per_s=len(enc_te) / predict_s,
        train_sents_per_cpu_s=seen / step_cpu,
        log_train_sents_per_cpu_s=math.log(seen / step_cpu),
        predict_sents_per_cpu_s=len(enc_te) / predict_cpu,
        test_truncated=float(te_cut),
        train_spans_truncated=float(tr_cut_spans),
        train_spans_overlap_dropped=float(dropped / max(1, sched.epochs)),
        gold_tags_repaired=float(splits.train.repaired + splits.valid.repaired + splits.test.repaired),
        n_train=float(len(splits.train)),
        n_test=float(len(splits.test)),
    )
    return Outcome(metrics, step_s + eval_valid_s, predict_s, pred)
