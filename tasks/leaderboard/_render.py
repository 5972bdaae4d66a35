"""Text and figures for the leaderboard family: re-ranked tables (md, LaTeX, CSV), the committed
page ``results/tables/leaderboards.md`` and the bump charts. Formatting only; numbers come from
``view.py`` and ``protocol.py``.

Every name that comes from a user's file (systems, columns, the sidecar's ``name``, and the
footnotes that quote them) goes through the engine's one escaping layer per format
(:func:`harness.api.md_escape`, :func:`~harness.api.tex_escape`, :func:`~harness.api.terminal_safe`
for CSV): a name can neither inject HTML or a line of LaTeX nor drive the terminal."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from harness.api import md_escape, terminal_safe, tex_escape
from tasks.leaderboard._views import RuleRow, View

RANK_NOTE = ("ranks: competition ranking (ties share the better rank) on scores rounded to 1e-6; "
             "Δ = official rank − rank under the aggregator (positive: moved up)")


def _rank(r: float) -> str:
    return "—" if not math.isfinite(r) else str(int(r))


def _delta(official: float, rank: float) -> str:
    if not (math.isfinite(official) and math.isfinite(rank)):
        return "—"
    d = int(official - rank)
    return f"+{d}" if d > 0 else str(d)


def _score(s: float) -> str:
    return "—" if not math.isfinite(s) else f"{s:.2f}"


ESCAPE = {"md": md_escape, "latex": tex_escape, "csv": terminal_safe}


def _name(view: View, i: int, fmt: str) -> str:
    name = ESCAPE[fmt](view.board.systems[i])
    if i == view.board.human:
        return {"md": f"**{name}**", "latex": f"\\textbf{{{name}}}"}.get(fmt, name)
    return name


def view_table(view: View, fmt: str = "md", top: int | None = 20) -> str:
    """The re-ranked leaderboard: official score and rank, then per aggregator score, rank and Δ."""
    rows = view.order(top)
    off = view.official
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["system", "human", "official_score", "official_rank", "published_score",
                    *(f"{r.label}_{k}" for r in view.rankings for k in ("score", "rank", "delta"))])
        for i in rows:
            w.writerow([_name(view, i, "csv"), int(i == view.board.human), _csv(off.scores[i]), _csv(off.ranks[i]),
                        _csv(view.board.published[i]),
                        *(v for r in view.rankings for v in (_csv(r.scores[i]), _csv(r.ranks[i]),
                                                             _csv(off.ranks[i] - r.ranks[i]))) ])
        return out.getvalue().rstrip("\n")
    from tabulate import tabulate

    headers = ["#", "system", "official"]
    for r in view.rankings:
        headers += [r.label, "Δ"]
    body = []
    for i in rows:
        line = [_rank(off.ranks[i]), _name(view, i, fmt), _score(off.scores[i])]
        for r in view.rankings:
            line += [f"{_score(r.scores[i])} ({_rank(r.ranks[i])})" if math.isfinite(r.scores[i]) else "—",
                     _delta(off.ranks[i], r.ranks[i])]
        body.append(line)
    headers = [{"Δ": "$\\Delta$"}.get(h, tex_escape(h)) for h in headers] if fmt == "latex" else [md_escape(h) for h in headers]
    table = tabulate(body, headers, tablefmt="latex_raw" if fmt == "latex" else "github", disable_numparse=True)
    notes = view_notes(view, top, len(rows))
    if fmt == "latex":  # comments, escaped like every cell (a newline would end one and start a line of its own)
        return table + "\n" + "\n".join(f"% {tex_escape(n)}" for n in notes)
    return table + "\n\n" + "\n".join(f"_{_md_paragraph(n)}_  " for n in notes)


def _md_paragraph(text: str) -> str:
    """A footnote is a paragraph, not a table cell: :func:`md_escape` (one line, HTML escaped),
    with the pipes and backticks that only a table cell must escape left as they are."""
    return md_escape(text).replace("\\|", "|").replace("\\`", "`")


def _csv(x: float) -> str:
    return "" if not math.isfinite(x) else (f"{x:.6g}" if abs(x - round(x)) > 1e-12 else str(int(round(x))))


def view_notes(view: View, top: int | None, shown: int) -> list[str]:
    b = view.board
    notes = [f"{view.title}: {b.n} systems, {shown} shown" + (f" (ranked ≤ {top} by some aggregator" + (", and the human row)" if b.human is not None else ")") if top else "")]
    if view.note:
        notes.append(view.note)
    notes += [f"warning: {w}" for w in view.warnings]
    notes += role_notes(b)
    sets = {(r.tasks, r.human_tasks) for r in (view.official, *view.rankings)}
    if len(sets) == 1:
        notes.append(f"task columns (every aggregator): {view.official.tasks}")
    else:
        notes.append("task columns — " + "; ".join(
            f"{r.label}: {r.tasks}" + (f" (human row: {r.human_tasks})" if r.human_tasks != r.tasks else "")
            for r in (view.official, *view.rankings)))
    human = [f"{label} {_rank(rank) if rank is not None else '—'}/{n}" for label, rank, n in view.human_ranks()]
    if b.human is not None:
        notes.append(f"human rank ({b.systems[b.human]}) — " + ", ".join(human))
    taus = [f"{label} τ={a.kendall_tau:.3f}, ρ={a.spearman:.3f}, {a.n_moved} moved (max {a.max_move})"
            for label, a in view.agreements() if a.kendall_tau is not None and a.spearman is not None]
    if taus:
        notes.append("vs official — " + "; ".join(taus))
    gone = [f"{label} {k} ({', '.join(f'{v} {kind}' for kind, v in kinds.items())})" for label, k, kinds in view.unranked() if k]
    if gone:
        notes.append("unranked (— in the table) — " + "; ".join(gone))
    notes.append(RANK_NOTE)
    return notes


def role_notes(board: Any) -> list[str]:
    """What the columns are, when it is not plain: aggregates (and which were detected by name),
    ignored columns, lower-is-better tasks, and how the human row was found."""
    notes = []
    others = [c for c in board.aggregates if c != board.total]
    if others:  # the bundled boards have none: their footnotes stay as they were
        detected = [c for c in others if c in board.detected]
        text = "published aggregate columns (not averaged in): " + ", ".join(others)
        if board.total:
            text += f"; {board.total} is the total checked against the official score"
        if detected:
            text += f"; detected by name: {', '.join(detected)} (role COLUMN=task if one is a task)"
        notes.append(text)
    if board.ignored:
        notes.append("ignored columns: " + ", ".join(board.ignored))
    lower = board.lower_columns()
    if lower:
        notes.append(f"lower is better: {', '.join(lower)} (averaged as {board.lower_as.replace('x', 'score')})")
    if board.human_how:
        notes.append(f"human row: {board.systems[board.human]} ({board.human_how}; human=none to rank without it)")
    return notes


def rule_table(rows: list[RuleRow]) -> str:
    """Human rank per aggregator under each rule set, side by side."""
    from tabulate import tabulate

    names = ["official", "arithmetic", "geometric", "harmonic"]
    body = []
    for r in rows:
        cells = []
        for n in names:
            rank, total = r.human.get(n, (None, 0))
            cells.append("n/a" if n not in r.human else ("—" if rank is None else f"{int(rank)} / {total}"))
        body.append([r.board, r.rule, *cells])
    return tabulate(body, ["board", "rules", *(f"human rank: {n}" for n in names)], tablefmt="github", disable_numparse=True)


def rule_columns(rows: list[RuleRow]) -> str:
    lines = []
    for r in rows:
        sets: dict[tuple[str, str], list[str]] = {}
        for name, pair in r.tasks.items():
            sets.setdefault(pair, []).append(name)
        for (tasks, human), names in sets.items():
            who = "" if len(sets) == 1 else f" ({', '.join(names)})"
            extra = f"; human row: `{human}`" if human != tasks else ""
            lines.append(f"- {r.board}, {r.rule}{who}: `{tasks}`{extra}")
    return "\n".join(lines)


def tau_table(rows: list[RuleRow]) -> str:
    from tabulate import tabulate

    pairs = [("arithmetic", "geometric"), ("arithmetic", "harmonic"), ("geometric", "harmonic"),
             ("official", "geometric"), ("official", "harmonic")]
    body = []
    for r in rows:
        cells = [("n/a" if p not in r.tau else ("—" if r.tau[p] is None else f"{r.tau[p]:.3f}")) for p in pairs]
        still = ", ".join(f"{k} {v}" for k, v in r.above_human_both.items() if v is not None) or "—"
        body.append([r.board, r.rule, *cells, still])
    headers = ["board", "rules", *(f"τ {a[:5]}–{b[:5]}" for a, b in pairs), "above human under both (vs arithmetic)"]
    return tabulate(body, headers, tablefmt="github", disable_numparse=True)


def published_table(entries: list[tuple[str, Any, dict[str, float], np.ndarray]]) -> str:
    """Per board: how the official aggregator reproduces the Score column, and the rows off by > ½ unit."""
    from tabulate import tabulate

    body, details = [], []
    for name, board, m, scores in entries:
        body.append([name, int(m["n_scores_checked"]), int(m["n_scores_unchecked"]), f"{m['max_abs_error_vs_published']:.4f}",
                     f"{m['score_tolerance']:g}", int(m["n_score_mismatches"]), int(m["n_score_mismatches_rounded"])])
        half = 0.5 * 10.0 ** -board.score_decimals
        for i in np.flatnonzero(np.isfinite(board.published) & np.isfinite(scores)):
            err = scores[i] - board.published[i]
            if abs(err) > half + 1e-9:
                details.append(f"- {name} row {board.lines[i]} ({board.systems[i]}): recomputed {scores[i]:.4f}, published {board.published[i]:g} (Δ {err:+.4f})")
    headers = ["board", "scores checked", "published but not recomputable", "max abs Δ", "tolerance",
               "mismatches (abs Δ > tolerance)", "rounded half-up ≠ printed"]
    text = tabulate(body, headers, tablefmt="github", disable_numparse=True)
    if details:
        text += ("\n\nRows more than half a printed unit away (within the tolerance: the cells are printed to 0.1, so their mean "
                 "can be off by 0.05 before the Score's own rounding); the other rows where half-up rounding differs sit "
                 "exactly on a .x5 tie:\n\n" + "\n".join(details))
    return text


def bump_chart(view_columns: list[tuple[str, Any]], board: Any, title: str, path: Path, top: int = 20) -> list[Path]:
    """Rank under each column (one line per system ranked ≤ top somewhere; the human row in red)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "leaderboard"  # stable ids: regenerating changes no byte
    import matplotlib.pyplot as plt

    ranks = np.array([r.ranks for _, r in view_columns])  # (columns, systems)
    shown = np.flatnonzero((np.nan_to_num(ranks, nan=np.inf) <= top).any(axis=0))
    if board.human is not None and board.human not in shown:
        shown = np.append(shown, board.human)
    below = top + 1.5
    x = np.arange(len(view_columns))
    fig, ax = plt.subplots(figsize=(2.0 + 1.55 * len(view_columns), 0.34 * top + 2.2))
    labels: dict[tuple[int, float], list[tuple[str, bool]]] = {}
    for i in shown:
        y = np.where(np.isfinite(ranks[:, i]), np.minimum(ranks[:, i], below), below)
        human = i == board.human
        ax.plot(x, y, "-o", lw=3.0 if human else 1.0, ms=6 if human else 3.5, color="#d62728" if human else "0.55",
                alpha=1.0 if human else 0.75, zorder=3 if human else 2)
        for j in (0, len(x) - 1):
            if y[j] <= top:
                name = board.systems[i]
                labels.setdefault((j, float(y[j])), []).append((name if len(name) <= 30 else name[:28] + "…", human))
    for (j, y), names in labels.items():  # tied systems share one label
        human = any(h for _, h in names)
        ax.text(x[j] + (-0.08 if j == 0 else 0.08), y, " = ".join(n for n, _ in names), ha="right" if j == 0 else "left",
                va="center", fontsize=7.5, color="#d62728" if human else "0.25", fontweight="bold" if human else "normal")
    ax.set_xticks(x, [name for name, _ in view_columns], fontsize=8.5)
    ax.set_ylim(below + 0.7, 0.3)
    ax.set_yticks([1, *range(5, top + 1, 5), below], ["1", *map(str, range(5, top + 1, 5)), f"> {top} or\nunranked"])
    ax.set_ylabel("rank (1 = best)")
    ax.axhline(top + 0.75, color="0.8", lw=0.8, ls="--")
    split = next((k for k, (name, _) in enumerate(view_columns) if "paper" in name), None)
    if split is not None:
        ax.axvline(split - 0.5, color="0.75", lw=0.8)
        for x0, x1, text in ((0, split - 1, "consistent: every row over the official tasks"),
                             (split, len(x) - 1, "the paper's rules (task_set=paper)")):
            ax.text((x0 + x1) / 2, 0.45, text, ha="center", va="bottom", fontsize=8.5, color="0.3", style="italic")
    ax.set_xlim(-1.9, len(x) - 1 + 1.9)
    ax.set_title(title, fontsize=10, pad=18)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        out = path.with_suffix(f".{ext}")
        out.parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"dpi": 150} if ext == "png" else {"metadata": {"Date": None}}
        fig.savefig(out, **kwargs)
        paths.append(out)
    plt.close(fig)
    return paths
