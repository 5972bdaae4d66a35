"""``harness fsck``: verify every record and pack of a store, and optionally every data file.

Every record and pack is read and verified (a damaged one is quarantined, unless told not to;
a pack or record naming a cell key or task that cannot be a path is damaged); a record without
a content hash is a failure (it cannot be verified; it is left in place, and counted even when
``$HARNESS_ALLOW_UNVERIFIED=1`` lets the other verbs read it);
temp files of dead writers and stale leases are removed; every checkpoint of an unfinished cell
(``checkpoints/``, :mod:`harness.store.checkpoints`) is verified against its sha256 and counted (a
damaged one is quarantined: its cell starts over); with ``data=True`` every data file of every
registered task is re-hashed from its bytes, ignoring the sha256 memo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.store.checkpoints import CheckpointReport, verify_all

if TYPE_CHECKING:
    from harness.store.codec import ReadReport
    from harness.store.store import Store


@dataclass
class FsckResult:
    report: ReadReport
    temporaries: int
    stale_leases: int
    data_ok: int = 0
    data_bad: list[str] | None = None
    checkpoints: CheckpointReport = field(default_factory=CheckpointReport)

    @property
    def clean(self) -> bool:
        return not (self.report.damaged or self.report.unreadable or self.report.legacy or self.data_bad or self.checkpoints.damaged)


def fsck(store: Store, data: bool = False) -> FsckResult:
    """Verify every record and pack; remove dead writers' temp files and stale leases."""
    from harness.store.lease import default_ttl, is_stale
    from harness.store.codec import ReadReport

    writable = os.access(store.root, os.W_OK)
    temporaries = len(store.clean_temporaries()) if writable else 0
    stale = 0
    for path in (store.root / "leases").glob("*.lease") if writable else ():
        if is_stale(path, default_ttl()):
            path.unlink(missing_ok=True)
            stale += 1
    report = ReadReport()
    for path in store.record_files():
        store._read(path, report, pack=False)
    for path in store.pack_files():
        store._read(path, report, pack=True)
    result = FsckResult(report, temporaries, stale, checkpoints=verify_all(store.root, move=writable and store.may_quarantine))
    if data:
        result.data_ok, result.data_bad = check_data()
    return result


def check_data() -> tuple[int, list[str]]:
    """Re-hash every data file of every registered task from its bytes (no memo): the number that
    match, and one line per missing or mismatched file. ``harness check`` can call this too."""
    from harness.plan import registry
    from harness.plan.data import locate, sha256_fresh

    ok, bad, seen = 0, [], set()
    for task in registry.tasks().values():
        for file in task.data:
            if file.path in seen:
                continue
            seen.add(file.path)
            path = locate(file)
            if path is None:
                bad.append(f"{file.path}: missing")
            elif sha256_fresh(path) != file.sha256:
                bad.append(f"{path}: sha256 differs from the one {task.name} expects")
            else:
                ok += 1
    return ok, bad
