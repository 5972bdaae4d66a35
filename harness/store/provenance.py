"""Where a number came from: code version, interpreter, libraries, machine."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
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


def code_sha(task: type, method: type) -> str:
    """sha256 of the source of the family folders that define ``task`` and ``method`` (every
    ``.py`` under ``tasks/<family>/`` and ``methods/<family>/``, in path order).

    Stored with each record, not in the cell key: a comment edit would otherwise orphan every
    finished cell of the family (and the committed records), while a forgotten version bump
    must not reuse stale cells silently — ``harness run`` names the cached cells whose family
    code changed since they ran (bump the version, or ``--overwrite always``). The data a cell
    reads is in its key already (the sha256 of every file: the data fingerprint)."""
    return _folders_sha(tuple(sorted({_family_folder(task), _family_folder(method)})))


def _family_folder(component: type) -> str:
    """``tasks/<family>`` for a class defined in ``tasks.<family>[.sub].module``; the module's own
    file for a class defined elsewhere (a test's throw-away family)."""
    module = sys.modules.get(component.__module__)
    path = Path(getattr(module, "__file__", "") or "")
    parts = component.__module__.split(".")
    return str(path.parents[len(parts) - 3]) if len(parts) >= 3 else str(path)


@lru_cache(maxsize=64)
def _folders_sha(folders: tuple[str, ...]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for folder in folders:
        root = Path(folder)
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root] if root.is_file() else []:
            digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
