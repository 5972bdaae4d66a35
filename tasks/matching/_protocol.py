"""Training and scoring loop of the matching family (torch; imported only when a cell runs).

Train on shuffled mini-batches of pairs through the method's ``loss`` hook — with Adam at a
constant rate (the from-scratch encoder), or, for a pretrained encoder at smoke/small, with
sentence-transformers' fine-tuning recipe (:func:`make_optimiser`: AdamW, weight decay 0.01 off
biases and LayerNorm, a linear warm-up over the first 10 % of steps then a linear decay to 0,
gradients clipped at norm 1) — and after each epoch score the valid split and keep the best state — by valid Spearman for bi-encoders
(bojone/CoSENT's ``cosent.py``), by valid accuracy at its best threshold for the
cross-encoder on binary tasks (its ``accuracy/interact.py``). On binary tasks a second track
keeps, for every model, the test scores of the epoch with the best valid accuracy: 8860's
``accuracy/*.py`` select every model on that criterion, so its accuracy claims read this track.
The valid Spearman and the mean training loss of every epoch are kept too (8847's convergence
claim reads the first; its Sentence-BERT claim, that Spearman can fall while the loss falls,
reads both).

Bi-encoders score a split by encoding each *distinct* sentence once and taking cosines of the
cached vectors; the cross-encoder runs one forward pass per pair. Both scoring speeds are
measured on the test split in the same cell (pairs per second), which is 8860's trade-off.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from harness.api import CellFailure, RunContext
from methods.matching.base import MatchingMethod, Targets
from tasks.matching.data import LabelRange, Pairs
from tasks.matching.metrics import exhaustive_threshold, spearman100

EVAL_BATCH = 256
MIN_TIMING_S = 0.05  # repeat the cached-vector scoring until it takes this long


@dataclass(frozen=True)
class Schedule:
    """How a cell trains. The defaults are the from-scratch encoder's (Adam at a constant rate);
    ``optimiser="adamw"`` with ``warmup``/``weight_decay``/``max_grad_norm`` is the
    sentence-transformers recipe of the pretrained protocol (``tasks.matching.base``)."""

    epochs: int
    batch_size: int
    lr: float
    optimiser: str = "adam"  # adam | adamw
    warmup: float = 0.0  # fraction of all optimiser steps spent warming the rate up linearly from 0
    weight_decay: float = 0.0  # AdamW's decoupled decay, off biases and LayerNorm weights
    max_grad_norm: float | None = None  # clip the global gradient norm (sentence-transformers: 1)


NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "norm.weight", "norm.bias")  # sentence-transformers' fit()


def warmup_linear(step: int, warmup_steps: int, total_steps: int) -> float:
    """The rate factor after ``step`` optimiser steps: ``transformers.get_linear_schedule_with_warmup``
    (0 → 1 over ``warmup_steps``, then linearly to 0 at ``total_steps``)."""
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def make_optimiser(named: list[tuple[str, Any]], schedule: Schedule, total_steps: int) -> tuple[Any, Any]:
    """(optimiser, per-step rate scheduler or None) for the trainable ``(name, parameter)`` list."""
    params = [p for _, p in named]
    if schedule.optimiser == "adam":
        return torch.optim.Adam(params, lr=schedule.lr), None
    if schedule.optimiser != "adamw":
        raise ValueError(f"unknown optimiser {schedule.optimiser!r}")
    decay = [p for n, p in named if not any(n.endswith(k) for k in NO_DECAY)]
    no_decay = [p for n, p in named if any(n.endswith(k) for k in NO_DECAY)]
    groups = [{"params": decay, "weight_decay": schedule.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=schedule.lr)
    warmup_steps = math.ceil(total_steps * schedule.warmup)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: warmup_linear(step, warmup_steps, total_steps))


@dataclass
class Outcome:
    """What the loop hands back to the task: scores of valid and test, and measurements."""

    valid_scores: np.ndarray
    test_scores: np.ndarray
    valid_spearman_epoch1: float | None
    best_epoch: int
    train_s: float
    pairs_per_s: float  # test pairs scored per second (bi: from cached vectors; cross: forward passes)
    encode_s: float  # bi: time to encode the distinct test sentences; cross: 0
    curve: list[float] = field(default_factory=list)  # valid selection metric after each epoch
    steps: int = 0  # optimiser steps taken
    lr_trace: list[float] = field(default_factory=list)  # the rate of each optimiser step (first group)
    valid_spearman: list[float] = field(default_factory=list)  # after each epoch
    train_loss: list[float] = field(default_factory=list)  # mean training loss of each epoch
    by_accuracy: tuple[np.ndarray, np.ndarray] | None = None  # (valid, test) scores of the best-valid-accuracy epoch, when that track differs

    def spearman_fall(self) -> float | None:
        """How far valid Spearman fell, at the last epoch, below an earlier epoch whose training
        loss was higher (0: it never fell while the loss fell); None with fewer than 2 epochs."""
        if len(self.valid_spearman) < 2:
            return None
        last_s, last_l = self.valid_spearman[-1], self.train_loss[-1]
        return max([0.0] + [s - last_s for s, l in zip(self.valid_spearman[:-1], self.train_loss[:-1]) if l > last_l])


class Scorer:
    """Scores pairs with the current model: cosine of cached vectors, or a cross forward pass."""

    def __init__(self, encoder: Any, head: Any, method: MatchingMethod) -> None:
        self.encoder, self.head, self.method = encoder, head, method

    @torch.no_grad()
    def vectors(self, texts: list[str]) -> torch.Tensor:
        return torch.cat([self.encoder.encode(texts[i:i + EVAL_BATCH]) for i in range(0, len(texts), EVAL_BATCH)])

    @staticmethod
    def cached_cosines(unit: torch.Tensor, ia: torch.Tensor, ib: torch.Tensor) -> torch.Tensor:
        return (unit[ia] * unit[ib]).sum(-1)

    @torch.no_grad()
    def score(self, pairs: Pairs, timed: bool = False) -> tuple[np.ndarray, float, float]:
        """(scores, pairs/s, encode seconds); the timings only when ``timed``."""
        self.encoder.eval()
        if self.head is not None:
            self.head.eval()
        if self.method.cross:
            t0 = time.perf_counter()
            chunks = []
            for i in range(0, len(pairs), EVAL_BATCH):
                h = self.encoder.encode_pairs(pairs.a[i:i + EVAL_BATCH], pairs.b[i:i + EVAL_BATCH])
                chunks.append(self.method.score(h, self.head))
            if unit_device(self.encoder) != "cpu":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - t0
            return torch.cat(chunks).double().cpu().numpy(), len(pairs) / elapsed, 0.0
        distinct = list(dict.fromkeys(pairs.a + pairs.b))
        where = {t: i for i, t in enumerate(distinct)}
        t0 = time.perf_counter()
        vecs = self.vectors(distinct)
        unit = vecs / vecs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        if unit.device.type != "cpu":
            torch.cuda.synchronize()
        encode_s = time.perf_counter() - t0
        ia = torch.tensor([where[t] for t in pairs.a], device=unit.device)
        ib = torch.tensor([where[t] for t in pairs.b], device=unit.device)
        scores = self.cached_cosines(unit, ia, ib)
        rate = 0.0
        if timed:  # repeat until the measurement is long enough to mean something
            reps, t0 = 0, time.perf_counter()
            while True:
                self.cached_cosines(unit, ia, ib)
                if unit.device.type != "cpu":
                    torch.cuda.synchronize()
                reps += 1
                elapsed = time.perf_counter() - t0
                if elapsed >= MIN_TIMING_S:
                    break
            rate = reps * len(pairs) / elapsed
        return scores.double().cpu().numpy(), rate, encode_s


def unit_device(encoder: Any) -> str:
    return next(encoder.parameters()).device.type


def targets(y: np.ndarray, labels: LabelRange, device: str = "cpu") -> Targets:
    return Targets(
        raw=torch.tensor(y, dtype=torch.float32, device=device),
        unit=torch.tensor(labels.normalised(y), dtype=torch.float32, device=device),
        binary=torch.tensor(labels.binarised(y), dtype=torch.long, device=device),
    )


def train_and_score(encoder: Any, method: MatchingMethod, train: Pairs, valid: Pairs, test: Pairs,
                    labels: LabelRange, schedule: Schedule, ctx: RunContext, trainable: bool = True) -> Outcome:
    """Train (unless ``trainable`` is False and the method has no head), keep the best epoch, score."""
    head = method.head(encoder.dim)
    encoder.to(ctx.device)
    if head is not None:
        head.to(ctx.device)
    named = [(n, p) for n, p in encoder.named_parameters() if p.requires_grad] if trainable else []
    if head is not None:
        named += [(f"head.{n}", p) for n, p in head.named_parameters()]
    scorer = Scorer(encoder, head, method)
    cross_binary = method.cross and labels.binary
    rng = np.random.default_rng(ctx.seed)
    curve: list[float] = []
    lr_trace: list[float] = []
    epoch1: float | None = None
    spearman_curve: list[float] = []
    loss_curve: list[float] = []
    best_state, best_value, best_epoch = None, -np.inf, 0
    by_accuracy: tuple[np.ndarray, np.ndarray] | None = None
    best_accuracy = -np.inf
    accuracy_track = labels.binary and not cross_binary  # the cross-encoder's own selection is accuracy
    side_s = 0.0  # seconds spent scoring test for that track, kept out of train_s
    last_valid: np.ndarray | None = None
    t0 = time.monotonic()
    if named and schedule.epochs > 0:
        per_epoch = sum(1 for start in range(0, len(train), schedule.batch_size) if len(train) - start >= 2)
        opt, sched = make_optimiser(named, schedule, per_epoch * schedule.epochs)
        params = [p for _, p in named]
        for epoch in range(1, schedule.epochs + 1):
            encoder.train()
            if head is not None:
                head.train()
            order = rng.permutation(len(train))
            losses: list[float] = []
            for start in range(0, len(order), schedule.batch_size):
                ctx.check_deadline()
                idx = order[start:start + schedule.batch_size]
                if len(idx) < 2:
                    continue
                a = [train.a[i] for i in idx]
                b = [train.b[i] for i in idx]
                tgt = targets(train.label[idx], labels, ctx.device)
                if method.cross:
                    loss = method.loss(encoder.encode_pairs(a, b), None, tgt, head)
                else:
                    both = encoder.encode(a + b)
                    loss = method.loss(both[: len(a)], both[len(a):], tgt, head)
                if not torch.isfinite(loss):
                    raise CellFailure(f"{method.name}: loss became {loss.item()} at epoch {epoch}")
                losses.append(float(loss.detach()))
                opt.zero_grad()
                loss.backward()
                if schedule.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, schedule.max_grad_norm)
                lr_trace.append(float(opt.param_groups[0]["lr"]))
                opt.step()
                if sched is not None:
                    sched.step()
            valid_scores, _, _ = scorer.score(valid)
            spearman_curve.append(spearman100(valid_scores, valid.label))
            loss_curve.append(float(np.mean(losses)) if losses else math.nan)
            if epoch == 1:
                epoch1 = spearman_curve[0]
            accuracy = exhaustive_threshold(valid_scores, valid.label)[1] * 100.0 if labels.binary else -np.inf
            if accuracy_track and accuracy > best_accuracy:  # scoring test here is not training time
                t_test = time.monotonic()
                best_accuracy, by_accuracy = accuracy, (valid_scores, scorer.score(test)[0])
                side_s += time.monotonic() - t_test
            value = accuracy if cross_binary else spearman_curve[-1]
            curve.append(value)
            if value > best_value:
                best_value, best_epoch = value, epoch
                if epoch < schedule.epochs:  # the last epoch's state is the one in hand: no copy
                    best_state = (copy.deepcopy(encoder.state_dict()), copy.deepcopy(head.state_dict()) if head is not None else None)
            last_valid = valid_scores
        if best_state is not None and best_epoch != schedule.epochs:
            encoder.load_state_dict(best_state[0])
            if head is not None:
                head.load_state_dict(best_state[1])
            last_valid = None
    train_s = time.monotonic() - t0 - side_s
    valid_scores = last_valid if last_valid is not None else scorer.score(valid)[0]  # the kept state's valid scores
    test_scores, rate, encode_s = scorer.score(test, timed=True)
    return Outcome(valid_scores, test_scores, epoch1, best_epoch, train_s, rate, encode_s, curve, len(lr_trace), lr_trace,
                   spearman_curve, loss_curve, by_accuracy)
