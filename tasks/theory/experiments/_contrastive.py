"""SimCLR-style pre-training and the linear probe of ``flatnce-digits`` (torch; see that module)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.api import CellFailure, RunContext
from tasks.theory.experiments._digits import digits, per_class_split

TEST_PER_CLASS = 50
PROBE_DRAWS = 5
LR = 1e-3


def views(x: torch.Tensor, generator: torch.Generator, min_area: float, noise: float) -> torch.Tensor:
    """A random resized crop (area in [min_area, 1], any position inside the image, bilinear,
    zero padding) of each 8×8 image, plus Gaussian pixel noise."""
    n = x.shape[0]
    side = torch.empty(n).uniform_(min_area, 1.0, generator=generator).sqrt()
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (1 - side)[:, None]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = side
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, [n, 1, 8, 8], align_corners=False)
    out = F.grid_sample(x.view(n, 1, 8, 8), grid, align_corners=False).view(n, 64)
    return out + noise * torch.randn(out.shape, generator=generator)


def similarity_rows(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """NT-Xent scores of 2B views (self-similarity −inf) and each row's positive column."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n, b = z.shape[0], z1.shape[0]
    scores = (z @ z.T / temperature).masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
    positive = torch.cat([torch.arange(b, n), torch.arange(0, b)])
    return scores, positive


def log10_xi(scores: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """log₁₀ Σ_{j≠t} e^{s_j − s_t} per row, computed stably."""
    rows = torch.arange(scores.shape[0])
    negatives = scores.index_put((rows, positive), scores.new_tensor(float("-inf")))
    return (negatives.logsumexp(1) - scores[rows, positive]) / np.log(10.0)


def probe_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor) -> float:
    """Test accuracy of an L2-regularised multinomial logistic regression fitted by L-BFGS (float64)."""
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = ((train_x - mu) / sd).double(), ((test_x - mu) / sd).double()
    w = torch.zeros(a.shape[1], 10, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, c], lr=1.0, max_iter=200, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(a @ w + c, train_y) + 1e-3 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + c).argmax(1) == test_y).double().mean())


def pretrain_and_probe(method: Any, batch_size: int, steps: int, p: dict[str, Any], ctx: RunContext) -> tuple[float, float]:
    """(mean probe accuracy over the label draws, median log₁₀ ξ of the last 50 steps)."""
    x_all, y_all = digits()
    test, train = per_class_split(y_all, (TEST_PER_CLASS,), p["split_seed"])
    x_train, y_train = torch.as_tensor(x_all[train]), torch.as_tensor(y_all[train])
    x_test, y_test = torch.as_tensor(x_all[test]), torch.as_tensor(y_all[test])
    seed = ctx.seed * 1000 + batch_size  # one init and one data order per (seed, batch size), shared by the methods
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 64))
    head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(64, 32))
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=LR)
    n, step, xis = len(train), 0, []
    while step < steps:
        ctx.check_deadline()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            x = x_train[order[start : start + batch_size]]
            z1 = head(encoder(views(x, generator, p["min_area"], p["noise"])))
            z2 = head(encoder(views(x, generator, p["min_area"], p["noise"])))
            scores, positive = similarity_rows(z1, z2, p["temperature"])
            loss = method.contrastive_loss(scores, positive)
            if not torch.isfinite(loss):
                raise CellFailure(f"non-finite contrastive loss at step {step} (batch {batch_size})")
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step > steps - 50:
                xis.append(log10_xi(scores.detach(), positive))
            if step == steps:
                break
    with torch.no_grad():
        f_train, f_test = encoder(x_train), encoder(x_test)
    accs = []
    for draw in range(PROBE_DRAWS):
        labelled = per_class_split(y_all[train], (p["labels_per_class"],), p["split_seed"] + 1 + draw)[0]
        accs.append(probe_accuracy(f_train[labelled], y_train[labelled], f_test, y_test))
    return float(np.mean(accs)), float(torch.cat(xis).median())
