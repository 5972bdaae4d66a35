"""SGD training of CIFAR ResNets with long-tail methods' losses (imports torch: load lazily).

The pipeline keeps an accelerator busy: the uint8 images live on the device (zero-padded once),
each epoch draws its permutation, crop offsets and flips on the CPU from the run's seeded
generator (one small copy per epoch, so the choices are the same on every device), and every
batch is one gather on the device (crop + flip together) followed by the normalisation of the
reference code, ``(x/255 − mean)/std``. On CUDA the model runs channels-last under bf16 autocast
(``precision=auto``), with its classifier head in fp32, and the test logits are computed in fp32;
the loss is checked for non-finite values once an epoch (no per-step host sync). On the CPU
everything is fp32 and deterministic. ``DeviceBatches`` and ``train_step`` are what
``benchmarks/bench_cifar.py`` times against a DataLoader loop.

One loop (:func:`train_cells`) trains K cells of the same task, task params and scale at once:
each cell keeps its own initialisation, generator (data order, crops, flips), loss, head and
history; they share the data on the device, the schedule and every step. The model behind it is
a :class:`SingleModel` (K = 1, a plain ``nn.Module``: the reference path) or a
:class:`tasks.longtail._batched.StackedModels` (K cells as stacked parameters under ``vmap``).
Each cell checkpoints its own state through its ``RunContext`` every ``ctx.checkpoint_every``
epochs (mid-epoch positions allowed) and when the deadline passes; a cell started again resumes
from it, bit-identical on the CPU (see :func:`cell_checkpoint`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

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

    def draw(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One epoch's shuffle and crops/flips, drawn on the CPU from ``generator``, on the device."""
        order = torch.randperm(self.n, generator=generator)
        offsets, flips = draw_augmentation(self.n, generator)
        return tuple(t.to(self.device, non_blocking=True) for t in (order, offsets, flips))  # type: ignore[return-value]

    def batch(self, draws: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``step`` of each cell's epoch draw, in one gather: images (K, B, C, H, W), labels (K, B)."""
        part = slice(step * self.batch_size, (step + 1) * self.batch_size)
        index = torch.cat([order[part] for order, _, _ in draws])
        offsets = torch.cat([o[part] for _, o, _ in draws])
        flips = torch.cat([f[part] for _, _, f in draws])
        x = self.normalize(crop_flip(self.padded, index, offsets, flips, self.size))
        return x.view(len(draws), -1, *x.shape[1:]), self.labels[index].view(len(draws), -1)

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``steps`` (normalised float images, labels) batches: one shuffle and one set of crops/flips per epoch."""
        draw = self.draw(generator)
        for step in range(self.steps):
            x, y = self.batch([draw], step)
            yield x[0].contiguous(memory_format=self.memory_format), y[0]


class CellModels(Protocol):
    """K cells' models behind one interface (parameters named as in one cell's ``state_dict``)."""

    k: int

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        """The tensors the optimiser updates (stacked over cells where K > 1)."""

    def is_norm(self, name: str) -> bool:
        """Whether parameter ``name`` belongs to a BatchNorm layer (no weight decay under decay_norm=False)."""

    def forward(self, x: torch.Tensor, autocast: bool) -> torch.Tensor:
        """fp32 logits (K, B, C) of images (K, B, C, H, W), one cell's batch each."""

    def predict(self, images: np.ndarray) -> np.ndarray:
        """fp32 logits (K, N, C) of uint8 NHWC ``images`` (normalised, no augmentation)."""

    def train(self) -> None: ...

    def slices(self, k: int) -> list[tuple[str, torch.Tensor, int | None]]:
        """Cell ``k``'s parameters: (name in its ``state_dict``, the optimised tensor, cell k's index
        along its first dimension, or None when the tensor is cell k's alone)."""

    def cell_state(self, k: int) -> dict[str, torch.Tensor]:
        """Cell ``k``'s ``state_dict`` (parameters and buffers), as a separate model would have it."""


class SingleModel:
    """One cell's ``nn.Module`` (K = 1): the reference path, channels-last on CUDA."""

    k = 1

    def __init__(self, model: torch.nn.Module, device: torch.device) -> None:
        self.model, self.memory_format = prepare(model, device)
        self.device = device
        norm = {id(p) for m in self.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for p in m.parameters()}
        self._norm = {n for n, p in self.model.named_parameters() if id(p) in norm}

    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        return list(self.model.named_parameters())

    def is_norm(self, name: str) -> bool:
        return name in self._norm

    def forward(self, x: torch.Tensor, autocast: bool) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = self.model(x[0].contiguous(memory_format=self.memory_format))
        return logits.float()[None]

    def predict(self, images: np.ndarray) -> np.ndarray:
        return predict(self.model, images, self.device, self.memory_format)[None]

    def train(self) -> None:
        self.model.train()

    def slices(self, k: int) -> list[tuple[str, torch.Tensor, int | None]]:
        return [(n, p, None) for n, p in self.model.named_parameters()]

    def cell_state(self, k: int) -> dict[str, torch.Tensor]:
        return dict(self.model.state_dict())


def sgd_optimizer(models: CellModels, schedule: SGDSchedule) -> torch.optim.SGD:
    """SGD with momentum; weight decay on every parameter, or (``decay_norm=False``) not on BatchNorm."""
    named = models.named_parameters()
    if schedule.decay_norm:
        groups: list[dict] = [{"params": [p for _, p in named], "weight_decay": schedule.weight_decay}]
    else:
        groups = [
            {"params": [p for n, p in named if not models.is_norm(n)], "weight_decay": schedule.weight_decay},
            {"params": [p for n, p in named if models.is_norm(n)], "weight_decay": 0.0},
        ]
    return torch.optim.SGD(groups, lr=schedule.lr, momentum=schedule.momentum, nesterov=schedule.nesterov)


def train_step(models: CellModels, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, methods: Sequence[object], loss_ctx: LossContext, autocast: bool) -> torch.Tensor:
    """One SGD step of every cell on its own batch (x: (K, B, …), y: (K, B)) with its own
    ``method.loss`` (on fp32 logits); returns the detached losses (K,), no host sync. The cells'
    losses are summed for one backward: each cell's parameters receive its own loss's gradient."""
    logits = models.forward(x, autocast)
    losses = torch.stack([method.loss(logits[k], y[k], loss_ctx) for k, method in enumerate(methods)])  # type: ignore[attr-defined]
    opt.zero_grad(set_to_none=True)
    losses.sum().backward()
    opt.step()
    return losses.detach()


def prepare(model: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, torch.memory_format]:
    """The model on ``device``; channels-last (and cuDNN autotuning) on CUDA."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        return model.to(device=device, memory_format=torch.channels_last), torch.channels_last
    return model.to(device), torch.contiguous_format


# -- one cell's state in a (batched) run, and its checkpoint -------------------------------
CHECKPOINT_FORMAT = "cifar-sgd-1"


@dataclass
class CellRun:
    """What one cell owns in a training run besides its slice of the model."""

    method: object
    ctx: RunContext
    generator: torch.Generator
    history: list[float] = field(default_factory=list)
    loss_sum: torch.Tensor | None = None  # this epoch's summed training loss (checked once an epoch)
    epoch_state: torch.Tensor | None = None  # the generator's state before the draw of the epoch a checkpoint resumes in
    failure: str = ""  # set when the cell failed (non-finite loss); the other cells go on


@dataclass(frozen=True)
class Position:
    """The next step to run: (epoch, step within it)."""

    epoch: int = 0
    step: int = 0


def cell_checkpoint(models: CellModels, opt: torch.optim.Optimizer, cell: CellRun, k: int, at: Position) -> dict[str, Any]:
    """Everything cell ``k`` needs to go on at ``at`` exactly as if never stopped: its model
    (parameters and BatchNorm buffers), its momentum buffers, its generator's state before the
    draw of epoch ``at.epoch`` (the epoch's shuffle and crops are drawn again on resume, and its
    first ``at.step`` batches skipped), the epoch's loss so far and the per-epoch test history."""
    momentum = {}
    for name, param, index in models.slices(k):
        buffer = opt.state.get(param, {}).get("momentum_buffer")
        if buffer is not None:
            momentum[name] = (buffer if index is None else buffer[index]).detach().to("cpu", copy=True)
    generator = cell.epoch_state if cell.epoch_state is not None else cell.generator.get_state()
    loss_sum = cell.loss_sum if at.step and cell.loss_sum is not None else torch.zeros(())
    return {
        "format": CHECKPOINT_FORMAT,
        "epoch": at.epoch,
        "step": at.step,
        "model": {n: t.detach().to("cpu", copy=True) for n, t in models.cell_state(k).items()},
        "momentum": momentum,
        "generator": generator.clone(),
        "history": list(cell.history),
        "loss_sum": loss_sum.detach().to("cpu", copy=True),
    }


def checkpoint_position(state: dict[str, Any] | None) -> Position:
    """Where a loaded checkpoint resumes (the start when there is none)."""
    if state is None:
        return Position()
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CellFailure(f"checkpoint format {state.get('format')!r}, this code reads {CHECKPOINT_FORMAT}; remove it to start over")
    return Position(int(state["epoch"]), int(state["step"]))


def restore_models(models: Sequence[torch.nn.Module], states: Sequence[dict[str, Any] | None]) -> None:
    """Load each cell's checkpointed parameters and buffers into its (freshly built) model."""
    for model, state in zip(models, states):
        if state is not None:
            model.load_state_dict(state["model"])


def _restore_run(models: CellModels, opt: torch.optim.Optimizer, cells: Sequence[CellRun], states: Sequence[dict[str, Any] | None], device: torch.device) -> None:
    """Momentum, generators, histories and partial losses from the cells' checkpoints (one position
    for all; a cell without one starts afresh, which is only possible at the very start)."""
    for k, state in enumerate(states):
        if state is None:
            continue
        for name, param, index in models.slices(k):
            saved = state["momentum"].get(name)  # type: ignore[index]
            if saved is None:  # checkpointed before the first step: no momentum yet
                continue
            buffer = opt.state[param].setdefault("momentum_buffer", torch.zeros_like(param, memory_format=torch.preserve_format))
            (buffer if index is None else buffer[index]).copy_(saved)
    for cell, state in zip(cells, states):
        if state is None:
            continue
        cell.generator.set_state(state["generator"])  # type: ignore[index]
        cell.history = [float(a) for a in state["history"]]  # type: ignore[index]
        cell.loss_sum = state["loss_sum"].to(device)  # type: ignore[index]


def train_cells(
    models: CellModels,
    split: Split,
    methods: Sequence[object],
    contexts: Sequence[RunContext],
    schedule: SGDSchedule,
    precision: str = "auto",
    track_best: bool = False,
    states: Sequence[dict[str, Any] | None] | None = None,
) -> list[tuple[np.ndarray | CellFailure, list[float]]]:
    """Train the K cells behind ``models`` (cell k: ``methods[k]``, ``contexts[k]``) on ``split``
    with ``schedule``, all at the same steps; resume from ``states`` (their checkpoints, all at one
    position, or None). Per cell: its final test logits (float32) or the :class:`CellFailure`
    that ended it, and, with ``track_best``, its balanced test accuracy after every epoch.

    Raises :class:`CellFailure` (for every cell) when the earliest deadline passes, after saving
    each cell's checkpoint at the step it reached; a cell whose loss turns non-finite fails alone."""
    ctx0 = contexts[0]
    device = torch.device(ctx0.device)
    autocast = resolve_precision(precision, ctx0.device) == "bf16"
    states = list(states) if states is not None else [None] * models.k
    start = checkpoint_position(states[0])
    if any(checkpoint_position(s) != start for s in states):
        raise ValueError("cells trained together must resume from one position")
    cells = [CellRun(m, c, torch.Generator().manual_seed(c.seed)) for m, c in zip(methods, contexts)]
    batches = DeviceBatches(split.x_train, split.y_train, schedule.batch_size, device, schedule.drop_last)
    counts = torch.as_tensor(split.counts, dtype=torch.float32, device=device)
    loss_ctx = LossContext(prior=counts / counts.sum(), counts=counts)
    opt = sgd_optimizer(models, schedule)
    _restore_run(models, opt, cells, states, device)
    steps = batches.steps
    total = schedule.epochs * steps
    every = max(1, round(ctx0.checkpoint_every * steps)) if ctx0.checkpoint_every > 0 else 0
    deadline_ctx = min((c for c in contexts if c.deadline is not None), key=lambda c: c.deadline, default=None)

    def save(at: Position) -> None:
        for k, cell in enumerate(cells):
            if not cell.failure:
                cell.ctx.save_checkpoint(cell_checkpoint(models, opt, cell, k, at), at.epoch + at.step / steps)

    models.train()
    for epoch in range(start.epoch, schedule.epochs):
        resuming = epoch == start.epoch and start.step > 0
        draws = []
        for cell in cells:
            cell.epoch_state = cell.generator.get_state()
            if not resuming:
                cell.loss_sum = torch.zeros((), device=device)
            draws.append(batches.draw(cell.generator))
        for step in range(start.step if resuming else 0, steps):
            if deadline_ctx is not None and deadline_ctx.past_deadline():
                save(Position(epoch, step))
                raise CellFailure(f"timeout: the cell ran past --timeout (checkpoint saved at epoch {epoch}, step {step}; a new run resumes there)")
            lr = schedule.lr_at(epoch, step, steps)
            for group in opt.param_groups:
                group["lr"] = lr
            x, y = batches.batch(draws, step)
            loss_ctx.progress = (epoch * steps + step) / total
            losses = train_step(models, opt, x, y, methods, loss_ctx, autocast)
            for k, cell in enumerate(cells):
                cell.loss_sum = cell.loss_sum + losses[k]  # type: ignore[operator]
            done = epoch * steps + step + 1
            if every and step + 1 < steps and done % every == 0:
                save(Position(epoch, step + 1))
        for cell in cells:
            if not cell.failure and not torch.isfinite(cell.loss_sum):  # type: ignore[arg-type]
                cell.failure = f"non-finite training loss in epoch {epoch}"
        if all(cell.failure for cell in cells):
            break
        if track_best and epoch + 1 < schedule.epochs:
            accuracies = [balanced_accuracy(logits, split.y_test) for logits in models.predict(split.x_test)]
            for cell, accuracy in zip(cells, accuracies):
                cell.history.append(accuracy)
            models.train()
        done = (epoch + 1) * steps
        if every and done < total and done % every == 0:
            for cell in cells:
                cell.epoch_state = cell.generator.get_state()  # next epoch's, not drawn yet
            save(Position(epoch + 1, 0))
    logits = models.predict(split.x_test) if not all(cell.failure for cell in cells) else [None] * len(cells)
    out: list[tuple[np.ndarray | CellFailure, list[float]]] = []
    for cell, cell_logits in zip(cells, logits):
        if cell.failure or cell_logits is None:
            out.append((CellFailure(cell.failure), []))
            continue
        if track_best:
            cell.history.append(balanced_accuracy(cell_logits, split.y_test))
        out.append((cell_logits, cell.history))
    return out


def train_sgd(
    model: torch.nn.Module,
    split: Split,
    method: object,
    schedule: SGDSchedule,
    ctx: RunContext,
    precision: str = "auto",
    track_best: bool = False,
) -> tuple[np.ndarray, list[float]]:
    """Train ``model`` (with the method's head) on ``split`` with ``method.loss`` and ``schedule``,
    resuming from the cell's checkpoint when it has one.

    Returns the final test logits (float32) and, with ``track_best``, the balanced test accuracy
    after every epoch (the reference code evaluates every epoch and reports the best), else [].
    """
    model = with_head(model, method.head)  # type: ignore[attr-defined]
    state = ctx.load_checkpoint()
    restore_models([model], [state])
    ((logits, history),) = train_cells(SingleModel(model, torch.device(ctx.device)), split, [method], [ctx], schedule, precision, track_best, [state])
    if isinstance(logits, CellFailure):
        raise logits
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
