"""Column roles of a leaderboard file: which columns are tasks, published aggregates or ignored,
and which tasks are lower-is-better — from params/flags or a sidecar TOML next to the CSV.

Why: a board of your own rarely has GLUE's shape. Columns such as ``Mean-Rank`` or ``Meta-Ave``
are the board's own totals; averaging them in as tasks silently changes the ranking. A column
such as ``WER`` or ``Latency`` is better when lower; averaging it as it is rewards the worst
system. So every column gets one role:

* ``task`` — averaged by the aggregators (higher is better unless listed in ``lower``);
* ``aggregate`` — a published total (``Score``, ``Average``, ``Mean-Rank``): parsed as numbers,
  never averaged; the ``total`` column among them is checked against the recomputed score;
* ``ignore`` — not read at all (notes, links, parameter counts).

A column's role is, in order: the one given explicitly (``roles`` / ``--role`` / the sidecar's
``[columns]``), the metadata names of ``board_file`` (``Rank``, ``Name``, ``URL``, ``Score``,
``Human``), an aggregate *detected by its name* (:func:`looks_aggregate`; said in the table's
footnotes, overridable with ``COLUMN=task``), else ``task``.

The sidecar (``board.toml`` next to ``board.csv``, or ``sidecar=PATH``)::

    name = "MTEB English (2023 snapshot)"   # shown instead of the file name
    human = "none"                          # or text naming the human row
    official = "all"                        # the board's own score rule, as a task set
    total = "Average"                       # published total checked against it (default: Score)
    tolerance = 0.05                        # allowed |published - recomputed| (default: rounding)
    lower = ["WER", "Latency"]              # lower-is-better tasks
    lower_as = "100-x"                      # how they become higher-is-better: 100-x, 1-x, -x, 1/x

    [columns]
    "Mean-Rank" = "aggregate"
    "Params (B)" = "ignore"

Params given on the command line override the sidecar key of the same name (``roles`` adds to
and overrides ``[columns]``). Nothing here imports NumPy.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.api import UserError

ROLES = ("task", "aggregate", "ignore")
LOWER_AS = ("100-x", "1-x", "-x", "1/x")
SIDECAR_KEYS = ("name", "human", "official", "total", "tolerance", "lower", "lower_as", "columns")
_AGGREGATE_WORDS = {"avg", "average", "ave", "mean", "overall", "total", "aggregate", "rank", "ranking", "borda"}


_QUALIFIERS = {"meta", "score", "win", "rate", "of", "all", "tasks"}  # words that may sit beside an aggregate word


def looks_aggregate(column: str) -> bool:
    """True for names that are, by every convention we know, a board's own total or rank:
    ``Average``, ``Avg.``, ``Meta-Ave``, ``Mean-Rank``, ``Overall``, ``Total``, ``Mean win rate``.
    Every word must be an aggregate word or a qualifier, so that a task named with one of them
    (``Rank-1``, ``Mean IoU``, ``Total Recall``) stays a task."""
    words = set(re.sub(r"[^0-9a-z]+", " ", column.lower()).split())
    return bool(words & _AGGREGATE_WORDS) and words <= _AGGREGATE_WORDS | _QUALIFIERS


@dataclass(frozen=True)
class ColumnRoles:
    """What a board declares about its columns (hashable: part of the parse cache key).

    ``columns``: explicit (column, role) pairs; ``lower``: lower-is-better task columns;
    ``total``: the published-total column ("" = ``Score`` if present, "none" = no check);
    ``tolerance``: allowed |published − recomputed| (None = the rounding bound);
    ``detect``: whether aggregate names are detected; ``what``: where the roles came from."""

    columns: tuple[tuple[str, str], ...] = ()
    lower: tuple[str, ...] = ()
    lower_as: str = "100-x"
    total: str = ""
    tolerance: float | None = None
    detect: bool = True
    what: str = "roles"

    def role_of(self, column: str) -> str | None:
        return dict(self.columns).get(column)


def split_names(text: str | list[Any], what: str) -> tuple[str, ...]:
    """``"A|B"`` or a TOML list → column names (commas are the CLI's grid separator, hence ``|``)."""
    items = text if isinstance(text, list) else str(text).split("|")
    names = tuple(str(n).strip() for n in items if str(n).strip())
    if isinstance(text, list) and any(not isinstance(n, str) for n in text):
        raise UserError(f"{what}: expected column names, got {text!r}")
    return names


def parse_roles(text: str, what: str = "roles") -> tuple[tuple[str, str], ...]:
    """``"Mean-Rank=aggregate|Notes=ignore"`` → pairs; an unknown role is one clear error."""
    pairs = []
    for item in filter(None, (s.strip() for s in text.split("|"))):
        column, eq, role = item.rpartition("=")
        if not eq or not column.strip():
            raise UserError(f"{what}: {item!r} is not COLUMN=ROLE (roles: {', '.join(ROLES)}), e.g. Mean-Rank=aggregate")
        pairs.append((column.strip(), check_role(role.strip(), column.strip(), what)))
    return tuple(pairs)


def check_role(role: str, column: str, what: str) -> str:
    if role not in ROLES:
        close = difflib.get_close_matches(role, ROLES, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{what}: unknown role {role!r} for column {column!r}{hint} (roles: {', '.join(ROLES)}; "
                        "lower-is-better tasks are listed in lower=)")
    return role


def check_lower_as(value: str, what: str) -> str:
    if value not in LOWER_AS:
        raise UserError(f"{what}: lower_as must be one of {', '.join(LOWER_AS)}, got {value!r}")
    return value


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar's keys, checked: unknown keys, wrong types and unknown roles are errors."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"sidecar {path} not found; give the path of a TOML file, or sidecar=none") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    unknown = [k for k in data if k not in SIDECAR_KEYS]
    if unknown:
        raise UserError(f"{path}: unknown key {unknown[0]!r} (keys: {', '.join(SIDECAR_KEYS)})")
    for key in ("name", "human", "official", "total", "lower_as"):
        if key in data and not isinstance(data[key], str):
            raise UserError(f"{path}: {key} must be a string, got {data[key]!r}")
    if "tolerance" in data and (isinstance(data["tolerance"], bool) or not isinstance(data["tolerance"], (int, float)) or data["tolerance"] < 0):
        raise UserError(f"{path}: tolerance must be a number >= 0, got {data['tolerance']!r}")
    if "lower" in data and not isinstance(data["lower"], (str, list)):
        raise UserError(f"{path}: lower must be a list of column names, got {data['lower']!r}")
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise UserError(f"{path}: [columns] must be a table of \"column\" = \"role\" lines")
    for column, role in columns.items():
        if not isinstance(role, str):
            raise UserError(f"{path}: [columns] {column!r} must be a role string ({', '.join(ROLES)}), got {role!r}")
        check_role(role, column, str(path))
    if "lower_as" in data:
        check_lower_as(data["lower_as"], str(path))
    return data


def resolve_column(name: str, header: list[str], what: str) -> int:
    """Index of ``name`` in ``header`` (exact, then case-insensitive); a missing column names the columns."""
    if name in header:
        return header.index(name)
    lower = [h.lower() for h in header]
    if name.lower() in lower:
        return lower.index(name.lower())
    close = difflib.get_close_matches(name, header, n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UserError(f"{what}: no column {name!r}{hint} (columns: {', '.join(header[:20])}{' …' if len(header) > 20 else ''})")
