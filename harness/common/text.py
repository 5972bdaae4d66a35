"""Text every stage shows a person: "did you mean" hints, escapes per output format, and the
``mean ± sd (n)`` of a table entry. One implementation each, so that every verb and every
family says (and escapes) the same thing the same way."""

from __future__ import annotations

import difflib
import math
import re
from typing import Iterable


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the close matches of ``name``, else ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=n, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with control characters (ESC, BEL, CR, …) shown as ``\\x1b`` escapes, so a name
    from a user's file can neither move the cursor nor recolour a terminal; tabs become spaces."""
    text = str(text).replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """A name inside one line of output: line breaks (and other control characters) escaped."""
    return terminal_safe(str(text).replace("\r\n", "\n")).replace("\n", "\\n")


_MD = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "`": "\\`"})
_TEX = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_", "{": "\\{", "}": "\\}",
        "~": "\\textasciitilde{}", "^": "\\textasciicircum{}", "<": "\\textless{}", ">": "\\textgreater{}",
        "ρ": "$\\rho$", "τ": "$\\tau$", "γ": "$\\gamma$", "α": "$\\alpha$", "β": "$\\beta$", "λ": "$\\lambda$", "±": "$\\pm$"}


def md_escape(text: str) -> str:
    """A name inside a markdown table cell: HTML-significant characters, pipes and backticks
    escaped, on one line (a newline would end the row and inject a line of its own)."""
    return one_line(text).translate(_MD)


def tex_escape(text: str) -> str:
    """A name inside a LaTeX table cell: every special character escaped, on one line (a newline
    would let a ``\\input{...}`` start a line of its own)."""
    return "".join(_TEX.get(ch, ch) for ch in one_line(text))


def mean_sd(mean: float, sd: float | None, n: int, digits: int = 4, scale: float = 1.0) -> str:
    """``0.8133 ± 0.0042 (5)``: the mean, the sample sd over seeds (omitted when undefined) and n.
    ``scale`` multiplies both (×100 for percentages)."""
    spread = "" if sd is None or math.isnan(sd) else f" ± {sd * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f}{spread} ({n})"
