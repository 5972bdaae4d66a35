"""Adam and row-sparse Adam with a learning-rate factor per step, outside ``torch.optim``.

Written by hand because it is measurably cheaper, not for new arithmetic. ``torch.optim``'s
``Optimizer`` imports ``torch._dynamo`` (about 800 modules) the first time any optimiser is built,
zeroed or stepped, in every process and in eager mode too: +71 MB of resident memory and about 1 s
on the 2-core CI machine, paid by every long-tail cell's process for a compiler it never uses;
its per-step wrappers cost a small model a third of its step rate (``benchmarks/bench_optim.py``).
The long-tail cells need only Adam (dense, L2 weight decay as ``torch.optim.Adam`` adds it) and
SparseAdam, with a per-step factor on the learning rate (``LambdaLR``'s role). These classes do the
same arithmetic in the same order as torch's single-tensor CPU path, so a cell's numbers do not
change (``tests/test_text_tasks.py`` compares both, bit for bit, over a schedule).

:class:`RowSparseAdam` also writes SparseAdam's row updates as ``index_select``/``index_add_`` on the
dense states instead of ``sparse_mask`` and a sparse + dense addition: those two were most of a text
cell's time (``benchmarks/bench_text_adam.py``). After ``coalesce`` the rows are unique, so each row
gets exactly the one addition SparseAdam gives it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

Factor = Callable[[int], float]


def _constant(step: int) -> float:
    return 1.0


class _Optimiser:
    """Parameters, a base learning rate and the factor ``LambdaLR`` would apply at each step."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, factor: Factor | None = None) -> None:
        self.params = list(params)
        self.base_lr, self.eps = lr, eps
        self.beta1, self.beta2 = betas
        self.factor = factor or _constant
        self.steps = 0  # optimiser steps: the schedule's position
        self.param_steps = [0] * len(self.params)  # steps each parameter took (torch skips one without a gradient)
        self.exp_avg = [self._state_like(p) for p in self.params]
        self.exp_avg_sq = [self._state_like(p) for p in self.params]

    def _state_like(self, param: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(param, memory_format=torch.preserve_format)

    @property
    def lr(self) -> float:
        """The rate of the coming step: ``base_lr × factor(step)``, as ``LambdaLR`` sets it."""
        return self.base_lr * self.factor(self.steps)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class Adam(_Optimiser):
    """``torch.optim.Adam`` (foreach off, as on a CPU) with ``weight_decay`` added to the gradient."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0, factor: Factor | None = None) -> None:
        super().__init__(params, lr, betas, eps, factor)
        self.weight_decay = weight_decay

    @torch.no_grad()
    def step(self) -> None:
        lr = self.lr
        self.steps += 1
        for i, (param, exp_avg, exp_avg_sq) in enumerate(zip(self.params, self.exp_avg, self.exp_avg_sq)):
            if param.grad is None:
                continue
            self.param_steps[i] += 1
            step = float(self.param_steps[i])
            bias_correction1 = 1 - self.beta1**step
            bias_correction2_sqrt = (1 - self.beta2**step) ** 0.5
            grad = param.grad if self.weight_decay == 0 else param.grad.add(param, alpha=self.weight_decay)
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
            param.addcdiv_(exp_avg, denom, value=-(lr / bias_correction1))


class RowSparseAdam(_Optimiser):
    """``torch.optim.SparseAdam`` on parameters with sparse gradients (an ``EmbeddingBag(sparse=True)``).

    ``rows`` (sorted, one parameter only): the only rows that will ever get a gradient. The moments
    are then kept for those rows alone, at the same values: a row that never gets a gradient has
    zero moments in SparseAdam and is never read. A text cell's table holds rows only its test texts
    use (24,475 of IFLYTEK's 152,682); their moments were 20 MB of zeros. A gradient on any other
    row raises (``IndexError``) instead of being applied wrongly.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, factor: Factor | None = None, rows: torch.Tensor | None = None) -> None:
        self.moment_rows = rows
        super().__init__(params, lr, betas, eps, factor)
        self.slot: torch.Tensor | None = None  # table row → its moments' row (-1: none)
        if rows is not None:
            if len(self.params) != 1:
                raise ValueError("RowSparseAdam(rows=) takes one parameter")
            self.slot = torch.full((self.params[0].shape[0],), -1, dtype=torch.long)
            self.slot[rows] = torch.arange(len(rows))

    def _state_like(self, param: torch.Tensor) -> torch.Tensor:
        if self.moment_rows is None:
            return super()._state_like(param)
        return param.new_zeros((len(self.moment_rows), *param.shape[1:]))

    @torch.no_grad()
    def step(self) -> None:
        lr = self.lr
        self.steps += 1
        beta1, beta2 = self.beta1, self.beta2
        for i, (param, exp_avg, exp_avg_sq) in enumerate(zip(self.params, self.exp_avg, self.exp_avg_sq)):
            if param.grad is None:
                continue
            self.param_steps[i] += 1
            step = self.param_steps[i]
            grad = param.grad.coalesce()
            param.grad = None  # consumed: the uncoalesced rows are freed before the update allocates
            rows, values = grad._indices()[0], grad._values()
            if values.numel() == 0:
                continue
            slots = rows if self.slot is None else self.slot[rows]
            old = exp_avg.index_select(0, slots)
            update = values.sub(old).mul_(1 - beta1)
            exp_avg.index_add_(0, slots, update)
            numer = update.add_(old)
            old = exp_avg_sq.index_select(0, slots)
            update = values.pow(2).sub_(old).mul_(1 - beta2)
            exp_avg_sq.index_add_(0, slots, update)
            denom = update.add_(old).sqrt_().add_(self.eps)
            del old, update  # at most three row blocks alive at once (SparseAdam's order kept)
            step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
            param.index_add_(0, rows, numer.div_(denom).mul_(-step_size))
