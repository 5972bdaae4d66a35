"""Training and prediction for in-memory long-tail data sets (imports torch: load lazily).

Mini-batch training of a small model with a method's loss; the result is the test logits.
A non-finite loss fails the cell (it is recorded, not cached).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.api import CellFailure, RunContext
from methods.longtail.hooks import LongTailMethod
from tasks.longtail._heads import with_head
from tasks.longtail._optim import Adam
from tasks.longtail.schedules import Schedule


@dataclass
class LossContext:
    """What a loss may depend on besides the batch: the training prior and progress."""

    prior: torch.Tensor  # (C,) empirical training class frequencies
    counts: torch.Tensor  # (C,) training examples per class
    progress: float = 0.0  # fraction of training done, 0..1 (deferred schedules use it)

    @property
    def log_prior(self) -> torch.Tensor:
        return self.prior.log()


def mlp(n_in: int, n_classes: int, hidden: int) -> torch.nn.Module:
    """Affine model when ``hidden == 0``, else one hidden ReLU layer."""
    if hidden == 0:
        return torch.nn.Linear(n_in, n_classes)
    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_classes))


def train_logits(
    model: torch.nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    counts: np.ndarray,
    method: LongTailMethod,
    schedule: Schedule,
    ctx: RunContext,
) -> np.ndarray:
    """Train ``model`` (with the method's head) with ``method.loss`` (Adam, shuffled mini-batches), return test logits."""
    model = with_head(model, method.head)
    generator = torch.Generator().manual_seed(ctx.seed)
    x = torch.as_tensor(x_train, dtype=torch.float32)
    y = torch.as_tensor(y_train, dtype=torch.long)
    counts_t = torch.as_tensor(counts, dtype=torch.float32)
    loss_ctx = LossContext(prior=counts_t / counts_t.sum(), counts=counts_t)
    opt = Adam(model.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay)
    n = len(y)
    steps_per_epoch = max(1, -(-n // schedule.batch_size))
    total = schedule.epochs * steps_per_epoch
    model.train()
    for epoch in range(schedule.epochs):
        ctx.check_deadline()
        order = torch.randperm(n, generator=generator)
        for step in range(steps_per_epoch):
            idx = order[step * schedule.batch_size : (step + 1) * schedule.batch_size]
            loss_ctx.progress = (epoch * steps_per_epoch + step) / total
            loss = method.loss(model(x[idx]), y[idx], loss_ctx)
            if not torch.isfinite(loss):
                raise CellFailure(f"non-finite training loss at epoch {epoch}")
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(x_test, dtype=torch.float32)).numpy()
