"""Typed parameters of tasks and methods.

A parameter is declared once, with its type, default and (optionally) its allowed choices or
range, so that the CLI, suite files, claims and cell keys all parse, check and canonicalise values
the same way: ``positive_rate=1.5`` is refused before anything runs, not stored as a cell whose
training set has no negatives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from harness.common.errors import UserError

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Param:
    """One declared parameter: ``Param("gamma", "float", 2.0, "focusing exponent", minimum=0.0)``.

    ``minimum``/``maximum`` bound a number; ``bounds`` says whether each end is included:
    ``"[]"`` (default, both), ``"()"`` (neither: a fraction in (0, 1)), ``"(]"`` or ``"[)"``."""

    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    bounds: str = "[]"

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"param {self.name}: type must be one of {sorted(_TYPES)}")
        if self.bounds not in ("[]", "()", "(]", "[)"):
            raise ValueError(f"param {self.name}: bounds must be one of [], (), (], [)")
        if (self.minimum is not None or self.maximum is not None) and self.type not in ("int", "float"):
            raise ValueError(f"param {self.name}: only int and float params have a range")

    def _in_range(self, value: Any) -> bool:
        if self.minimum is not None and (value < self.minimum or (self.bounds[0] == "(" and value == self.minimum)):
            return False
        return not (self.maximum is not None and (value > self.maximum or (self.bounds[1] == ")" and value == self.maximum)))

    def range_text(self) -> str:
        """``(0, 1)``, ``>= 0``, ``< 1`` — the declared range as the errors and `harness list` say it."""
        if self.minimum is not None and self.maximum is not None:
            return f"{self.bounds[0]}{self.minimum:g}, {self.maximum:g}{self.bounds[1]}"
        if self.minimum is not None:
            return f"{'>' if self.bounds[0] == '(' else '>='} {self.minimum:g}"
        if self.maximum is not None:
            return f"{'<' if self.bounds[1] == ')' else '<='} {self.maximum:g}"
        return ""

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
        if not self._in_range(value):
            rng = self.range_text()
            raise UserError(f"parameter {where} must be {'in ' if rng[0] in '[(' else ''}{rng}, got {raw!r}")
        return value

    def describe(self) -> str:
        text = f"{self.name}:{self.type}={self.default!r}"
        if self.choices:
            text += f" ∈ {{{','.join(map(str, self.choices))}}}"
        elif self.range_text():
            rng = self.range_text()
            text += f" ∈ {rng}" if rng[0] in "[(" else f" {rng}"
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
