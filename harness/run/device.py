"""Device choice and seeding. torch is imported here lazily, only when a cell really runs."""

from __future__ import annotations

import os
import random
from typing import Any

from harness.common.errors import UserError


def cuda_available() -> bool:
    """True when torch sees a CUDA device; answered without importing torch on a machine
    with no NVIDIA driver (so cached runs and dry runs start fast)."""
    if not (os.path.exists("/proc/driver/nvidia") or any(os.path.exists(f"/dev/nvidia{i}") for i in range(8))):
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def resolve_device(spec: str) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without one is an error."""
    if spec not in {"auto", "cpu", "cuda"}:
        raise UserError(f"--device must be auto, cpu or cuda, got {spec!r}")
    if spec == "auto":
        return "cuda" if cuda_available() else "cpu"
    if spec == "cuda" and not cuda_available():
        raise UserError("--device cuda but no CUDA device is visible; use --device cpu or auto")
    return spec


def resolve_scale(spec: str) -> tuple[str, str]:
    """The scale to run and why: ``auto`` is ``full`` with CUDA, else ``small``."""
    if spec != "auto":
        return spec, f"scale {spec}"
    if cuda_available():
        return "full", "scale auto → full (a CUDA device is visible)"
    return "small", "scale auto → small (no CUDA device visible)"


def seed_everything(seed: int, *, use_torch: bool = True, threads: int | None = None, deterministic: bool = True) -> None:
    """Fix every RNG a cell may touch and (``deterministic``) make kernels deterministic.

    The runner asks for determinism on the CPU only: CUDA runs use bf16 autocast and cuDNN
    autotuning, so they are not bit-reproducible anyway, and deterministic CUDA kernels are slower."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed)
    if not use_torch:
        return
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
    if deterministic:
        _deterministic_kernels(torch)
    if threads:
        torch.set_num_threads(threads)


def _deterministic_kernels(torch: Any) -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without its one other effect,
    importing ``torch._inductor.config`` to set the compiler's flag: that import costs about
    2.4 s in every fresh worker process, and no cell compiles on the CPU (where this is called)."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # another torch: the public call
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        setter(True, warn_only=True)


def gpu_name(device: str) -> str:
    if not device.startswith("cuda"):
        return ""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
