"""Which task columns an aggregate averages: the ``task_set`` parameter.

* ``official`` — the benchmark's own score rule, declared by the task (GLUE: 9 tasks with
  MNLI-m/MNLI-mm averaged into one; SuperGLUE: the 8 tasks); ``all`` for a board that declares none;
* ``all`` — every task column of the file, each counted once;
* ``first<k>`` — the first k task columns in file order (``first10``);
* ``paper`` — the inconsistent rules Shavrina & Malykh (2021) used, as reconstructed in
  kexue.fm/archives/8783; declared per board and per aggregator, with a different column set
  for the human row on GLUE (see ``LeaderboardTask.paper_rules``);
* an explicit list separated by ``|``: ``CoLA|SST-2|RTE``; ``a+b`` averages columns a and b into
  one task first (``MNLI-m+MNLI-mm``). Commas are the CLI's grid separator, hence ``|``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from harness.api import UserError

_FIRST = re.compile(r"^first(\d+)$")


@dataclass(frozen=True)
class Group:
    """One task of an aggregate: its label and the file columns averaged into it."""

    label: str
    columns: tuple[int, ...]


def parse_task_set(spec: str, columns: list[str], official: str = "", what: str = "task_set") -> list[Group]:
    """The groups ``spec`` selects among ``columns``; a UserError names a bad spec."""
    spec = spec.strip()
    if spec == "official":
        return parse_task_set(official or "all", columns, "", what)
    if spec == "all":
        return [Group(c, (i,)) for i, c in enumerate(columns)]
    match = _FIRST.match(spec)
    if match:
        k = int(match.group(1))
        if not 1 <= k <= len(columns):
            raise UserError(f"{what}={spec}: the board has {len(columns)} task columns ({', '.join(columns)}); use first1 … first{len(columns)}")
        return [Group(c, (i,)) for i, c in enumerate(columns[:k])]
    if spec == "paper":
        raise UserError(f"{what}=paper is resolved per aggregator by the task; this board declares no paper rules")
    groups = []
    for item in filter(None, (s.strip() for s in spec.split("|"))):
        idx = []
        for name in (n.strip() for n in item.split("+")):
            if name not in columns:
                close = difflib.get_close_matches(name, columns, n=2, cutoff=0.5)
                hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                raise UserError(
                    f"{what}={spec}: no task column {name!r}{hint} (columns: {', '.join(columns)}; "
                    "or use official, all, first<k>, paper)"
                )
            idx.append(columns.index(name))
        groups.append(Group(item, tuple(idx)))
    if not groups:
        raise UserError(f"{what}={spec!r} selects no column; use official, all, first<k>, paper or names separated by |")
    labels = [g.label for g in groups]
    if len(set(labels)) != len(labels):
        raise UserError(f"{what}={spec}: a task is named twice")
    return groups


def describe(groups: list[Group]) -> str:
    return "|".join(g.label for g in groups)
