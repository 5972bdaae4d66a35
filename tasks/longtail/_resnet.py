"""CIFAR ResNets (He et al. 2016, §4.2) as in the LDAM-DRW code (imports torch: load lazily).

Depth 6n+2: a 3×3 stem, three stages of n basic blocks at widths (w, 2w, 4w) and strides
(1, 2, 2), global average pooling and a linear classifier. The down-sampling shortcut is
option A (parameter-free: take every other pixel, zero-pad the new channels). Conv and linear
weights use Kaiming-normal initialisation, as ``_weights_init`` in the reference code.

Under autocast the classifier head runs in fp32, so logits (and the losses and post-hoc
adjustments computed from them) keep full precision. ResNet-32 (n=5, w=16) has 464,154 parameters with 10 classes; ResNet-8 (n=1) is the small-scale
backbone, and a smaller width ``w`` narrows every stage.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ShortcutA(nn.Module):
    """Option-A shortcut: stride-2 subsampling and zero channels, no parameters."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.pad_lo = (planes - in_planes) // 2
        self.pad_hi = planes - in_planes - self.pad_lo

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_lo, self.pad_hi))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = ShortcutA(in_planes, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32×32 inputs; ``forward`` returns logits only."""

    def __init__(self, blocks_per_stage: int = 5, width: int = 16, n_classes: int = 10) -> None:
        super().__init__()
        if blocks_per_stage < 1 or width < 1:
            raise ValueError("blocks_per_stage and width must be >= 1")
        self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages, in_planes = [], width
        for i, stride in enumerate((1, 2, 2)):
            planes = width * 2**i
            layers = []
            for j in range(blocks_per_stage):
                layers.append(BasicBlock(in_planes, planes, stride if j == 0 else 1))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(in_planes, n_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        with torch.autocast(out.device.type, enabled=False):  # the head stays fp32 under autocast
            return self.linear(out.float())


def cifar_resnet(depth: int = 32, width: int = 16, n_classes: int = 10) -> CifarResNet:
    """ResNet-``depth`` (depth = 6n+2: 8, 14, 20, 32, 44, 56, 110) with base width ``width``."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n+2 >= 8, got {depth}")
    return CifarResNet((depth - 2) // 6, width, n_classes)


def resnet32(n_classes: int = 10) -> CifarResNet:
    return cifar_resnet(32, 16, n_classes)


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
