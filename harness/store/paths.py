"""The names that become paths in a store, and the one check every one of them passes.

A store joins two kinds of names into paths: a cell key (``records/<task>/<key>.parquet``,
``preds/<key>.parquet``, ``failed/<key>.json``, ``leases/<key>.lease``) and a task name (the
folders of ``records/`` and ``packs/``, a compaction's lease). Both also arrive from outside: a
pack or record copied from another machine (``harness merge``), a folder someone created in the
store. A key of ``../../x`` joined unchecked writes outside the store, so every place that turns
a key or a task into a path — the store's readers and writers, merge, compact, leases, fsck,
predictions — checks it here first, and every file whose rows name anything else is refused as
damaged (see :func:`harness.store.codec.check_names`).

- a **cell key** is what :attr:`harness.plan.cells.Cell.key` makes: a sha256 hex digest, exactly
  64 lowercase hexadecimal characters;
- a **task name** follows the one rule for names (:mod:`harness.common.names`), as the registry
  checks it on every declaration.

Light on purpose: ``harness merge`` imports this before it decides whether pyarrow is needed.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from harness.common.errors import UserError
from harness.common.names import NAME_PATTERN, is_name

KEY_PATTERN = r"^[0-9a-f]{64}$"
TASK_PATTERN = NAME_PATTERN  # and no "..": see is_task
_KEY = re.compile(KEY_PATTERN)


class BadName(UserError):
    """A cell key or task name that must not become a path (bad input: one line, exit 2)."""


def shown(value: Any) -> str:
    """A name as it may be printed: quoted, control characters escaped, cut at 70 characters."""
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def is_key(value: Any) -> bool:
    return isinstance(value, str) and _KEY.fullmatch(value) is not None


def is_task(value: Any) -> bool:
    return is_name(value)


def check_key(value: Any) -> str:
    """``value`` if it is a cell key, else :class:`BadName` naming it."""
    if not is_key(value):
        raise BadName(f"cell key {shown(value)} is not a sha256 hex digest (64 lowercase hex characters)")
    return value


def check_task(value: Any) -> str:
    """``value`` if it is a task name that may name a store folder, else :class:`BadName`."""
    if not is_task(value):
        raise BadName(f"task name {shown(value)} cannot name a store folder (letters, digits and _ - . + only, "
                      "starting with a letter or digit, no '..')")
    return value


def move_to_quarantine(root: Path, path: Path, label: str, why: str) -> Path | None:
    """Move a damaged file to ``<root>/quarantine/`` under a name no other move can take (label,
    stem, time, pid), with a ``.why`` note beside it; None if it could not be moved (another
    reader moved it first, or the folder is not ours to write)."""
    target = Path(root) / "quarantine" / f"{label}~{path.stem}~{time.time_ns()}~{os.getpid()}{path.suffix}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
    except OSError:
        return None
    try:
        target.with_name(target.name + ".why").write_text(f"{path}\n{why}\n")
    except OSError:
        pass
    return target
