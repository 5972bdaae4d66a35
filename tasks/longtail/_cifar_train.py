"""SGD training of a CIFAR ResNet with a long-tail method's loss (imports torch: load lazily).

The pipeline keeps an accelerator busy: the uint8 images live on the device (zero-padded once),
each epoch draws its permutation, crop offsets and flips on the CPU from the run's seeded
generator (one small copy per epoch, so the choices are the same on every device), and every
batch is one gather on the device (crop + flip together) followed by the normalisation of the
reference code, ``(x/255 − mean)/std``. On CUDA the model runs channels-last under bf16 autocast
(``precision=auto``), with its classifier head in fp32, and the test logits are computed in fp32;
the loss is checked for non-finite values once an epoch (no per-step host sync). On the CPU
everything is fp32 and deterministic. ``DeviceBatches`` and ``train_step`` are what
``tasks.longtail.bench_cifar`` times against a DataLoader loop.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from harness.api import CellFailure, RunContext
from tasks.longtail._heads import with_head
from tasks.longtail.schedules import SGDSchedule
from tasks.longtail.split import Split
from tasks.longtail._train_loop import LossContext

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
PAD = 4
EVAL_BATCH = 1000


def resolve_precision(precision: str, device: str) -> str:
    """``auto`` → ``bf16`` on a CUDA device that supports it, else ``fp32``."""
    if precision != "auto":
        return precision
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def to_nchw(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) array → uint8 (N, C, H, W) tensor (contiguous)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def pad_images(x: torch.Tensor, pad: int = PAD) -> torch.Tensor:
    """Zero-pad (N, C, H, W) on all four sides, as RandomCrop(padding=pad) pads a PIL image with 0."""
    return F.pad(x, (pad, pad, pad, pad))


def draw_augmentation(n: int, generator: torch.Generator, pad: int = PAD) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image crop offsets (n, 2) = (top, left) in [0, 2·pad] and flip flags (n,), p = 0.5."""
    offsets = torch.randint(0, 2 * pad + 1, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    return offsets, flips


def crop_flip(padded: torch.Tensor, index: torch.Tensor | None, offsets: torch.Tensor, flips: torch.Tensor, size: int = 32) -> torch.Tensor:
    """Images ``index`` of ``padded`` (all when None), cropped at ``offsets`` to size×size and mirrored where ``flips``.

    One gather from the flat (contiguous) ``padded`` on its device; keeps its dtype. Output (B, C, size, size).
    """
    device = padded.device
    _, c, h, w = padded.shape
    steps = torch.arange(size, device=device)
    images = torch.arange(len(offsets), device=device) if index is None else index
    rows = offsets[:, 0:1] + steps  # (B, size)
    cols = offsets[:, 1:2] + torch.where(flips[:, None], size - 1 - steps, steps)  # (B, size)
    image_channel = (images * (c * h * w))[:, None, None, None] + (torch.arange(c, device=device) * (h * w))[None, :, None, None]
    flat = image_channel + (rows * w)[:, None, :, None] + cols[:, None, None, :]
    return padded.contiguous().view(-1)[flat]


def random_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = PAD) -> torch.Tensor:
    """RandomCrop(H, padding=pad) + RandomHorizontalFlip on a whole (N, C, H, W) batch at once."""
    offsets, flips = draw_augmentation(len(x), generator, pad)
    return crop_flip(pad_images(x, pad), None, offsets.to(x.device), flips.to(x.device), size=x.shape[-1])


class Normalizer:
    """uint8 → float32 ``(x/255 − mean)/std``, like ToTensor + Normalize of the reference code."""

    def __init__(self, device: torch.device | str, mean: tuple[float, ...] = CIFAR_MEAN, std: tuple[float, ...] = CIFAR_STD) -> None:
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32, copy=True).div_(255).sub_(self.mean).div_(self.std)


def sgd_optimizer(model: torch.nn.Module, schedule: SGDSchedule) -> torch.optim.SGD:
    """SGD with momentum; weight decay on every parameter, or (``decay_norm=False``) not on BatchNorm."""
    if schedule.decay_norm:
        groups: list[dict] = [{"params": list(model.parameters()), "weight_decay": schedule.weight_decay}]
    else:
        norm = {id(p) for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for p in m.parameters()}
        groups = [
            {"params": [p for p in model.parameters() if id(p) not in norm], "weight_decay": schedule.weight_decay},
            {"params": [p for p in model.parameters() if id(p) in norm], "weight_decay": 0.0},
        ]
    return torch.optim.SGD(groups, lr=schedule.lr, momentum=schedule.momentum, nesterov=schedule.nesterov)


class DeviceBatches:
    """The training set resident on ``device`` (uint8, zero-padded once) and its augmented mini-batches."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, device: torch.device, drop_last: bool = False, memory_format: torch.memory_format = torch.contiguous_format) -> None:
        self.size = images.shape[1]  # square images: 32 for CIFAR
        self.padded = pad_images(to_nchw(images)).to(device)
        self.labels = torch.as_tensor(labels, dtype=torch.long).to(device)
        self.n, self.batch_size, self.device = len(labels), batch_size, device
        self.steps = self.n // batch_size if drop_last and self.n >= batch_size else max(1, -(-self.n // batch_size))
        self.normalize = Normalizer(device)
        self.memory_format = memory_format

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``steps`` (normalised float images, labels) batches: one shuffle and one set of crops/flips per epoch."""
        order = torch.randperm(self.n, generator=generator)
        offsets, flips = draw_augmentation(self.n, generator)
        order, offsets, flips = (t.to(self.device, non_blocking=True) for t in (order, offsets, flips))
        for step in range(self.steps):
            part = slice(step * self.batch_size, (step + 1) * self.batch_size)
            index = order[part]
            x = self.normalize(crop_flip(self.padded, index, offsets[part], flips[part], self.size))
            yield x.contiguous(memory_format=self.memory_format), self.labels[index]


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, method: object, loss_ctx: LossContext, autocast: bool) -> torch.Tensor:
    """One SGD step on a batch with ``method.loss`` (on fp32 logits); returns the detached loss (no host sync)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
        logits = model(x)
    loss = method.loss(logits.float(), y, loss_ctx)  # type: ignore[attr-defined]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def prepare(model: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, torch.memory_format]:
    """The model on ``device``; channels-last (and cuDNN autotuning) on CUDA."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        return model.to(device=device, memory_format=torch.channels_last), torch.channels_last
    return model.to(device), torch.contiguous_format


def train_sgd(
    model: torch.nn.Module,
    split: Split,
    method: object,
    schedule: SGDSchedule,
    ctx: RunContext,
    precision: str = "auto",
    track_best: bool = False,
) -> tuple[np.ndarray, list[float]]:
    """Train ``model`` (with the method's head) on ``split`` with ``method.loss`` and ``schedule``.

    Returns the final test logits (float32) and, with ``track_best``, the balanced test accuracy
    after every epoch (the reference code evaluates every epoch and reports the best), else [].
    """
    model = with_head(model, method.head)  # type: ignore[attr-defined]
    device = torch.device(ctx.device)
    autocast = resolve_precision(precision, ctx.device) == "bf16"
    model, memory_format = prepare(model, device)
    generator = torch.Generator().manual_seed(ctx.seed)
    batches = DeviceBatches(split.x_train, split.y_train, schedule.batch_size, device, schedule.drop_last, memory_format)
    counts = torch.as_tensor(split.counts, dtype=torch.float32, device=device)
    loss_ctx = LossContext(prior=counts / counts.sum(), counts=counts)
    opt = sgd_optimizer(model, schedule)
    steps = batches.steps
    total = schedule.epochs * steps
    history: list[float] = []
    model.train()
    for epoch in range(schedule.epochs):
        ctx.check_deadline()
        loss_sum = torch.zeros((), device=device)
        for step, (x, y) in enumerate(batches.epoch(generator)):
            lr = schedule.lr_at(epoch, step, steps)
            for group in opt.param_groups:
                group["lr"] = lr
            loss_ctx.progress = (epoch * steps + step) / total
            loss_sum += train_step(model, opt, x, y, method, loss_ctx, autocast)
        if not torch.isfinite(loss_sum):
            raise CellFailure(f"non-finite training loss in epoch {epoch}")
        if track_best and epoch + 1 < schedule.epochs:
            history.append(balanced_accuracy(predict(model, split.x_test, device, memory_format), split.y_test))
            model.train()
    logits = predict(model, split.x_test, device, memory_format)
    if track_best:
        history.append(balanced_accuracy(logits, split.y_test))
    return logits, history


def balanced_accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean over classes of the per-class recall of argmax ``logits``."""
    pred = logits.argmax(1)
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def predict(model: torch.nn.Module, images: np.ndarray, device: torch.device, memory_format: torch.memory_format = torch.contiguous_format) -> np.ndarray:
    """fp32 logits of uint8 NHWC ``images`` (normalised, no augmentation), in batches on ``device``."""
    normalize = Normalizer(device)
    x_all = to_nchw(images).to(device)
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(x_all), EVAL_BATCH):
            x = normalize(x_all[start : start + EVAL_BATCH]).contiguous(memory_format=memory_format)
            out.append(model(x).float())
    return torch.cat(out).cpu().numpy()
