"""Speed benchmark (not a test): our on-device CIFAR pipeline against a reference-style loop.

    python benchmarks/bench_cifar.py [--device cpu|cuda] [--batches N] [--workers W]

Both sides train the same model (ResNet-32 by default) with the same SGD step, batch size 128,
on the CIFAR-10-LT training set (ρ = 100, 12,406 images, decoded once from the cache):

* **ours** — ``tasks.longtail._cifar_train``: uint8 images resident on the device, one gather a
  batch for crop + flip, normalisation on the device; on CUDA also channels-last and, in the
  ``bf16`` row, bf16 autocast (the task's default there).
* **reference** — the LDAM-DRW loop: a Dataset of uint8 HWC arrays that makes a PIL image per
  item and applies, per image, RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor and
  Normalize (written out here as torchvision does them; torchvision is not required), batched by
  ``torch.utils.data.DataLoader`` (shuffle, ``--workers`` processes, pinned memory on CUDA),
  fp32.

Each side is timed for ``--batches`` steady-state training steps, and for data only (batches
delivered to the device, no model; 4× as many). The pipelines run in blocks, in turns (reference,
ours, reference, ours), each block after ``--warmup`` untimed steps; a block's DataLoader is shut
down before the next block starts, so its workers take no CPU from the other pipeline. A change
of machine load thus hits both alike; the median step is reported, the device synchronised
around each step. An epoch is projected as steps × time per step; the reference also pays its
DataLoader's start-up (first batch) once per epoch, reported apart.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from tasks.longtail._cifar_train import (
    CIFAR_MEAN,
    CIFAR_STD,
    DeviceBatches,
    LossContext,
    SingleModel,
    sgd_optimizer,
    train_step,
)
from tasks.longtail.schedules import PROTOCOLS
from tasks.longtail._resnet import cifar_resnet

BATCH = 128


# -- the reference pipeline, per image, as torchvision does it -------------------------------
class ReferenceTransform:
    """RandomCrop(32, padding=4) → RandomHorizontalFlip() → ToTensor() → Normalize(mean, std) on a PIL image."""

    def __init__(self, size: int = 32, padding: int = 4) -> None:
        self.size, self.padding = size, padding
        self.mean = torch.tensor(CIFAR_MEAN).view(-1, 1, 1)
        self.std = torch.tensor(CIFAR_STD).view(-1, 1, 1)

    def __call__(self, img: Any) -> torch.Tensor:
        from PIL import Image, ImageOps

        img = ImageOps.expand(img, border=self.padding, fill=0)  # F.pad, constant mode
        w, h = img.size
        i = int(torch.randint(0, h - self.size + 1, size=(1,)).item())
        j = int(torch.randint(0, w - self.size + 1, size=(1,)).item())
        img = img.crop((j, i, j + self.size, i + self.size))
        if torch.rand(1) < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.array(img, copy=True)).permute(2, 0, 1).contiguous()  # ToTensor
        x = x.to(torch.float32).div(255)
        return x.sub_(self.mean).div_(self.std)  # Normalize


class ReferenceDataset(torch.utils.data.Dataset):
    """Like torchvision's CIFAR10: uint8 HWC arrays in memory, a PIL image made per item."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels
        self.transform = ReferenceTransform()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def reference_batches(images: np.ndarray, labels: np.ndarray, device: torch.device, workers: int, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    loader = torch.utils.data.DataLoader(
        ReferenceDataset(images, labels),
        batch_size=BATCH,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(seed),
    )
    while True:  # a new epoch restarts the workers, as in the reference
        for x, y in loader:
            yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def our_batches(images: np.ndarray, labels: np.ndarray, device: torch.device, memory_format: torch.memory_format, seed: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    batches = DeviceBatches(images, labels, BATCH, device, memory_format=memory_format)
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield from batches.epoch(generator)


# -- timing --------------------------------------------------------------------------------
@dataclass
class Timing:
    name: str
    first_batch_s: float  # from creating the batch source to the first batch on the device
    per_batch_s: float  # steady state: median over the timed steps (or batches, data only)


Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]
Step = Callable[[torch.Tensor, torch.Tensor], Any]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_block(make: Callable[[], Batches], step: Step | None, device: torch.device, batches: int, warmup: int) -> tuple[float, list[float]]:
    """First-batch latency and ``batches`` step times (after ``warmup``) of one pipeline; its source is closed after."""
    _sync(device)
    t0 = time.perf_counter()
    source = make()
    x, y = next(source)
    _sync(device)
    first, times = time.perf_counter() - t0, []
    for i in range(warmup + batches):
        t0 = time.perf_counter()
        if step is not None:
            step(x, y)
        x, y = next(source)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    source.close()  # stops a DataLoader's workers, so they take no CPU from the next block
    return first, times


def time_alternating(pipelines: dict[str, tuple[Callable[[], Batches], Step | None]], device: torch.device, batches: int, warmup: int, rounds: int = 2) -> list[Timing]:
    """Each pipeline in turn, ``rounds`` times, ``batches`` timed steps in all (split over the rounds),
    so that a change of machine load hits every pipeline alike; the median step time is reported."""
    per_round = max(1, -(-batches // rounds))
    first: dict[str, list[float]] = {name: [] for name in pipelines}
    times: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(rounds):
        for name, (make, step) in pipelines.items():
            latency, steps = time_block(make, step, device, per_round, warmup)
            first[name].append(latency)
            times[name] += steps
    return [Timing(name, float(np.median(first[name])), float(np.median(times[name]))) for name in pipelines]


def run_benchmark(device: torch.device, batches: int, warmup: int, workers: int, depth: int, width: int, rho: int) -> tuple[list[Timing], list[Timing], int]:
    """(data-only timings, training timings, steps per epoch); the reference comes first in each."""
    from harness.plan.data import resolve
    from tasks.longtail.cifar import TRAIN, Cifar10LT
    from tasks.longtail._cifar_data import load_images

    counts = Cifar10LT(rho=rho).train_counts("full")
    images, labels = load_images(resolve(TRAIN), TRAIN.sha256, counts)
    prior = torch.as_tensor(np.bincount(labels, minlength=10), dtype=torch.float32, device=device)
    loss_ctx = LossContext(prior=prior / prior.sum(), counts=prior)

    class CE:
        def loss(self, logits: torch.Tensor, y: torch.Tensor, ctx: Any) -> torch.Tensor:
            return torch.nn.functional.cross_entropy(logits, y)

    def stepper(autocast: bool, memory_format: torch.memory_format) -> Step:
        torch.manual_seed(0)
        single = SingleModel(cifar_resnet(depth, width, 10), device)
        single.model, single.memory_format = single.model.to(memory_format=memory_format), memory_format
        single.train()
        opt = sgd_optimizer(single, PROTOCOLS["ldam"])  # SGD lr 0.1, momentum 0.9, weight decay 2e-4
        return lambda x, y: train_step(single, opt, x[None], y[None], [CE()], loss_ctx, autocast)

    cuda = device.type == "cuda"
    ours_format = torch.channels_last if cuda else torch.contiguous_format
    ours = lambda: our_batches(images, labels, device, ours_format)  # noqa: E731
    ref = lambda: reference_batches(images, labels, device, workers)  # noqa: E731
    ref_name = f"reference ({workers} workers)"
    data = time_alternating({ref_name: (ref, None), "ours": (ours, None)}, device, 4 * batches, warmup)
    pipelines: dict[str, tuple[Callable[[], Batches], Step | None]] = {
        f"{ref_name} fp32": (ref, stepper(False, torch.contiguous_format)),
        "ours fp32": (ours, stepper(False, ours_format)),
    }
    if cuda:
        pipelines["ours bf16 autocast"] = (ours, stepper(True, ours_format))
    return data, time_alternating(pipelines, device, batches, warmup), -(-len(labels) // BATCH)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_cifar.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, help="timed training steps per pipeline (default 6 on CPU, 60 on CUDA)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (default 1 on CPU, 10 on CUDA, per block)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="reference DataLoader workers (LDAM-DRW uses 4)")
    parser.add_argument("--depth", type=int, default=32, help="ResNet depth 6n+2")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--rho", type=int, default=100, choices=(10, 50, 100))
    parser.add_argument("--threads", type=int, help="torch intra-op threads of the training process (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    batches = args.batches or (60 if cuda else 6)
    warmup = args.warmup if args.warmup is not None else (10 if cuda else 1)
    name = torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} torch threads, {os.cpu_count()} cores)"
    data, train, steps = run_benchmark(device, batches, warmup, args.workers, args.depth, args.width, args.rho)

    print(f"cifar10-lt ρ={args.rho}: ResNet-{args.depth} width {args.width}, batch {BATCH}, {steps} steps/epoch, device {name}")
    print(f"{batches} timed training steps per pipeline, in 2 blocks each after {warmup} warm-up step(s); torch {torch.__version__}\n")
    print("data only (batch on the device, no model):")
    for t in data:
        print(f"  {t.name:<32} {t.per_batch_s * 1e3:9.2f} ms/batch   first batch {t.first_batch_s * 1e3:8.1f} ms")
    print(f"  ratio reference/ours: {data[0].per_batch_s / data[1].per_batch_s:.1f}×\n")
    print("training step (data + forward + backward + SGD):")
    for t in train:
        print(f"  {t.name:<32} {t.per_batch_s * 1e3:9.1f} ms/step   {t.per_batch_s * steps:8.2f} s/epoch (projected)")
    ref = train[0].per_batch_s
    for t in train[1:]:
        print(f"  ratio reference/{t.name}: {ref / t.per_batch_s:.2f}×")
    print(f"  (the reference also restarts its DataLoader each epoch: first batch {data[0].first_batch_s:.2f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
