"""Read a leaderboard CSV into a :class:`Board`: one row per system, one column per task.

The layout (the bundled Vote'n'Rank snapshots follow it, and so may a user's own file):

* a header line; fields separated by commas, quoted where they contain one;
* a **system column** named ``System`` (or ``Model``): one unique name per row;
* optional metadata columns, never treated as tasks: ``Rank``, ``Name``, ``URL``, ``Score``
  (the published aggregate, which ``official`` checks), ``Human`` (``1``/``true``/``yes`` marks
  the human baseline row) and whichever of ``System``/``Model`` is not the system column;
* every other column is a **task**, in file order (``first<k>`` counts them in that order) —
  unless :class:`~tasks.leaderboard.columns.ColumnRoles` says otherwise: a column may be made a
  ``task``, a published ``aggregate`` (never averaged; names such as ``Mean-Rank`` or
  ``Meta-Ave`` are detected as such) or ignored, and a task may be lower-is-better.

A task cell is a number with a dot as decimal separator (``93.9``), a pair ``a/b`` (``93.9/91.8``;
the ``pair`` policy makes it one number), ``-`` (or ``—``, ``–``) or empty for a missing result
(mark a published 0 that means "not reported" this way, or it counts as a real 0), or ``NaN`` where
the board itself printed an undefined metric. Anything else is a :class:`UserError` naming the
file, the row (its line number; the header is line 1), the system and the column.

Published files are not always tidy; what is read anyway, with a warning in ``Board.notes``:
data rows with one more field than the header when that field is empty (a trailing comma on
every line), and a task column that is empty on every row (every system would be unranked).

When a system name repeats and the file has a ``Rank`` column, the repeats are told apart by
their published rank (``RefBERT (#61)``); a name that is still not unique is an error.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.api import UserError
from tasks.leaderboard.columns import (
    LOWER_AS,
    ColumnRoles,
    looks_aggregate,
    resolve_column,
)

META = ("rank", "name", "url", "score", "human", "system", "model")
SYSTEM_COLUMNS = ("system", "model")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_MISSING = {"", "-", "—", "–"}
_TRUE = {"1", "true", "yes", "y", "x", "human"}


@dataclass
class Board:
    """A parsed leaderboard. ``halves[i, j]`` holds both numbers of a pair (twice the value of a
    plain cell); NaN where missing. ``printed_nan`` marks halves the board printed as ``NaN``."""

    source: str
    columns: list[str]
    systems: list[str]
    lines: list[int]
    halves: np.ndarray  # (n_systems, n_columns, 2) float
    paired: np.ndarray  # (n_systems, n_columns) bool
    printed_nan: np.ndarray  # (n_systems, n_columns, 2) bool
    published: np.ndarray  # (n_systems,) the Score column, NaN where absent
    human: int | None = None
    score_decimals: int = 1
    cell_decimals: int = 1
    notes: list[str] = field(default_factory=list)  # warnings about the file: said on stderr and in the footnotes
    total: str = "Score"  # the column ``published`` comes from ("" = none)
    tolerance: float | None = None  # allowed |published − recomputed|; None = the rounding bound
    aggregates: dict[str, np.ndarray] = field(default_factory=dict)  # published aggregate columns (total included)
    detected: list[str] = field(default_factory=list)  # aggregate columns recognised by their name
    ignored: list[str] = field(default_factory=list)
    lower: np.ndarray | None = None  # (n_columns,) bool: lower is better
    lower_as: str = "100-x"
    human_how: str = ""  # how the human row was found (for the footnotes)

    @property
    def n(self) -> int:
        return len(self.systems)

    def where(self, row: int, column: str | None = None) -> str:
        """``file row 17 (GLUE Human Baselines) column AX`` — the prefix of every error."""
        text = f"{self.source} row {self.lines[row]} ({self.systems[row]})"
        return f"{text} column {column}" if column is not None else text

    def has_published(self) -> bool:
        return bool(np.isfinite(self.published).any())

    def lower_columns(self) -> list[str]:
        return [] if self.lower is None else [c for c, low in zip(self.columns, self.lower) if low]


def _decimals(text: str) -> int:
    mantissa = text.split("e")[0].split("E")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def parse_number(text: str) -> tuple[float, int]:
    """A plain number and its printed decimals; ``NaN`` → (nan, 0); ValueError with a reason."""
    if text.lower() == "nan":
        return float("nan"), 0
    if _NUMBER.match(text):
        return float(text), _decimals(text)
    if _COMMA_DECIMAL.match(text):
        raise ValueError(f"{text!r} uses a comma as decimal separator; write {text.replace(',', '.')}")
    raise ValueError(f"{text!r} is not a number; write a number with a dot (93.9), a pair a/b (93.9/91.8), or - for missing")


def parse_cell(text: str) -> tuple[float, float, bool, bool, bool, int]:
    """``(a, b, paired, a_is_printed_nan, b_is_printed_nan, decimals)``; missing → (nan, nan, …)."""
    text = text.strip()
    if text in _MISSING:
        return float("nan"), float("nan"), False, False, False, 0
    if "/" in text:
        parts = text.split("/")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise ValueError(f"malformed pair {text!r}; write two numbers a/b, e.g. 93.9/91.8")
        try:
            (a, da), (b, db) = (parse_number(p.strip()) for p in parts)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a pair of numbers: {exc}") from None
        return a, b, True, a != a, b != b, max(da, db)
    value, dec = parse_number(text)
    return value, value, False, value != value, value != value, dec


def _header(row: list[str], source: str, roles: ColumnRoles) -> tuple[list[str], int, dict[int, str], list[str]]:
    """Column names, the system column, each other column's role (task / aggregate / ignore /
    meta) and the aggregates recognised by name."""
    names = [h.strip() for h in row]
    lower = [h.lower() for h in names]
    if not any(names):
        raise UserError(f"{source} row 1: empty header; the first line must name the columns (System, then one column per task)")
    dup = next((h for i, h in enumerate(lower) if h and h in lower[:i]), None)
    if dup is not None:
        raise UserError(f"{source} row 1 column {names[lower.index(dup)]}: duplicated column name; rename one of them")
    system = next((lower.index(c) for c in SYSTEM_COLUMNS if c in lower), None)
    if system is None:
        raise UserError(f"{source} row 1: no system column; name the column that holds the system names System (or Model)")
    role: dict[int, str] = {}
    for column, given in roles.columns:
        i = resolve_column(column, names, f"{roles.what} ({source})")
        if i == system:
            raise UserError(f"{roles.what} ({source}): {names[i]} is the system column; it cannot be a {given} column")
        role[i] = given
    if roles.total.strip() and roles.total.strip().lower() != "none":  # the published total is an aggregate
        i = resolve_column(roles.total.strip(), names, f"total ({source})")
        if i == system or role.get(i) in ("task", "ignore"):
            what = "the system column" if i == system else f"declared a {role[i]} column"
            raise UserError(f"total ({source}): {names[i]} is {what}; the published total must be an aggregate column")
        role.setdefault(i, "aggregate")
    detected = []
    for i, h in enumerate(lower):
        if i == system or i in role:
            continue
        if h in META:
            role[i] = "meta"
        elif roles.detect and looks_aggregate(names[i]):
            role[i] = "aggregate"
            detected.append(names[i])
        else:
            role[i] = "task"
    tasks = [i for i in sorted(role) if role[i] == "task"]
    blank = next((i for i in tasks if not names[i]), None)
    if blank is not None:
        raise UserError(f"{source} row 1 column {blank + 1}: empty column name; name every task column")
    if not tasks:
        said = f"; {', '.join(detected)} looked like aggregates (declare COLUMN=task if one is a task)" if detected else ""
        raise UserError(f"{source} row 1: no task columns (every column is one of {', '.join(META)}, an aggregate or ignored){said}; "
                        "add one column per task")
    return names, system, role, detected


def _total_column(names: list[str], role: dict[int, str], roles: ColumnRoles, source: str) -> int | None:
    """The published total: ``roles.total`` (made an aggregate), else ``Score``; None for ``none``."""
    if roles.total.strip().lower() == "none":
        return None
    if roles.total.strip():
        return resolve_column(roles.total.strip(), names, f"total ({source})")  # checked by _header
    lower = [n.lower() for n in names]
    return lower.index("score") if "score" in lower and role.get(lower.index("score")) in ("meta", "aggregate") else None


def read_board(path: Path | str, human: str = "Human Baselines", source: str | None = None, roles: ColumnRoles | None = None) -> Board:
    """Parse ``path``. ``human``: text (case-insensitive) that names the human row when the file has
    no ``Human`` column; ``""`` means the board has no human row; ``auto`` takes the ``Human``
    column, else a row named like a human baseline, else none. A named row is found or it is an error."""
    path = Path(path)
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"leaderboard file {source} not found; give the path of a CSV file (see tasks/leaderboard/board.py for the layout)") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8 CSV") from None
    except IsADirectoryError:
        raise UserError(f"leaderboard file {source} is a folder; give the path of a CSV file") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UserError(f"{source} line {line}: a NUL byte; this is a binary file, not a CSV text file")
    return parse_board(text, source, human, roles)


def parse_board(text: str, source: str, human: str = "Human Baselines", roles: ColumnRoles | None = None) -> Board:
    reader = csv.reader(io.StringIO(text, newline=""))  # a quoted field may hold a line break
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    for row in reader:
        if header is None:
            header = row
            continue
        if any(cell.strip() for cell in row):
            rows.append((reader.line_num, row))
    if header is None:
        raise UserError(f"{source}: empty file; a leaderboard needs a header line and one line per system")
    notes: list[str] = []
    header, rows = _trailing_field(header, rows, source, notes)
    roles = roles or ColumnRoles()
    names, sys_col, role, detected = _header(header, source, roles)
    task_cols = [i for i in sorted(role) if role[i] == "task"]
    lower = [h.lower() for h in names]
    if not rows:
        raise UserError(f"{source}: no system rows after the header")
    get = {c: lower.index(c) for c in META if c in lower and role.get(lower.index(c)) == "meta"}
    total = _total_column(names, role, roles, source)
    aggregate_cols = [i for i in sorted(role) if role[i] == "aggregate" or i == total]
    aggregates = {names[c]: np.full(len(rows), np.nan) for c in aggregate_cols}

    systems, lines, ranks = [], [], []
    halves = np.full((len(rows), len(task_cols), 2), np.nan)
    paired = np.zeros((len(rows), len(task_cols)), dtype=bool)
    printed_nan = np.zeros((len(rows), len(task_cols), 2), dtype=bool)
    published = np.full(len(rows), np.nan)
    human_flags: list[bool] = []
    score_dec = cell_dec = 0
    for i, (line, row) in enumerate(rows):
        label = row[sys_col].strip() if sys_col < len(row) else ""
        if len(row) != len(names):
            extra = " (its last field is not empty: not a trailing comma)" if len(row) == len(names) + 1 else ""
            raise UserError(
                f"{source} row {line} ({label or '?'}): {len(row)} fields, the header has {len(names)}; "
                f"a comma used as decimal separator or an unquoted comma in a name? quote such fields or use dots{extra}"
            )
        if not label:
            raise UserError(f"{source} row {line} column {names[sys_col]}: empty system name; give every row a name")
        systems.append(label)
        lines.append(line)
        ranks.append(row[get["rank"]].strip() if "rank" in get else "")
        for j, col in enumerate(task_cols):
            try:
                a, b, is_pair, na, nb, dec = parse_cell(row[col])
            except ValueError as exc:
                raise UserError(f"{source} row {line} ({label}) column {names[col]}: {exc}") from None
            if not (np.isfinite(a) or na) or not (np.isfinite(b) or nb):
                if row[col].strip() not in _MISSING:
                    raise UserError(f"{source} row {line} ({label}) column {names[col]}: {row[col].strip()!r} is not a finite number")
            halves[i, j] = (a, b)
            paired[i, j] = is_pair
            printed_nan[i, j] = (na, nb)
            cell_dec = max(cell_dec, dec)
        for c in aggregate_cols:
            text = row[c].strip()
            if text in _MISSING:
                continue
            try:
                value, dec = parse_number(text)
            except ValueError as exc:
                raise UserError(f"{source} row {line} ({label}) column {names[c]}: {exc}") from None
            aggregates[names[c]][i] = value
            if c == total:
                published[i], score_dec = value, max(score_dec, dec)
        human_flags.append("human" in get and row[get["human"]].strip().lower() in _TRUE)

    _check_magnitude(halves, rows, source, [names[c] for c in task_cols], systems)
    systems = _unique(systems, ranks, lines, source, names[sys_col])
    board = Board(
        source=source,
        columns=[names[c] for c in task_cols],
        systems=systems,
        lines=lines,
        halves=halves,
        paired=paired,
        printed_nan=printed_nan,
        published=published,
        score_decimals=score_dec,
        cell_decimals=cell_dec,
        total=names[total] if total is not None else "",
        tolerance=roles.tolerance,
        aggregates=aggregates,
        detected=detected,
        ignored=[names[i] for i in sorted(role) if role[i] == "ignore"],
        lower_as=roles.lower_as,
    )
    board.notes = notes + _empty_columns(board)
    board.lower = _lower_mask(board, roles)
    names_col = [r[get["name"]].strip() for _, r in rows] if "name" in get else [""] * len(rows)
    board.human = _find_human(board, human_flags, names_col, human, "human" in get)
    return board


def _check_magnitude(halves: np.ndarray, rows: list[tuple[int, list[str]]], source: str, columns: list[str], systems: list[str]) -> None:
    """Every mean of a row must be a finite number: a cell such as 1e308 overflows the arithmetic
    mean (and would rank nowhere, with no reason, while the harmonic mean ranks it first)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.nansum(np.abs(halves), axis=(1, 2))
    bad = np.flatnonzero(~np.isfinite(total))
    if len(bad):
        i = int(bad[0])
        j = int(np.nanargmax(np.nanmax(np.abs(halves[i]), axis=1)))
        raise UserError(f"{source} row {rows[i][0]} ({systems[i]}) column {columns[j]}: {halves[i, j, 0]:g} is too large for a mean "
                        "of the row's scores to be a number (it overflows); a typo or a unit mix-up? fix the cell, or mark it missing with -")


def _trailing_field(header: list[str], rows: list[tuple[int, list[str]]], source: str,
                    notes: list[str]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Drop a trailing empty field that the data rows have one more of than the header (a comma
    at the end of every data line, as some published files have), or that the header names
    with an empty name and no row fills; anything else is left for the field count to refuse."""
    if header and not header[-1].strip() and all(len(r) == len(header) and not r[-1].strip() for _, r in rows):
        notes.append(f"{source}: every line ends with an empty field (a trailing comma); read without it")
        return header[:-1], [(n, r[:-1]) for n, r in rows]
    longer = [(n, r) for n, r in rows if len(r) == len(header) + 1]
    if longer and all(not r[-1].strip() for _, r in longer) and all(len(r) in (len(header), len(header) + 1) for _, r in rows):
        first, last = longer[0][0], longer[-1][0]
        span = f"row {first}" if len(longer) == 1 else f"{len(longer)} rows ({first}–{last})"
        notes.append(f"{source}: {span} end with an empty field the header does not have (a trailing comma); read without it")
        return header, [(n, r[:-1] if len(r) == len(header) + 1 else r) for n, r in rows]
    return header, rows


def _empty_columns(board: Board) -> list[str]:
    """A task column with no value on any row leaves every system unranked under the default
    ``missing=drop-system``: said, with how to leave the column out."""
    empty = [c for j, c in enumerate(board.columns) if np.isnan(board.halves[:, j]).all() and not board.printed_nan[:, j].any()]
    return [f"{board.source}: column {c} is empty on every row, so every system misses it (unranked under missing=drop-system); "
            f"leave it out with --role '{c}=ignore' (roles={c}=ignore), or --missing drop-task" for c in empty]


_DOMAIN = {"100-x": (0.0, 100.0), "1-x": (0.0, 1.0), "1/x": (0.0, np.inf), "-x": (-np.inf, np.inf)}


def _lower_mask(board: Board, roles: ColumnRoles) -> np.ndarray:
    """Which task columns are lower-is-better; every finite value must lie in ``lower_as``'s domain."""
    mask = np.zeros(len(board.columns), dtype=bool)
    for name in roles.lower:
        j = resolve_column(name, board.columns, f"lower ({board.source}): a lower-is-better column must be a task column;")
        mask[j] = True
    lo, hi = _DOMAIN[roles.lower_as]
    for j in np.flatnonzero(mask):
        values = board.halves[:, j]
        bad = np.isfinite(values) & ((values < lo) | (values > hi) | ((values <= 0) if roles.lower_as == "1/x" else False))
        if bad.any():
            r = int(np.flatnonzero(bad.any(axis=1))[0])
            v = float(values[r][bad[r]][0])
            domain = "x > 0" if roles.lower_as == "1/x" else f"{lo:g} <= x <= {hi:g}"
            raise UserError(f"{board.where(r, board.columns[j])}: {v:g} is outside {domain}, which lower_as={roles.lower_as} "
                            "needs to turn a lower-is-better score into a higher-is-better one; choose lower_as=" +
                            " or ".join(k for k in LOWER_AS if k != roles.lower_as))
    return mask


def _unique(systems: list[str], ranks: list[str], lines: list[int], source: str, column: str) -> list[str]:
    counts: dict[str, int] = {}
    for s in systems:
        counts[s] = counts.get(s, 0) + 1
    labels = [f"{s} (#{r})" if counts[s] > 1 and r and r != "-" else s for s, r in zip(systems, ranks)]
    seen: dict[str, int] = {}
    for label, line in zip(labels, lines):
        if label in seen:
            raise UserError(
                f"{source} row {line} ({label}) column {column}: duplicated system name (also row {seen[label]}); "
                "make system names unique, or give the rows a Rank column"
            )
        seen[label] = line
    return labels


_AUTO_HUMAN = re.compile(r"^humans?( (baselines?|performance|raters?|experts?|annotators?))?$|human baselines?", re.IGNORECASE)
_ASIDE = re.compile(r"\s*(\(.*?\)|\[.*?\]|\s[-–—:;,/]\s.*|[,;:].*)\s*")  # "(Nangia & Bowman 2019)", " — crowd", ": 5 raters"


def _looks_human(name: str) -> bool:
    """A name such as ``Human Baselines``, ``Humans``, ``GLUE Human Baselines``, also with an
    aside: ``Human performance (Nangia and Bowman, 2019)``, ``Humans — crowd workers``."""
    return bool(_AUTO_HUMAN.search(name) or _AUTO_HUMAN.search(_ASIDE.sub(" ", name).strip()))


def _find_human(board: Board, flags: list[bool], names: list[str], pattern: str, has_flag_column: bool) -> int | None:
    if pattern == "auto":  # a board of your own: the Human column, else a row named like a human baseline, else none
        if has_flag_column:
            found = [i for i, f in enumerate(flags) if f]
        else:
            found = [i for i, (s, n) in enumerate(zip(board.systems, names)) if _looks_human(s) or _looks_human(n)]
        if len(found) > 1:
            rows = ", ".join(f"row {board.lines[i]} ({board.systems[i]})" for i in found)
            raise UserError(f"{board.source}: {len(found)} rows look like the human row: {rows}; "
                            "name one with human=TEXT (--human), mark it in a Human column, or say human=none")
        board.human_how = ("flagged in the Human column" if has_flag_column else "found by name") if found else ""
        return found[0] if found else None
    if has_flag_column:
        found = [i for i, f in enumerate(flags) if f]
        what = "flagged in the Human column"
    elif pattern:
        needle = pattern.lower()
        found = [i for i, (s, n) in enumerate(zip(board.systems, names)) if needle in s.lower() or needle in n.lower()]
        what = f"whose name contains {pattern!r}"
    else:
        return None
    if len(found) > 1:
        rows = ", ".join(f"row {board.lines[i]} ({board.systems[i]})" for i in found)
        raise UserError(f"{board.source}: {len(found)} human rows {what}: {rows}; mark exactly one")
    if not found:
        if has_flag_column and not pattern:
            return None
        raise UserError(
            f"{board.source}: no human row (no row {what}); add a Human column with 1 on the human baseline's row, "
            "or say the board has none (--param human= , or --human '' for `harness leaderboard`)"
        )
    return found[0]
