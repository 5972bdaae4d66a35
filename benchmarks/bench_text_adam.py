"""The text tasks' sparse optimiser step (not a test): ``RowSparseAdam`` against
``torch.optim.SparseAdam`` on the table and batch shapes of an IFLYTEK small cell, in turns.

    python benchmarks/bench_text_adam.py [--rows 152682] [--dim 100] [--touched 6000] [--steps 200] [--rounds 5]

Each round times ``--steps`` optimiser steps of each (same gradients, one torch thread, as the
cells run), alternating the two so that a change of machine load hits both alike; prints the
median seconds per step and their ratio, and checks that both end on the same bits.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from tasks.longtail._optim import RowSparseAdam


def grads(rows: int, dim: int, touched: int, steps: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(steps):
        idx = torch.randint(0, rows, (touched,), generator=g)
        out.append(torch.sparse_coo_tensor(idx[None], torch.randn(touched, dim, generator=g), (rows, dim), check_invariants=False))
    return out


def timed(cls: type, weight: torch.Tensor, sparse_grads: list[torch.Tensor]) -> tuple[float, torch.Tensor]:
    param = torch.nn.Parameter(weight.clone())
    opt = cls([param], lr=1e-2)
    t0 = time.perf_counter()
    for grad in sparse_grads:
        param.grad = grad
        opt.step()
    return (time.perf_counter() - t0) / len(sparse_grads), param.detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=152_682, help="embedding rows in use (IFLYTEK small)")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--touched", type=int, default=6000, help="rows in one batch's gradient (before coalescing)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    weight = torch.empty(args.rows, args.dim).uniform_(-0.01, 0.01, generator=torch.Generator().manual_seed(1))
    sparse_grads = grads(args.rows, args.dim, args.touched, args.steps)
    theirs, ours = [], []
    for _ in range(args.rounds):
        t, a = timed(torch.optim.SparseAdam, weight, sparse_grads)
        o, b = timed(RowSparseAdam, weight, sparse_grads)
        theirs.append(t)
        ours.append(o)
    print(f"SparseAdam    {statistics.median(theirs) * 1000:7.2f} ms/step")
    print(f"RowSparseAdam {statistics.median(ours) * 1000:7.2f} ms/step")
    print(f"ratio {statistics.median(theirs) / statistics.median(ours):.2f}× faster (median of {args.rounds} rounds, "
          f"range {min(t / o for t, o in zip(theirs, ours)):.2f}–{max(t / o for t, o in zip(theirs, ours)):.2f}); "
          f"same bits: {torch.equal(a, b)}")


if __name__ == "__main__":
    main()
