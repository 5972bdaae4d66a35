"""Where a number came from: code version, interpreter, libraries, machine."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from functools import lru_cache
from harness import __version__
from harness.common.files import ROOT


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


@lru_cache(maxsize=1)
def provenance() -> dict[str, object]:
    """Constant for a process; torch's version is read without importing torch."""
    try:
        from importlib.metadata import version

        torch_version = version("torch")
    except Exception:  # noqa: BLE001 - torch is optional for some families
        torch_version = ""
    return {
        "git_sha": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "harness_version": __version__,
        "python": platform.python_version(),
        "torch": torch_version,
        "hostname": socket.gethostname(),
        "platform": f"{sys.platform}-{platform.machine()}",
    }
