"""Training loop of ``adv-iflytek`` / ``adv-tnews`` (torch; see ``adversarial.py``).

The model is the long-tail family's bag of hashed n-grams, written so that the bag embedding
h = A·E_U of a batch is available apart from the head: :class:`Batch` implements the
:class:`~methods.theory.experiments.EmbeddingBatch` protocol the methods read."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.api import CellFailure, RunContext
from tasks.longtail._text_model import BagOfNgrams, bag_optimisers

EVAL_BATCH = 1024


class Texts:
    """Each text packed once: its distinct n-gram ids, their weights count/m, and m (positions)."""

    def __init__(self, bags: np.ndarray) -> None:
        self.ids, self.weights = [], []
        for bag in bags:
            uniq, count = np.unique(bag, return_counts=True)
            self.ids.append(torch.as_tensor(uniq.astype(np.int64)))
            self.weights.append(torch.as_tensor((count / max(1, len(bag))).astype(np.float32)))
        self.positions = torch.as_tensor([max(1, len(bag)) for bag in bags], dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def pack(self, idx: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids, offsets, weights, text of each id) of the texts ``idx``, for EmbeddingBag."""
        sizes = torch.tensor([len(self.ids[i]) for i in idx])
        offsets = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
        segment = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
        return torch.cat([self.ids[i] for i in idx]), offsets, torch.cat([self.weights[i] for i in idx]), segment


class Batch:
    """One mini-batch: h = A·E_U and the maps between E's touched rows and h (EmbeddingBatch)."""

    def __init__(self, model: BagOfNgrams, texts: Texts, idx: Any, y: torch.Tensor) -> None:
        self.model, self.y = model, y
        self.ids, self.offsets, weights, self.segment = texts.pack(idx)
        self.weights = weights.to(model.embed.weight.dtype)
        self._positions = texts.positions[idx].to(model.embed.weight.dtype)
        self.h = model.embed(self.ids, self.offsets, per_sample_weights=self.weights)
        self.rows, self.inverse = torch.unique(self.ids, return_inverse=True)

    def loss(self, h: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.model.head(self.model.dropout(h)), self.y)

    def row_gradient(self, grad_h: torch.Tensor) -> torch.Tensor:
        out = grad_h.new_zeros(len(self.rows), grad_h.shape[1])
        return out.index_add(0, self.inverse, self.weights[:, None] * grad_h[self.segment])

    def shift(self, delta_rows: torch.Tensor) -> torch.Tensor:
        return F.embedding_bag(self.inverse, delta_rows, self.offsets, mode="sum", per_sample_weights=self.weights)

    def positions(self) -> torch.Tensor:
        return self._positions


def predict(model: BagOfNgrams, texts: Texts) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        out = []
        for start in range(0, len(texts), EVAL_BATCH):
            ids, offsets, weights, _ = texts.pack(range(start, min(start + EVAL_BATCH, len(texts))))
            out.append(model.head(model.embed(ids, offsets, per_sample_weights=weights)).argmax(1).numpy())
    return np.concatenate(out)


def train_and_test(method: Any, split: Any, schedule: Any, p: dict[str, Any], ctx: RunContext) -> tuple[float, float]:
    """(test accuracy, mean regulariser share) of one cell; shuffled mini-batches from the run seed."""
    torch.manual_seed(ctx.seed)
    generator = torch.Generator().manual_seed(ctx.seed)
    model = BagOfNgrams(p["buckets"], p["dim"], split.n_classes, p["dropout"], split.table_rows)  # the long-tail cells' table
    train, test = Texts(split.x_train), Texts(split.x_test)
    y = torch.as_tensor(split.y_train, dtype=torch.long)
    n = len(y)
    steps_per_epoch = -(-n // schedule.batch_size)
    total = schedule.epochs * steps_per_epoch
    optimisers = bag_optimisers(model, schedule, total, split.x_train)
    shares = []
    model.train()
    for epoch in range(schedule.epochs):
        ctx.check_deadline()
        order = torch.randperm(n, generator=generator).numpy()
        for step in range(steps_per_epoch):
            idx = order[step * schedule.batch_size : (step + 1) * schedule.batch_size]
            loss, clean = method.objective(Batch(model, train, idx, y[idx]))
            if not torch.isfinite(loss):
                raise CellFailure(f"non-finite training loss at epoch {epoch}")
            shares.append(float((loss.detach() - clean) / clean))
            for opt in optimisers:
                opt.zero_grad()
            loss.backward()
            for opt in optimisers:
                opt.step()
    accuracy = float(np.mean(predict(model, test) == np.asarray(split.y_test)))
    return accuracy, float(np.mean(shares))
