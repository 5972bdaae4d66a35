"""Leases: a lock file per cell (or per store operation) so that two runs never compute the same
cell at once, and a crashed holder never blocks anyone for long.

A lease is ``<store>/leases/<name>.lease``, created with ``O_CREAT | O_EXCL`` (atomic on every
local and NFSv3+ file system), holding the holder's host, pid, run id and start time. While the
holder works, a daemon thread touches the file every ``ttl / 4`` seconds (the heartbeat). A lease
is **stale**, and may be broken by anyone, when its holder is a dead process on this host, or when
its heartbeat is older than ``ttl`` (a holder on another host, or a frozen one). Breaking renames
the stale file to a unique name first, so that of two breakers only one succeeds, and puts it back
if what it moved turned out not to be the stale lease it judged.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.common.files import HOST



def default_ttl() -> float:
    """Seconds without a heartbeat after which a lease counts as abandoned (``$HARNESS_LEASE_TTL``)."""
    return float(os.environ.get("HARNESS_LEASE_TTL", "60"))


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    run_id: str
    since: float

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} (run {self.run_id}, for {time.time() - self.since:.0f}s)"


class Lease:
    """One held lease; ``release()`` (or leaving the ``with`` block) removes it."""

    def __init__(self, path: Path, ttl: float) -> None:
        self.path = path
        self.ttl = ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{path.stem[:8]}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(max(0.05, self.ttl / 4)):
            try:
                os.utime(self.path)
            except OSError:
                return  # broken by someone who judged us dead: nothing left to keep alive

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        try:
            holder = read_holder(self.path)
            if holder is not None and holder.pid == os.getpid() and holder.host == HOST:
                self.path.unlink()
        except OSError:
            pass

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(path: Path) -> Holder | None:
    """Who holds the lease at ``path`` (None when there is no lease or it is unreadable)."""
    try:
        data = json.loads(path.read_text())
        return Holder(str(data["host"]), int(data["pid"]), str(data.get("run_id", "")), float(data.get("since", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_stale(path: Path, ttl: float) -> bool:
    """The lease at ``path`` may be broken: its holder died here, or its heartbeat stopped."""
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    holder = read_holder(path)
    if holder is not None and holder.host == HOST and not pid_alive(holder.pid):
        return True
    if holder is None and age < 2:  # being written right now by its creator
        return False
    return age > ttl


def try_acquire(path: Path, run_id: str = "", ttl: float | None = None) -> Lease | None:
    """Take the lease at ``path``, breaking a stale one; None when a live holder has it."""
    ttl = default_ttl() if ttl is None else ttl
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            if is_stale(path, ttl) and _break(path, ttl):
                continue
            return None
        with os.fdopen(fd, "w") as handle:
            json.dump({"host": HOST, "pid": os.getpid(), "run_id": run_id, "since": time.time()}, handle)
        return Lease(path, ttl)
    return None


def _break(path: Path, ttl: float) -> bool:
    """Remove a stale lease without ever removing a fresh one taken meanwhile by someone else."""
    try:
        judged = path.stat()
    except FileNotFoundError:
        return True
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.broken")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # another breaker (or the holder) was first
    except OSError:
        return False
    moved = aside.stat()
    if (moved.st_ino, moved.st_mtime_ns) != (judged.st_ino, judged.st_mtime_ns) and not is_stale(aside, ttl):
        try:  # we moved a fresh lease taken after our judgement: give it back
            os.link(aside, path)
        except OSError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def release_run(folder: Path, run_id: str, wait_s: float = 3.0) -> int:
    """Remove the leases in ``folder`` that run ``run_id`` still holds once it has stopped its
    cells (Ctrl-C): those of its workers on this host, once their processes are gone (waited for
    up to ``wait_s``; a holder still alive then is left to release its own), and those of its
    cancelled jobs on other hosts. Returns how many were removed. Without this, the leases of a
    run's killed workers stayed until the next run or ``harness fsck`` broke them."""
    if not run_id:
        return 0
    deadline = time.monotonic() + wait_s
    removed = 0
    for path in sorted(folder.glob("*.lease")):
        holder = read_holder(path)
        if holder is None or holder.run_id != run_id:
            continue
        if holder.host == HOST and holder.pid != os.getpid():
            while pid_alive(holder.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if pid_alive(holder.pid):
                continue
        removed += _remove_if_held_by(path, run_id)
    return removed


def _remove_if_held_by(path: Path, run_id: str) -> int:
    """Remove the lease at ``path`` if it is still ``run_id``'s: moved aside first, and put back
    when what was moved is a lease someone else took meanwhile."""
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.broken")
    try:
        os.rename(path, aside)
    except OSError:
        return 0
    holder = read_holder(aside)
    if holder is not None and holder.run_id != run_id:
        try:
            os.link(aside, path)
        except OSError:
            pass
        aside.unlink(missing_ok=True)
        return 0
    aside.unlink(missing_ok=True)
    return 1


def holder_of(path: Path) -> Holder | None:
    return read_holder(path) if path.exists() else None
