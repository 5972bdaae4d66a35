"""Find a task's data files on this machine and verify them; never download.

Roots, in order: ``$HARNESS_DATA``, the project's ``data/`` (git-ignored), the team's shared
bundle checked out beside the project (``../shared/data``), then the user cache
(``cache_dir()/data``). A missing file or a sha256 mismatch is a clear error that names the file
and how to provide it.

Everything this project caches on a machine (the sha256 memo, decoded data, embeddings) lives
under one folder, :func:`cache_dir`, so that ``$HARNESS_CACHE`` moves all of it at once (a
read-only home, a shared scratch disk, a test's temporary folder).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from harness.plan.contract import DataFile
from harness.common.errors import UserError
from harness.common.files import ROOT, atomic_write_text, cache_dir


def data_roots() -> list[Path]:
    roots = []
    if os.environ.get("HARNESS_DATA"):
        roots.append(Path(os.environ["HARNESS_DATA"]))
    roots += [ROOT / "data", ROOT.parent / "shared" / "data", cache_dir() / "data"]
    return roots


def locate(file: DataFile) -> Path | None:
    return next((root / file.path for root in data_roots() if (root / file.path).is_file()), None)


def is_available(files: tuple[DataFile, ...]) -> bool:
    return all(locate(f) is not None for f in files)


def sha256_of(path: Path) -> str:
    """sha256 of a file, memoised in-process and on disk by what an edit cannot keep unchanged.

    The memo key is (path, device, inode, size, mtime, ctime): an edit that keeps the size and
    restores the mtime (``touch -r``) still moves the ctime, which no unprivileged call can set
    back, and a file replaced by another gets a new inode. So a memo hit always means the bytes
    hashed before are the bytes there now.
    """
    stat = path.stat()
    return _sha256_memo(str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def sha256_fresh(path: Path) -> str:
    """sha256 of the bytes on disk now, ignoring every memo (``harness fsck --data``)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _memo_path() -> Path:
    return cache_dir() / "sha256-v2.json"


@lru_cache(maxsize=256)
def _sha256_memo(resolved: str, dev: int, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    """Cell keys ask for fingerprints hundreds of times per command: read the disk memo once."""
    memo_path = _memo_path()
    memo_key = f"{resolved}|{dev}|{ino}|{size}|{mtime_ns}|{ctime_ns}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if isinstance(memo.get(memo_key), str):
        return memo[memo_key]
    digest = sha256_fresh(Path(resolved))
    memo = {k: v for k, v in memo.items() if not k.startswith(resolved + "|")}  # one entry per file
    memo[memo_key] = digest
    try:
        atomic_write_text(memo_path, json.dumps(memo))  # concurrent commands never see half a memo
    except OSError:
        pass
    return digest


def resolve(file: DataFile) -> Path:
    """The verified local path of ``file``, or a UserError naming what is missing."""
    path = locate(file)
    if path is None:
        tried = ", ".join(str(r) for r in data_roots())
        origin = f" (source: {file.source})" if file.source else ""
        raise UserError(
            f"data file {file.path} not found{origin}; looked in {tried}. "
            f"Put the data bundle under one of them or set $HARNESS_DATA to its folder."
        )
    actual = sha256_of(path)
    if actual != file.sha256:
        raise UserError(f"data file {path} has sha256 {actual[:12]}…, expected {file.sha256[:12]}…; replace it with the original")
    return path
