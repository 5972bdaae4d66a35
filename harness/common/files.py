"""Where the project lives, where a machine caches, the one way every stage writes a file, and
the one way a family reads a user's own data file.

Every file the project writes for others to read (records, packs, predictions, failure notes,
references, the figure manifest, memos, decoded data caches) goes through
:func:`atomic_write_bytes`, so that a process killed at any point leaves the old file or the new
one, never half of one.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]  # the checkout: harness/common/files.py -> ../..
HOST = socket.gethostname()


def cache_dir() -> Path:
    """``$HARNESS_CACHE``, else ``$XDG_CACHE_HOME/harness``, else ``~/.cache/harness`` (an empty
    variable counts as unset, as the XDG specification says). Everything this project caches on a
    machine (the sha256 memo, decoded data, embeddings) lives under it, so one variable moves all."""
    if os.environ.get("HARNESS_CACHE"):
        return Path(os.environ["HARNESS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness"


def _umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, write: Callable[[Any], None] | bytes, mode: int | None = None) -> None:
    """Write through a temp file in the same folder, fsync, then rename over ``path``.

    ``write`` is the bytes, or a function that writes into the open binary handle. A process
    killed at any point leaves either the old file or the new one, never a partial file under the
    final name. The temp file starts with '.', is ignored by readers, and names its writer's host
    and pid so that a later writer can remove it once that process is dead. The file gets ``mode``,
    else the mode a plain ``open`` would give (0666 less the umask), not mkstemp's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}~{HOST}~{os.getpid()}~", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            if isinstance(write, (bytes, bytearray)):
                handle.write(write)
            else:
                write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def read_user_text(path: str | Path, what: str, needs: str, *, missing: str = "", folder_hint: str = "",
                   encoding: str = "utf-8", iconv_from: str = "latin1") -> str:
    """A user's data file as text, or one :class:`UserError` naming the file (``what path``), and
    the line and column where it can: missing (``missing`` replaces the message), a folder,
    empty (``needs`` says what it should hold), binary (a NUL byte), or not UTF-8 (a latin-1 or
    GBK export: ``iconv_from`` names the likely source in the fix)."""
    from harness.common.errors import UserError

    file = Path(path).expanduser()
    if not file.exists():
        raise UserError(missing or f"{what} {path} not found")
    if not file.is_file():
        raise UserError(f"{what} {path} is not a file (a folder?){folder_hint}")
    data = file.read_bytes()
    if not data.strip():
        raise UserError(f"{what} {path} is empty; {needs}")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise UserError(f"{what} {path} line {line}: a NUL byte; this is a binary file, not text")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(f"{what} {path} line {line} column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
                        f"save the file as UTF-8 (e.g. `iconv -f {iconv_from} -t utf-8`)") from None
