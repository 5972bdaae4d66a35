"""The leaderboard family's sections of ``results/tables/leaderboards.md`` and its bump charts.

Everything on the page is recomputed from the bundled CSV files; the claims' verdicts come from
their cells, which the engine runs first (``run_claims_at``): in the ``--store`` given (cached
cells are reused, new ones stay there), else in a throwaway store — the page's cells are
full-scale, and adding them to the default store would flip ``harness table`` to ``scale full``.
"""

from __future__ import annotations

from harness.api import FamilyPage, PageView, Section, register_captions, registry
from tasks.leaderboard.leaderboard_tasks import make_method

from tasks.leaderboard.leaderboard_tasks import FAMILY
TOP = 20


def sections(view: PageView) -> list[Section]:
    from tasks.leaderboard._scoring import published_check
    from tasks.leaderboard._render import bump_chart, published_table, rule_columns, rule_table, tau_table, view_table
    from tasks.leaderboard._views import build_view, rule_rows

    rows, sections, published, figures = [], [], [], []
    for name, cls in registry.tasks().items():
        if cls.family != FAMILY or not cls.data:
            continue
        task = cls()
        board, rules = task.board(), task.rules()
        official = make_method("official")
        rows += rule_rows(name, board, rules, lambda n, **p: make_method(n, p), list(cls.rule_sets))
        consistent = build_view(f"{name}, consistent rules (official task set)", board, rules,
                                [make_method(a) for a in ("arithmetic", "geometric", "harmonic")], official)
        published.append((name, board, published_check(board, consistent.official.scores), consistent.official.scores))
        sections += [f"### {name}: consistent rules (every system averaged over the official tasks)", "",
                     view_table(consistent, "md", TOP), ""]
        if rules.paper:
            paper = build_view(f"{name}, the paper's rules", board, rules,
                               [make_method(a, {"task_set": "paper"}) for a in ("arithmetic", "geometric", "harmonic") if a in rules.paper], official)
            sections += [f"### {name}: the paper's rules (task_set=paper)", "", view_table(paper, "md", TOP), ""]
            columns = [("official", consistent.official), *((r.label.split("[")[0], r) for r in consistent.rankings),
                       *((r.label.split("[")[0] + "\n(paper's rules)", r) for r in paper.rankings)]
        else:
            columns = [("official", consistent.official), *((r.label.split("[")[0], r) for r in consistent.rankings)]
        title = f"{name}: rank under each aggregator (top {TOP}; human row in red)"
        figures += bump_chart(columns, board, title, view.figures_dir / f"leaderboard_{name}_bump", top=TOP)

    view.figures += figures
    return [
        Section("Human rank: the paper's rules vs consistent rules",
                "`rank / systems ranked`. *Consistent*: every system, the human row included, is averaged over the same "
                "tasks. *The paper's rules* (`task_set=paper`, reconstructed in the article): GLUE arithmetic over the first "
                "10 columns, geometric/harmonic over 11 columns (AX included) for the systems but 10 for the human row; "
                "SuperGLUE arithmetic over the 8 tasks, geometric/harmonic over all 10 columns (AX-b, AX-g included).\n\n"
                + rule_table(rows) + "\n\nTask columns of each rule set (pairs a/b averaged, `a+b` = two columns averaged into one task):\n\n"
                + rule_columns(rows)),
        Section("Rank agreement between aggregators (Kendall τ-b over the systems both rank)", tau_table(rows)),
        Section("Published scores reproduced by `official`", published_table(published)),
        Section("Re-ranked leaderboards", "\n".join(sections)),
        Section("Bump charts", "\n".join(f"![{p.stem}](../figures/{p.name})" for p in figures if p.suffix == ".png")),
        Section("Data notes", DATA_NOTES),
    ]


DATA_NOTES = """\
- Geometric and harmonic means are undefined for scores ≤ 0 (CoLA is 0 for 10 GLUE systems; AX, a Matthews
  correlation, is negative for some). Default `nonpositive=drop-system`: those systems are left unranked by that
  aggregator (— above, counted in `n_unranked`); `error`, `clip` and `shift` are the alternatives.
- GLUE human AX = 76.6 is doubtful (it equals the SuperGLUE human AX-b; another public copy has 0). It enters only
  the GLUE `all` rule set (shown beside `first10`, which leaves AX out) — not the official rule, and not the human
  row under the paper's rules.
- Rows with `-` as Score (GLUE XLNet and ALBERT ensembles; SuperGLUE Outside Best, Snorkel) are not checked against a
  published score; they also miss a task (`-`), so the official rule leaves them unranked.
- GLUE MaChAmp has STS-B `NaN/99.8`: the GLUE server scored the task 0 (its published 67.6 needs it); `official`
  does the same (`nan=zero`), the other aggregators treat it as missing by default (`nan=missing`).
- Repeated system names (GLUE RefBERT ×4, force_SEM ×3) are told apart by their published rank, e.g. `RefBERT (#61)`."""

INTRO = """\
From the bundled boards (`leaderboards/{glue,superglue}_votenrank.csv`; `harness leaderboard glue --write`). Source of
the claims: [kexue.fm/archives/8783](https://kexue.fm/archives/8783) (2021-12-04) on Shavrina & Malykh, *How not to Lie
with a Benchmark* (arXiv 2112.01342). Everything below is recomputed from the CSV files; the claims' verdicts come
from their cells, computed for the page (exact arithmetic: every scale is the same)."""

PAGE = FamilyPage(title="Leaderboards: GLUE and SuperGLUE re-ranked by arithmetic, geometric and harmonic means",
                  intro=INTRO, sections=sections, file="leaderboards.md", run_claims_at="full")
register_captions(FAMILY, {"bump": "ranks of the systems under the official score and each mean (bump chart: a line per system)"})
