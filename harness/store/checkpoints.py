"""Checkpoints of running cells: ``<store>/checkpoints/<cell_key>.pt``, atomic and verified.

A long cell (a 200-epoch CIFAR training) saves its state every few epochs, so that a run cut off
(a lent GPU taken back, ``kill -9``, ``--timeout``) resumes where it stopped instead of starting
over. The family decides what its state is (model, optimiser, RNG states, position); this module
only stores it, the way a record is stored:

- **atomic**: written through :func:`harness.common.files.atomic_write_bytes` (temp file, fsync,
  rename), so a process killed mid-write leaves the previous checkpoint or the new one;
- **verified**: the file is a one-line JSON header (format, cell key, epoch, byte count and the
  sha256 of the payload) followed by the payload, ``torch.save`` of the state. Loading checks
  the magic, the header, the length, the hash and that the cell key is the one the file name
  says; a damaged checkpoint is moved to ``quarantine/`` with a warning and the cell starts over
  (never resumes from bytes that do not verify). The payload is read with
  ``torch.load(weights_only=True)``: tensors and plain containers only, no pickled code, so a
  checkpoint merged in from another machine cannot run anything;
- **transient**: the engine removes a cell's checkpoint once its record is stored
  (:func:`remove`); a failed cell keeps it, so the retry resumes. ``harness fsck`` verifies and
  counts them; ``harness compact`` leaves them alone (they are not records).

How often a cell checkpoints is :class:`CellCheckpoints.every` epochs: ``$HARNESS_CHECKPOINT_EVERY``
(a positive number, fractions allowed; ``0`` turns checkpoints off), else
:data:`DEFAULT_EVERY_EPOCHS`. A cell past its deadline saves one on its way out as well.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from harness.common.errors import UserError
from harness.common.files import atomic_write_bytes
from harness.store.paths import check_key, is_key, move_to_quarantine

FOLDER = "checkpoints"
MAGIC = b"HARNESS-CHECKPOINT\n"
FORMAT = 1
DEFAULT_EVERY_EPOCHS = 5.0
ENV_EVERY = "HARNESS_CHECKPOINT_EVERY"


class DamagedCheckpoint(Exception):
    """A checkpoint that does not parse, fails its hash, or names another cell."""


def folder(root: Path) -> Path:
    return Path(root) / FOLDER


def checkpoint_path(root: Path, key: str) -> Path:
    """``<root>/checkpoints/<key>.pt``; ``key`` must be a cell key (never a path of its own)."""
    return folder(root) / f"{check_key(key)}.pt"


def every_epochs(text: str | None = None) -> float:
    """The checkpoint interval in epochs: ``text`` or ``$HARNESS_CHECKPOINT_EVERY``, else the default."""
    raw = os.environ.get(ENV_EVERY, "") if text is None else text
    if raw.strip() == "":
        return DEFAULT_EVERY_EPOCHS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0.0 or value == float("inf"):
        raise UserError(f"${ENV_EVERY} must be a number of epochs >= 0 (0: no checkpoints), got {raw!r}")
    return value


# -- encoding ------------------------------------------------------------------------------
def encode(state: Mapping[str, Any], key: str, epoch: float) -> bytes:
    """Header line + ``torch.save(state)``; the header carries the payload's sha256."""
    import torch

    sink = io.BytesIO()
    torch.save(dict(state), sink)
    payload = sink.getvalue()
    header = {"format": FORMAT, "cell_key": key, "epoch": float(epoch), "bytes": len(payload),
              "sha256": hashlib.sha256(payload).hexdigest(), "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def read_header(data: bytes, key: str) -> tuple[dict[str, Any], bytes]:
    """(header, payload) of a checkpoint's bytes, verified; raises :class:`DamagedCheckpoint`."""
    if not data.startswith(MAGIC):
        raise DamagedCheckpoint("not a harness checkpoint (no header)")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise DamagedCheckpoint("its header is cut off")
    try:
        header = json.loads(data[len(MAGIC) : end])
        expected, size, named = str(header["sha256"]), int(header["bytes"]), str(header["cell_key"])
    except (ValueError, KeyError, TypeError):
        raise DamagedCheckpoint("its header is damaged") from None
    if header.get("format") != FORMAT:
        raise DamagedCheckpoint(f"format {header.get('format')!r}, this harness reads {FORMAT}")
    payload = data[end + 1 :]
    if len(payload) != size:
        raise DamagedCheckpoint(f"{len(payload)} payload bytes, its header says {size}")
    if hashlib.sha256(payload).hexdigest() != expected:
        raise DamagedCheckpoint("content does not match its sha256 (bit rot or an edit)")
    if named != key:
        raise DamagedCheckpoint(f"holds cell {named[:12]}, not the one its name says")
    return header, payload


def decode(data: bytes, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, state) of verified checkpoint bytes; raises :class:`DamagedCheckpoint`."""
    import torch

    header, payload = read_header(data, key)
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling error is damage here
        raise DamagedCheckpoint(f"payload does not load ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(state, dict):
        raise DamagedCheckpoint("payload is not a state dictionary")
    return header, state


# -- the store's checkpoint folder ---------------------------------------------------------
def save(root: Path, key: str, state: Mapping[str, Any], epoch: float) -> Path:
    path = checkpoint_path(root, key)
    data = encode(state, key, epoch)
    atomic_write_bytes(path, data)
    return path


def load(root: Path, key: str) -> dict[str, Any] | None:
    """The cell's last checkpointed state; None when there is none or it is damaged (then moved
    to ``quarantine/`` with a warning: the cell starts over)."""
    path = checkpoint_path(root, key)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        print(f"warning: cannot read checkpoint {path} ({exc.strerror}); the cell starts from the beginning", file=sys.stderr)
        return None
    try:
        return decode(data, key)[1]
    except DamagedCheckpoint as exc:
        moved = quarantine(root, path, str(exc))
        print(f"warning: checkpoint {path}: {exc}; moved to {moved}; the cell starts from the beginning", file=sys.stderr)
        return None


def remove(root: Path, key: str) -> None:
    checkpoint_path(root, key).unlink(missing_ok=True)


def checkpoint_files(root: Path) -> list[Path]:
    return sorted(folder(root).glob("*.pt"))


def quarantine(root: Path, path: Path, why: str) -> Path | None:
    """Move a damaged checkpoint aside (as the store does with a damaged record); None if it could not be."""
    return move_to_quarantine(root, path, FOLDER, why)


@dataclass
class CheckpointReport:
    """What ``harness fsck`` found under ``checkpoints/``."""

    verified: int = 0
    bytes: int = 0
    damaged: list[tuple[Path, str, Path | None]] = field(default_factory=list)

    def warnings(self) -> list[str]:
        return [f"warning: checkpoint {path}: {why}; {'moved to ' + str(moved) if moved else 'left in place'}; "
                f"its cell will start from the beginning" for path, why, moved in self.damaged]


def verify_all(root: Path, move: bool = True) -> CheckpointReport:
    """Verify every checkpoint's header, length and hash (the payload is not unpickled)."""
    report = CheckpointReport()
    for path in checkpoint_files(root):
        try:
            if not is_key(path.stem):
                raise DamagedCheckpoint("its name is not a cell key")
            data = path.read_bytes()
            read_header(data, path.stem)
        except FileNotFoundError:
            continue
        except (OSError, DamagedCheckpoint) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            report.damaged.append((path, why, quarantine(root, path, why) if move and isinstance(exc, DamagedCheckpoint) else None))
            continue
        report.verified += 1
        report.bytes += len(data)
    return report


@dataclass
class CellCheckpoints:
    """One cell's checkpoint in one store: what :class:`harness.plan.contract.RunContext` saves
    through. ``every``: epochs between checkpoints (0: none, except on a deadline)."""

    root: Path
    key: str
    every: float = DEFAULT_EVERY_EPOCHS

    def save(self, state: Mapping[str, Any], epoch: float) -> None:
        save(self.root, self.key, state, epoch)

    def load(self) -> dict[str, Any] | None:
        return load(self.root, self.key)

    def remove(self) -> None:
        remove(self.root, self.key)
