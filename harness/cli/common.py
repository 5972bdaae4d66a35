"""What every verb shares: comma lists, the ``--store`` flag and opening the store it names."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from harness.common.errors import UserError
from harness.plan import registry


def csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $HARNESS_STORE or results/runs)")


def task_names(spec: str | None) -> list[str] | None:
    return [t.name for t in registry.select_tasks(csv_list(spec))] if spec else None


def writable_file(path: str, flag: str, creates_folder: bool = False) -> Path:
    """``path`` as a file to write: it must not be a folder itself, and its folder must exist
    (unless the verb creates it: ``creates_folder``) — checked before any work, so that the
    verb does not end in an ``IsADirectoryError`` after minutes of it."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name")
    if not creates_folder and not target.resolve().parent.is_dir():
        raise UserError(f"cannot write {path}: the folder {target.resolve().parent} does not exist")
    return target


STORE_PARTS = ("records", "packs", "preds", "failed", "leases", "quarantine")


def existing_store(where: str | None, **options: Any) -> Any:
    """The store at ``where`` (default ``$HARNESS_STORE`` or results/runs) for a verb that looks
    after a store (fsck, compact): it must exist and be a store, since a typo must neither read
    as a clean, empty store nor create a folder."""
    from harness.store.store import Store, default_store

    root = Path(where) if where is not None else default_store()
    if where is not None and not str(where).strip():
        raise UserError("--store (or $HARNESS_STORE) is empty; give a folder")
    if not root.exists():
        raise UserError(f"no store at {root}; check --store / $HARNESS_STORE (`harness run` creates a store)")
    if not root.is_dir():
        raise UserError(f"{root} is a file, not a store folder; check --store / $HARNESS_STORE")
    if not any((root / part).is_dir() for part in STORE_PARTS):
        raise UserError(f"{root} is not a store (none of {', '.join(p + '/' for p in STORE_PARTS)} in it); "
                        "check --store / $HARNESS_STORE")
    return Store(root, **options)


def open_store(args: argparse.Namespace, for_reading: bool = True) -> Any:
    """The store of ``--store``/``$HARNESS_STORE``; a read-only verb refuses one that does not
    exist or cannot be read (a typo must not read as an empty store)."""
    from harness.store.store import Store

    where = args.store if args.store is not None else os.environ.get("HARNESS_STORE")
    if where is not None and not where.strip():
        raise UserError("--store (or $HARNESS_STORE) is empty; give a folder")
    store = Store(args.store)
    if for_reading and where is not None:
        root = Path(where)
        if not root.is_dir():
            raise UserError(f"no store at {root} (not a folder); check --store / $HARNESS_STORE, or run `harness run` to create one")
        if not os.access(root, os.R_OK | os.X_OK):
            raise UserError(f"the store {root} is not readable by this user")
    return store


