"""fastText-style text classifier and its training loop (imports torch: load lazily).

Model: the mean of the text's hashed n-gram embeddings → dropout → ``Linear(dim, C)`` (Joulin
et al. 2017, *Bag of Tricks for Efficient Text Classification*). The mean is computed as an
``EmbeddingBag(mode="sum")`` over each text's distinct ids weighted by count/length, which is the
same number while touching each embedding row once per text. As in fastText, the
embeddings start uniform in ±1/dim and the classifier at zero, and the learning rate decays
linearly to zero over training. The embedding table is sparse (SparseAdam updates only the
rows a batch touches, so 2^18 × 100 parameters cost little per step); the classifier uses Adam
with the schedule's weight decay (both from :mod:`tasks.longtail._optim`). Only the rows some
text uses are ever allocated (``BagOfNgrams(rows=)``, the rows of
:func:`tasks.longtail.text_data.table_bags`), with the numbers the whole table would hold.
(fastText's plain SGD was tried on the dev sets and trained worse than Adam here.)

The loop mirrors :func:`tasks.longtail._train_loop.train_logits`: shuffled mini-batches from a
generator seeded by the run seed, a :class:`~tasks.longtail._train_loop.LossContext` with the
training prior/counts/progress for the method's loss, ``ctx.check_deadline()`` every epoch and a
:class:`~harness.common.errors.CellFailure` on a non-finite loss. The result is the test logits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from harness.api import CellFailure, RunContext
from methods.longtail.hooks import LongTailMethod
from tasks.longtail._heads import with_head
from tasks.longtail._optim import Adam, RowSparseAdam
from tasks.longtail._train_loop import LossContext
from tasks.longtail.schedules import Schedule
from tasks.longtail.text_data import rows_of

EVAL_BATCH = 1024


class BagOfNgrams(torch.nn.Module):
    """Mean of hashed n-gram embeddings, then a linear classifier.

    ``rows`` (sorted bucket ids) keeps only those rows of the table, holding exactly the numbers
    the whole table would hold there: the random stream is drawn in the same order, a block at a
    time, so the full ``buckets × dim`` table (105 MB at 2^18 × 100) is never allocated and the
    generator ends where the whole table's initialisation leaves it (``tests/test_text_tasks.py``).
    """

    def __init__(self, buckets: int, dim: int, n_classes: int, dropout: float = 0.0, rows: np.ndarray | None = None) -> None:
        super().__init__()
        if rows is None:
            self.embed = torch.nn.EmbeddingBag(buckets, dim, mode="sum", sparse=True)
        else:
            _draw_blocks(buckets * dim, 16, lambda start, block: block.normal_())  # EmbeddingBag's own init, overwritten below
            self.embed = torch.nn.EmbeddingBag(len(rows), dim, mode="sum", sparse=True, _weight=torch.empty(len(rows), dim))
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(dim, n_classes)
        if rows is None:
            torch.nn.init.uniform_(self.embed.weight, -1.0 / dim, 1.0 / dim)
        else:
            _uniform_rows(buckets, dim, rows, -1.0 / dim, 1.0 / dim, out=self.embed.weight.data)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(ids, offsets, per_sample_weights=weights)))


BLOCK = 1 << 20  # about this many values are drawn at a time


def _draw_blocks(n: int, unit: int, draw: Callable[[int, torch.Tensor], object]) -> None:
    """Hand ``draw(start, block)`` consecutive blocks covering ``n`` values, each a multiple of
    ``unit`` long but the last, which takes the remainder with one more unit. Drawing into them in
    turn draws what one call over all ``n`` draws: CPU ``uniform_`` draws serially, and ``normal_``
    serially in groups of 16 (so ``unit=16`` for it: no block is cut inside a group)."""
    step = max(unit, BLOCK // unit * unit)
    buffer = torch.empty(min(n, step + unit))  # one buffer for every block: no heap churn
    start = 0
    while start < n:
        size = n - start if n - start < step + unit else step
        draw(start, buffer[:size])
        start += size


def _uniform_rows(buckets: int, dim: int, rows: np.ndarray, low: float, high: float, out: torch.Tensor) -> None:
    """Fill ``out`` with rows ``rows`` (sorted) of ``torch.empty(buckets, dim).uniform_(low, high)``,
    drawn in blocks of whole rows."""
    rows_t = torch.tensor(rows, dtype=torch.long)  # a copy: the rows are read-only (cached)

    def keep(start: int, block: torch.Tensor) -> None:
        block.uniform_(low, high)
        first, n_rows = start // dim, block.numel() // dim
        lo, hi = np.searchsorted(rows, [first, first + n_rows])
        torch.index_select(block.view(n_rows, dim), 0, rows_t[lo:hi] - first, out=out[lo:hi])

    _draw_blocks(buckets * dim, dim, keep)


def pack(bags: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bags (an object array of integer id arrays) → (unique int64 ids, offsets, weights) for EmbeddingBag.

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


def predict(model: BagOfNgrams, bags: np.ndarray, device: str = "cpu") -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(bags), EVAL_BATCH):
            out.append(model(*pack(bags[start : start + EVAL_BATCH], device)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.head.out_features), dtype=np.float32)


def bag_optimisers(model: BagOfNgrams, schedule: Schedule, total_steps: int, bags_train: np.ndarray) -> list[Adam | RowSparseAdam]:
    """SparseAdam on the table and Adam (with the schedule's weight decay) on the head, both at the
    schedule's rate decaying linearly to zero over ``total_steps``. The table's moments are kept
    for the rows the training bags use, the only rows training gives a gradient."""

    def linear_decay(step: int) -> float:
        return max(0.0, 1.0 - step / total_steps)

    trained = torch.as_tensor(rows_of(bags_train), dtype=torch.long)
    return [
        RowSparseAdam(model.embed.parameters(), lr=schedule.lr, factor=linear_decay, rows=trained),
        Adam(model.head.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay, factor=linear_decay),
    ]


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
    model = with_head(model, method.head)
    device = ctx.device if ctx.device.startswith("cuda") else "cpu"
    model.to(device)
    generator = torch.Generator().manual_seed(ctx.seed)
    y = torch.as_tensor(y_train, dtype=torch.long)
    counts_t = torch.as_tensor(counts, dtype=torch.float32, device=device)
    loss_ctx = LossContext(prior=counts_t / counts_t.sum(), counts=counts_t)
    n = len(y)
    steps_per_epoch = max(1, -(-n // schedule.batch_size))
    total = schedule.epochs * steps_per_epoch
    optimisers = bag_optimisers(model, schedule, total, bags_train)
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
            for opt in optimisers:
                opt.step()
    del optimisers  # their moments (twice the table) are not needed to predict
    return predict(model, bags_test, device)
