"""fastText-style text classifier and its training loop (imports torch: load lazily).

Model: the mean of the text's hashed n-gram embeddings → dropout → ``Linear(dim, C)`` (Joulin
et al. 2017, *Bag of Tricks for Efficient Text Classification*). The mean is computed as an
``EmbeddingBag(mode="sum")`` over each text's distinct ids weighted by count/length, which is the
same number while touching each embedding row once per text. As in fastText, the
embeddings start uniform in ±1/dim and the classifier at zero, and the learning rate decays
linearly to zero over training. The embedding table is sparse (``SparseAdam`` updates only the
rows a batch touches, so 2^18 × 100 parameters cost little per step); the classifier uses Adam
with the schedule's weight decay. (fastText's plain SGD was tried on the dev sets and trained
worse than Adam here.)

The loop mirrors :func:`tasks.longtail._train_loop.train_logits`: shuffled mini-batches from a
generator seeded by the run seed, a :class:`~tasks.longtail._train_loop.LossContext` with the
training prior/counts/progress for the method's loss, ``ctx.check_deadline()`` every epoch and a
:class:`~harness.common.errors.CellFailure` on a non-finite loss. The result is the test logits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from harness.api import CellFailure, RunContext
from methods.longtail.hooks import LongTailMethod
from tasks.longtail._heads import with_head
from tasks.longtail.schedules import Schedule
from tasks.longtail._train_loop import LossContext

EVAL_BATCH = 1024


class RowSparseAdam(torch.optim.SparseAdam):
    """``torch.optim.SparseAdam``, step for step and bit for bit, with its row updates written as
    ``index_select``/``index_add_`` on the dense states instead of ``sparse_mask`` and the
    addition of a sparse tensor to a dense one — measurably faster on a CPU (those two were most
    of a text cell's time: ``benchmarks/bench_text_adam.py``). The same arithmetic in the same
    order: after ``coalesce`` the rows are unique, so each row of a state or of the table gets
    exactly the one addition SparseAdam gives it (``tests/test_text_tasks.py`` compares them)."""

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # noqa: ANN401 - torch's signature
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad.coalesce()
                rows, values = grad._indices()[0], grad._values()
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["step"] += 1
                if values.numel() == 0:
                    continue
                exp_avg, exp_avg_sq, step = state["exp_avg"], state["exp_avg_sq"], state["step"]
                old_exp_avg = exp_avg.index_select(0, rows)
                exp_avg_update = values.sub(old_exp_avg).mul_(1 - beta1)
                exp_avg.index_add_(0, rows, exp_avg_update)
                old_exp_avg_sq = exp_avg_sq.index_select(0, rows)
                exp_avg_sq_update = values.pow(2).sub_(old_exp_avg_sq).mul_(1 - beta2)
                exp_avg_sq.index_add_(0, rows, exp_avg_sq_update)
                numer = exp_avg_update.add_(old_exp_avg)
                denom = exp_avg_sq_update.add_(old_exp_avg_sq).sqrt_().add_(group["eps"])
                step_size = group["lr"] * math.sqrt(1 - beta2**step) / (1 - beta1**step)
                param.index_add_(0, rows, -step_size * numer.div_(denom))
        return None


class BagOfNgrams(torch.nn.Module):
    """Mean of hashed n-gram embeddings, then a linear classifier."""

    def __init__(self, buckets: int, dim: int, n_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = torch.nn.EmbeddingBag(buckets, dim, mode="sum", sparse=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(dim, n_classes)
        torch.nn.init.uniform_(self.embed.weight, -1.0 / dim, 1.0 / dim)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(ids, offsets, per_sample_weights=weights)))


def pack(bags: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bags (an object array of int64 id arrays) → (unique ids, offsets, weights) for EmbeddingBag.

    Each bag's repeated ids are merged with weight count/length, so the weighted sum equals the
    mean over all its n-grams while touching each embedding row once per text.
    """
    ids, offsets, weights, start = [], [], [], 0
    for bag in bags:
        uniq, count = np.unique(bag, return_counts=True)
        ids.append(uniq)
        weights.append(count / max(1, len(bag)))
        offsets.append(start)
        start += len(uniq)
    flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    return (
        torch.as_tensor(flat.astype(np.int64, copy=False), device=device),
        torch.as_tensor(np.asarray(offsets, dtype=np.int64), device=device),
        torch.as_tensor(np.concatenate(weights).astype(np.float32) if weights else np.zeros(0, np.float32), device=device),
    )


def compact(model: BagOfNgrams, *bag_sets: np.ndarray) -> tuple[BagOfNgrams, list[np.ndarray]]:
    """The model with only the embedding rows some bag uses, and the bags renumbered to them.

    Measurably cheaper, same numbers: a row no training text touches is never updated
    (SparseAdam keeps no state for it and never moves it), so the rows the bags do not use can
    go. The kept rows hold their initial values, the optimiser's states shrink from the whole
    table (3 × 2^18 × 100 floats, ~315 MB) to the rows in use, and each step's sparse update
    touches a smaller table (``tests/test_text_tasks.py`` checks the logits are bit-identical)."""
    used = np.unique(np.concatenate([np.concatenate(list(bags)) if len(bags) else np.zeros(0, np.int64) for bags in bag_sets]))
    table = model.embed.weight.detach()[torch.as_tensor(used)].clone()
    model.embed = torch.nn.EmbeddingBag.from_pretrained(table, freeze=False, mode="sum", sparse=True)
    renumbered = []
    for bags in bag_sets:
        out = np.empty(len(bags), dtype=object)
        out[:] = [np.searchsorted(used, bag) for bag in bags]
        renumbered.append(out)
    return model, renumbered


def predict(model: BagOfNgrams, bags: np.ndarray, device: str = "cpu") -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(bags), EVAL_BATCH):
            out.append(model(*pack(bags[start : start + EVAL_BATCH], device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.head.out_features), dtype=np.float32)


def train_bag_logits(
    model: BagOfNgrams,
    bags_train: np.ndarray,
    y_train: np.ndarray,
    bags_test: np.ndarray,
    counts: np.ndarray,
    method: LongTailMethod,
    schedule: Schedule,
    ctx: RunContext,
) -> np.ndarray:
    """Train ``model`` with ``method.loss`` (sparse Adam + Adam, linear decay), return test logits.

    Runs on one torch thread (the task's ``max_threads``): small sparse ops gain nothing from more."""
    model, (bags_train, bags_test) = compact(model, bags_train, bags_test)
    model = with_head(model, method.head)
    device = ctx.device if ctx.device.startswith("cuda") else "cpu"
    model.to(device)
    generator = torch.Generator().manual_seed(ctx.seed)
    y = torch.as_tensor(y_train, dtype=torch.long)
    counts_t = torch.as_tensor(counts, dtype=torch.float32, device=device)
    loss_ctx = LossContext(prior=counts_t / counts_t.sum(), counts=counts_t)
    optimisers = [
        RowSparseAdam(list(model.embed.parameters()), lr=schedule.lr),
        torch.optim.Adam(list(model.head.parameters()), lr=schedule.lr, weight_decay=schedule.weight_decay),
    ]
    n = len(y)
    steps_per_epoch = max(1, -(-n // schedule.batch_size))
    total = schedule.epochs * steps_per_epoch
    schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1.0 - step / total)) for opt in optimisers]
    model.train()
    for epoch in range(schedule.epochs):
        ctx.check_deadline()
        order = torch.randperm(n, generator=generator).numpy()
        for step in range(steps_per_epoch):
            idx = order[step * schedule.batch_size : (step + 1) * schedule.batch_size]
            loss_ctx.progress = (epoch * steps_per_epoch + step) / total
            logits = model(*pack(bags_train[idx], device))
            loss = method.loss(logits, y[idx].to(device), loss_ctx)
            if not torch.isfinite(loss):
                raise CellFailure(f"non-finite training loss at epoch {epoch}")
            for opt in optimisers:
                opt.zero_grad()
            loss.backward()
            for opt, sched in zip(optimisers, schedulers):
                opt.step()
                sched.step()
    return predict(model, bags_test, device)
