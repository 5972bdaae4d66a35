"""Optimiser schedules of the long-tail family: Adam for the in-memory tasks, SGD with warm-up
and steps for CIFAR (the LDAM-DRW protocol and the logit-adjustment code's schedule). Plain data:
no torch here, so task modules can declare their schedules and ``harness list`` stays light."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Schedule:
    """Optimiser schedule of one scale (Adam on shuffled mini-batches)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0


@dataclass(frozen=True)
class SGDSchedule:
    """SGD with a linear warm-up and a step schedule of the learning rate.

    ``per_step=False`` (LDAM-DRW): epoch e (0-based) trains at lr·(e+1)/warmup while e+1 ≤ warmup.
    ``per_step=True`` (logit-adjustment code): at fractional epoch t = e + step/steps_per_epoch
    the rate is lr·t/warmup while t < warmup. After the warm-up the rate is lr times the multiplier
    of the last milestone (epoch, multiplier) with t ≥ epoch (t = e when not per step).
    """

    epochs: int
    batch_size: int
    lr: float
    momentum: float = 0.9
    weight_decay: float = 2e-4
    nesterov: bool = False
    warmup_epochs: float = 5.0
    per_step: bool = False
    milestones: tuple[tuple[float, float], ...] = ((160.0, 0.01), (180.0, 1e-4))
    drop_last: bool = False  # drop the incomplete last batch of each epoch
    decay_norm: bool = True  # weight decay on BatchNorm parameters too (torch SGD on all parameters)

    def steps_per_epoch(self, n: int) -> int:
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size
        return max(1, math.ceil(n / self.batch_size))

    def lr_at(self, epoch: int, step: int = 0, steps_per_epoch: int = 1) -> float:
        if self.per_step:
            t = epoch + step / steps_per_epoch
            if t < self.warmup_epochs:
                return self.lr * t / self.warmup_epochs
        else:
            t = float(epoch)
            if epoch + 1 <= self.warmup_epochs:
                return self.lr * (epoch + 1) / self.warmup_epochs
        multiplier = 1.0
        for start, mult in self.milestones:
            if t >= start:
                multiplier = mult
        return self.lr * multiplier

    def compressed(self, epochs: int) -> "SGDSchedule":
        """The same schedule shape over ``epochs`` epochs: warm-up and milestones at the same fractions, per step."""
        f = epochs / self.epochs
        return replace(
            self,
            epochs=epochs,
            warmup_epochs=self.warmup_epochs * f,
            per_step=True,
            milestones=tuple((start * f, mult) for start, mult in self.milestones),
        )


PROTOCOLS: dict[str, SGDSchedule] = {
    "ldam": SGDSchedule(epochs=200, batch_size=128, lr=0.1),
    "la_schedule": SGDSchedule(
        epochs=1241,
        batch_size=128,
        lr=0.1,
        weight_decay=2e-4,
        nesterov=True,
        warmup_epochs=20.0,
        per_step=True,
        milestones=((20.0, 1.0), (604.0, 0.1), (926.0, 0.01), (1128.0, 0.001)),
        drop_last=True,
        decay_norm=False,
    ),
}
