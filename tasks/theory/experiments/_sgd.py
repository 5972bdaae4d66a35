"""Training, selection and evaluation of ``sgd-digits`` (torch; see ``sgd.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from harness.api import CellFailure, RunContext
from tasks.theory.experiments._digits import digits, per_class_split


def mlp(hidden: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10)
    )


class Batch:
    """One mini-batch of the MLP (the SGDBatch protocol the methods read)."""

    def __init__(self, model: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor, lr: float) -> None:
        self.model, self.x, self.y, self.lr = model, x, y, lr
        self.params = list(model.parameters())
        self.weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]

    def loss(self) -> torch.Tensor:
        return F.cross_entropy(self.model(self.x), self.y)


@dataclass
class Kept:
    strength: float
    val_accuracy: float
    test_accuracy: float
    input_grad_norm: float
    train_loss: float
    notes: str


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


def input_grad_norm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean over examples of ‖∇ₓ CE(f(x), y)‖₂ (per-example losses: the gradient of their sum)."""
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum"), x)
    return float(grad.norm(dim=1).mean())


def train_one(method: Any, strength: float, x: torch.Tensor, y: torch.Tensor, p: dict[str, Any], epochs: int, ctx: RunContext) -> torch.nn.Sequential | None:
    """A model trained with ``method`` at ``strength``; None if its loss became non-finite."""
    torch.manual_seed(ctx.seed)
    generator = torch.Generator().manual_seed(ctx.seed)
    model = mlp(p["hidden"])
    n, bs = len(y), p["batch_size"]
    for _ in range(epochs):
        ctx.check_deadline()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            loss = method.step(Batch(model, x[idx], y[idx], p["lr"]), strength)
            if not torch.isfinite(torch.tensor(loss)):
                return None
    if not all(torch.isfinite(q).all() for q in model.parameters()):
        return None
    return model


def select_and_test(method: Any, p: dict[str, Any], epochs: int, ctx: RunContext) -> Kept:
    x_all, y_all = digits()
    train, val, test = per_class_split(y_all, (p["train_per_class"], p["val_per_class"]), p["split_seed"])
    (x, y), (xv, yv), (xt, yt) = ((torch.as_tensor(x_all[i]), torch.as_tensor(y_all[i])) for i in (train, val, test))
    best: tuple[float, float, torch.nn.Sequential] | None = None
    tried = []
    for strength in method.settings():
        model = train_one(method, strength, x, y, p, epochs, ctx)
        val_acc = accuracy(model, xv, yv) if model is not None else float("nan")
        tried.append(f"{strength:g}: {'diverged' if model is None else f'{val_acc:.4f}'}")
        if model is not None and (best is None or val_acc > best[1]):
            best = (strength, val_acc, model)
    if best is None:
        raise CellFailure(f"every strength diverged ({', '.join(tried)})")
    strength, val_acc, model = best
    with torch.no_grad():
        train_loss = float(F.cross_entropy(model(x), y))
    return Kept(strength, val_acc, accuracy(model, xt, yt), input_grad_norm(model, xt, yt), train_loss, "validation accuracy per strength: " + ", ".join(tried))
