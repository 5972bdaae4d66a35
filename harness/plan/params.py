"""Typed parameters of tasks and methods.

A parameter is declared once, with its type, default and (optionally) its allowed choices, so
that the CLI, suite files, claims and cell keys all parse and canonicalise values the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from harness.common.errors import UserError

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Param:
    """One declared parameter: ``Param("gamma", "float", 2.0, "focusing exponent")``."""

    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"param {self.name}: type must be one of {sorted(_TYPES)}")

    def parse(self, raw: Any, owner: str) -> Any:
        """Coerce a CLI string or a TOML value to this parameter's type, or raise UserError."""
        where = f"{owner}.{self.name}"
        value: Any
        try:
            if self.type == "bool":
                value = _parse_bool(raw)
            elif self.type == "int":
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    raise ValueError
                value = int(raw) if not isinstance(raw, str) else int(raw.strip())
            elif self.type == "float":
                if isinstance(raw, bool):
                    raise ValueError
                value = float(raw)
                if not math.isfinite(value):
                    raise ValueError
            else:
                value = str(raw)
        except (TypeError, ValueError):
            raise UserError(
                f"parameter {where} expects a {self.type}, got {raw!r}"
                f" (default {self.default!r}; see `harness list`)"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise UserError(f"parameter {where} must be one of {list(self.choices)}, got {raw!r}")
        if self.minimum is not None and value < self.minimum:
            raise UserError(f"parameter {where} must be >= {self.minimum}, got {raw!r}")
        return value

    def describe(self) -> str:
        text = f"{self.name}:{self.type}={self.default!r}"
        if self.choices:
            text += f" ∈ {{{','.join(map(str, self.choices))}}}"
        return text


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def resolve_params(declared: Sequence[Param], given: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """Defaults filled in, every given value parsed; unknown names are a UserError."""
    by_name = {p.name: p for p in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(by_name) or "none"
        raise UserError(f"{owner} has no parameter {unknown[0]!r} (it has: {known})")
    return {p.name: p.parse(given[p.name], owner) if p.name in given else p.default for p in declared}
