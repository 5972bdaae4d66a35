"""The keys a TOML table may have: one check for claims files, suite files and sidecars.

A typo in a key (``min_delt = 0.01``, ``scal = "full"``) must not load silently and change
what is tested; it is one line naming the file, the entry and the nearest valid key.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from harness.common.errors import UserError
from harness.common.text import did_you_mean


def check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise :class:`UserError` for the first key of ``table`` that is not in ``allowed``."""
    known = list(allowed)
    for key in table:
        if key not in known:
            hint = did_you_mean(key, known, n=1) or f" (valid keys: {', '.join(sorted(known))})"
            raise UserError(f"{where}: unknown key {key!r}{hint}")


def check_table(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` if it is a TOML table, else a :class:`UserError` naming where."""
    if not isinstance(value, Mapping):
        raise UserError(f"{where}: expected a table (key = value pairs), got {type(value).__name__}")
    return value
