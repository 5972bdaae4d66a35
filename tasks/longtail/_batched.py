"""K CIFAR cells as one batched model: stacked parameters under ``torch.func.vmap`` (imports torch).

Why: one ResNet-32 cell at batch 128 keeps a GPU waiting on kernel launches (about 10 ms a step
on an H200, most of it launch overhead), so training K cells side by side as K processes only
multiplies the launches. Stacking the K cells' parameters along a new first dimension and
running ``functional_call`` under ``vmap`` turns every layer of the K models into ONE kernel
(a convolution with K groups, a batched matrix product, one BatchNorm over K·C channels): K
times the arithmetic per launch.

Each cell stays what it is as a separate cell: its own initial weights (built from its seed, as
the separate path builds them, then stacked), its own batch (data order, crops and flips from
its own generator, see :meth:`tasks.longtail._cifar_train.DeviceBatches.batch`), its own loss,
its own head and its own BatchNorm statistics (buffers stacked like parameters: vmap updates
cell k's running mean from cell k's batch only). Heads differ between methods (LDAM's cosine head,
everybody else's ``Linear``), so the backbone (everything but the model's ``linear``) is stacked
over all K cells and each kind of head over the cells that use it. The optimiser is one SGD over
the stacked tensors: SGD is elementwise, so slice k of a stacked update is cell k's update.

The results equal the separate cells' up to float32 summation order (a grouped convolution or
a batched reduction adds the same terms in another order); ``tests/test_cifar_batched.py``
checks the agreement against a bound derived from that. Not used under the stacked model:
channels-last memory (vmap's inputs are 5-D); bf16 autocast is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from harness.api import CellFailure, RunContext
from tasks.longtail._cifar_train import EVAL_BATCH, Normalizer, restore_models, to_nchw, train_cells
from tasks.longtail.schedules import SGDSchedule
from tasks.longtail.split import Split

HEAD = "linear"  # the attribute of CifarResNet that holds its classifier (with_head swaps it)


@dataclass
class _HeadGroup:
    """The cells (in order) that share one kind of head, with their stacked head parameters."""

    cells: list[int]
    index: torch.Tensor  # the same positions as a tensor, to pick their features
    template: nn.Module  # on the meta device: structure only
    params: dict[str, torch.Tensor]


def _stack(tensors: Sequence[torch.Tensor], grad: bool) -> torch.Tensor:
    stacked = torch.stack([t.detach() for t in tensors])
    return stacked.requires_grad_() if grad else stacked


class StackedModels:
    """K models of one architecture trained together (the ``CellModels`` of ``_cifar_train``)."""

    def __init__(self, models: Sequence[nn.Module], device: torch.device) -> None:
        models = [m.to(device) for m in models]
        self.k, self.device = len(models), device
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # as for one model: autotuned (grouped) convolutions
        backbone = copy.deepcopy(models[0])
        setattr(backbone, HEAD, nn.Identity())  # the backbone returns fp32 pooled features
        names = [n for n, _ in backbone.named_parameters()]
        buffers = [n for n, _ in backbone.named_buffers()]
        self.template = backbone.to("meta")
        per_model = [(dict(m.named_parameters()), dict(m.named_buffers())) for m in models]
        self.params = {n: _stack([p[n] for p, _ in per_model], grad=True) for n in names}
        self.buffers = {n: _stack([b[n] for _, b in per_model], grad=False) for n in buffers}
        norm_modules = {n for n, m in self.template.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}
        self._norm = {n for n in names if n.rpartition(".")[0] in norm_modules}
        kinds: dict[type, list[int]] = {}
        for k, model in enumerate(models):
            kinds.setdefault(type(getattr(model, HEAD)), []).append(k)
        self.groups = []
        for cells in kinds.values():
            heads = [getattr(models[k], HEAD) for k in cells]
            template = copy.deepcopy(heads[0]).to("meta")
            params = {n: _stack([dict(h.named_parameters())[n] for h in heads], grad=True) for n, _ in template.named_parameters()}
            self.groups.append(_HeadGroup(cells, torch.tensor(cells, device=device), template, params))
        order = [k for g in self.groups for k in g.cells]
        self._inverse = torch.tensor(np.argsort(order), device=device) if order != list(range(self.k)) else None

    # -- what the training loop asks -------------------------------------------------------
    def named_parameters(self) -> list[tuple[str, torch.Tensor]]:
        return [*self.params.items(), *((f"{HEAD}.{n}", p) for g in self.groups for n, p in g.params.items())]

    def is_norm(self, name: str) -> bool:
        return name in self._norm

    def slices(self, k: int) -> list[tuple[str, torch.Tensor, int | None]]:
        group = next(g for g in self.groups if k in g.cells)
        return [*((n, p, k) for n, p in self.params.items()),
                *((f"{HEAD}.{n}", p, group.cells.index(k)) for n, p in group.params.items())]

    def cell_state(self, k: int) -> dict[str, torch.Tensor]:
        """Cell k's ``state_dict`` as its separate model would have it (same names, same tensors)."""
        group = next(g for g in self.groups if k in g.cells)
        state = {n: t[k] for n, t in {**self.params, **self.buffers}.items()}
        state.update({f"{HEAD}.{n}": p[group.cells.index(k)] for n, p in group.params.items()})
        return state

    def train(self) -> None:
        self.template.train()

    def _features(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def _logits(self, features: torch.Tensor) -> torch.Tensor:
        """(K, B, C) fp32 logits from (K, B, F) features: each kind of head over its cells."""
        outs = []
        with torch.autocast(features.device.type, enabled=False):  # heads in fp32, as the single model's
            for group in self.groups:
                mine = features if len(group.cells) == self.k else features.index_select(0, group.index)
                outs.append(vmap(lambda p, f, t=group.template: functional_call(t, p, (f,)))(group.params, mine.float()))
        logits = outs[0] if len(outs) == 1 else torch.cat(outs)
        return logits if self._inverse is None else logits.index_select(0, self._inverse)

    def forward(self, x: torch.Tensor, autocast: bool) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            features = vmap(self._features)(self.params, self.buffers, x)
        return self._logits(features).float()

    def predict(self, images: np.ndarray) -> np.ndarray:
        """fp32 logits (K, N, C): every cell on the same test images, in eval mode, in batches."""
        normalize = Normalizer(self.device)
        x_all = to_nchw(images).to(self.device)
        self.template.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(x_all), EVAL_BATCH):
                x = normalize(x_all[start : start + EVAL_BATCH])
                features = vmap(self._features, in_dims=(0, 0, None))(self.params, self.buffers, x)
                out.append(self._logits(features).float())
        return torch.cat(out, dim=1).cpu().numpy()


def train_stacked(
    models: Sequence[nn.Module],
    split: Split,
    methods: Sequence[object],
    contexts: Sequence[RunContext],
    schedule: SGDSchedule,
    precision: str = "auto",
    track_best: bool = False,
    states: Sequence[dict[str, Any] | None] | None = None,
) -> list[tuple[np.ndarray | CellFailure, list[float]]]:
    """:func:`tasks.longtail._cifar_train.train_cells` of the K cells behind ``models`` (each
    built from its own seed, with its method's head) as one stacked model, each resuming from its
    checkpoint in ``states`` (all at one position, or None)."""
    states = list(states) if states is not None else [None] * len(models)
    restore_models(models, states)
    stacked = StackedModels(models, torch.device(contexts[0].device))
    return train_cells(stacked, split, methods, contexts, schedule, precision, track_best, states)
