"""Leaderboards: GLUE and SuperGLUE re-ranked by arithmetic, geometric and harmonic means.

Pure arithmetic on published scores (kexue.fm/archives/8783 on Shavrina & Malykh 2021,
arXiv 2112.01342). Modules: ``board`` (CSV → Board), ``tasksets`` (which columns),
``protocol`` (policies, ranking, cell metrics), ``ranking`` (ranks, Kendall τ, Spearman ρ),
``boards`` (the registered tasks), ``cli`` (the ``harness leaderboard`` verb), ``view``
(what the verb shows), ``render`` (tables, bump chart), ``page`` (results/tables/leaderboards.md). Aggregators live in ``methods/leaderboard``.
"""

# One import per module that registers tasks or commands (each torch-, numpy- and pandas-free at import).
from tasks.leaderboard import boards  # noqa: F401
from tasks.leaderboard import cli  # noqa: F401
