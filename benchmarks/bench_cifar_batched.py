"""Speed benchmark (not a test): K CIFAR cells trained as one stacked model against K separate models.

    python benchmarks/bench_cifar_batched.py [--device cpu|cuda] [--cells 4] [--depth 32] [--width 16]
                                             [--batch 128] [--steps N] [--rounds R] [--precision auto|fp32|bf16]

Both sides train the same K cells — the grid's methods in turn (erm, logit_adjust, ldam_drw with
its cosine head, focal, erm, …), each from its own seed, on its own batches of the same
long-tailed-size training set (12,406 random uint8 32×32 images: the pipeline's cost does not
depend on the pixels) — with the task's own code (``tasks.longtail._cifar_train``):

* **separate** — K ``SingleModel``s, one SGD step each, one after another (what K cells in one
  process do; K processes on one GPU share its launch queue the same way);
* **batched** — one ``StackedModels`` (``tasks.longtail._batched``): one step of all K cells.

A *round* is one step of every cell. The sides run in alternating blocks (separate, batched,
separate, …), ``--rounds`` blocks each, each block ``--steps`` timed rounds after one untimed
round, the device synchronised around each round; so a change of machine load hits both sides
alike. Printed: the median round time of each side, the batched/separate throughput ratio of
each pair of adjacent blocks (median and range), images/s of each side and, from the FLOPs of
one image counted on the model (convolutions and the classifier; forward = 2·MACs, backward ≈
2× forward: the gradients with respect to the input and to the weights), the TFLOP/s they reach.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from tasks.longtail._batched import StackedModels
from tasks.longtail._cifar_train import DeviceBatches, LossContext, SingleModel, resolve_precision, sgd_optimizer, train_step
from tasks.longtail._heads import with_head
from tasks.longtail._resnet import cifar_resnet
from tasks.longtail.schedules import PROTOCOLS

N_IMAGES = 12_406  # CIFAR-10-LT ρ = 100


def forward_macs(model: torch.nn.Module, size: int = 32) -> int:
    """Multiply-accumulates of one image's forward pass through the convolutions and linear layers."""
    macs = 0

    def conv(module: torch.nn.Conv2d, _: Any, out: torch.Tensor) -> None:
        nonlocal macs
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        macs += out.shape[1] * out.shape[2] * out.shape[3] * k

    def linear(module: torch.nn.Linear, _: Any, out: torch.Tensor) -> None:
        nonlocal macs
        macs += module.in_features * module.out_features

    hooks = [m.register_forward_hook(conv if isinstance(m, torch.nn.Conv2d) else linear)
             for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return macs


def grid_methods(k: int) -> list[Any]:
    from methods.longtail.erm import ERM
    from methods.longtail.focal import Focal
    from methods.longtail.ldam_drw import LDAMDRW
    from methods.longtail.logit_adjust import LogitAdjustLoss

    kinds = [ERM, LogitAdjustLoss, LDAMDRW, Focal]
    return [kinds[i % len(kinds)]() for i in range(k)]


def make_sides(k: int, depth: int, width: int, batch: int, device: torch.device, autocast: bool) -> dict[str, Callable[[], None]]:
    """name → one round (one SGD step of each of the K cells)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N_IMAGES, 32, 32, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(10), -(-N_IMAGES // 10))[:N_IMAGES]
    batches = DeviceBatches(images, labels, batch, device)
    counts = torch.as_tensor(np.bincount(labels, minlength=10), dtype=torch.float32, device=device)
    loss_ctx = LossContext(prior=counts / counts.sum(), counts=counts, progress=0.5)
    schedule = PROTOCOLS["ldam"]
    methods = grid_methods(k)

    def models() -> list[torch.nn.Module]:
        out = []
        for seed, method in enumerate(methods):
            torch.manual_seed(seed)
            out.append(with_head(cifar_resnet(depth, width, 10), method.head))
        return out

    def stream(cells: int) -> Callable[[], tuple[list[Any], int]]:
        """Each call: the cells' current epoch draws and the next step (full batches only)."""
        generators = [torch.Generator().manual_seed(s) for s in range(cells)]
        state: dict[str, Any] = {"step": batches.steps, "draws": []}

        def next_step() -> tuple[list[Any], int]:
            if state["step"] >= batches.steps - 1:
                state["draws"], state["step"] = [batches.draw(g) for g in generators], 0
            state["step"] += 1
            return state["draws"], state["step"] - 1

        return next_step

    singles = [SingleModel(m, device) for m in models()]
    single_opts = [sgd_optimizer(s, schedule) for s in singles]
    single_data = stream(k)
    stacked = StackedModels(models(), device)
    stacked_opt = sgd_optimizer(stacked, schedule)
    stacked_data = stream(k)
    for side in (*singles, stacked):
        side.train()

    def separate() -> None:  # each cell its own gather and its own step
        draws, step = single_data()
        for i, (single, opt) in enumerate(zip(singles, single_opts)):
            x, y = batches.batch(draws[i : i + 1], step)
            train_step(single, opt, x, y, [methods[i]], loss_ctx, autocast)

    def batched() -> None:  # one gather and one step for all K
        x, y = batches.batch(*stacked_data())
        train_step(stacked, stacked_opt, x, y, methods, loss_ctx, autocast)

    return {"separate": separate, "batched": batched}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_blocks(sides: dict[str, Callable[[], None]], device: torch.device, steps: int, rounds: int) -> dict[str, list[list[float]]]:
    """Per side, per block: the times of its ``steps`` timed rounds (after one untimed round)."""
    times: dict[str, list[list[float]]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, one_round in sides.items():
            one_round()
            _sync(device)
            block = []
            for _ in range(steps):
                t0 = time.perf_counter()
                one_round()
                _sync(device)
                block.append(time.perf_counter() - t0)
            times[name].append(block)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_cifar_batched.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cells", type=int, default=4, help="K cells on each side (default 4)")
    parser.add_argument("--depth", type=int, default=32, help="ResNet depth 6n+2 (default 32)")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, help="timed rounds per block (default 2 on CPU, 20 on CUDA)")
    parser.add_argument("--rounds", type=int, help="blocks per side, alternating (default 3 on CPU, 5 on CUDA)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto", help="auto: bf16 autocast on CUDA, fp32 on CPU")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    steps = args.steps or (20 if cuda else 2)
    rounds = args.rounds or (5 if cuda else 3)
    precision = resolve_precision(args.precision, args.device)
    macs = forward_macs(cifar_resnet(args.depth, args.width, 10))
    flop_per_image = 3 * 2 * macs  # forward 2·MACs; backward ≈ 2× forward
    sides = make_sides(args.cells, args.depth, args.width, args.batch, device, precision == "bf16")
    times = time_blocks(sides, device, steps, rounds)

    name = torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} torch threads, {os.cpu_count()} cores)"
    print(f"ResNet-{args.depth} width {args.width}, batch {args.batch}, K = {args.cells} cells ({', '.join(m.name for m in grid_methods(args.cells))}), "
          f"{precision}, device {name}, torch {torch.__version__}")
    print(f"FLOPs per image: forward {2 * macs / 1e9:.3f} GFLOP (2 × {macs / 1e6:.2f} M multiply-accumulates in the convolutions "
          f"and the classifier); forward + backward ≈ 3 × forward = {flop_per_image / 1e9:.3f} GFLOP")
    print(f"{rounds} alternating blocks per side, {steps} timed rounds each (a round: one step of every cell)\n")
    images = args.cells * args.batch
    medians = {}
    for side, blocks in times.items():
        median = statistics.median(t for block in blocks for t in block)
        medians[side] = median
        print(f"  {side:<9} {median * 1e3:9.1f} ms/round   {images / median:9.0f} images/s   {images / median * flop_per_image / 1e12:7.3f} TFLOP/s")
    ratios = [statistics.median(s) / statistics.median(b) for s, b in zip(times["separate"], times["batched"])]
    print(f"\n  batched/separate throughput: {statistics.median(t for bl in times['separate'] for t in bl) / medians['batched']:.2f}× "
          f"(per pair of adjacent blocks: median {statistics.median(ratios):.2f}×, range {min(ratios):.2f}–{max(ratios):.2f}×, n = {len(ratios)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
