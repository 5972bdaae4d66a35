"""Leaderboards: GLUE and SuperGLUE re-ranked by arithmetic, geometric and harmonic means.

Pure arithmetic on published scores (kexue.fm/archives/8783 on Shavrina & Malykh 2021,
arXiv 2112.01342). Modules: ``board_file`` (CSV → Board), ``tasksets`` (which columns),
``scoring`` (policies, ranking, cell metrics), ``ranking`` (ranks, rank agreement),
``leaderboard_tasks`` (the registered tasks and the aggregator factory), ``cli`` (the
``harness leaderboard`` verb), ``views`` (what the verb shows), ``render`` (tables, bump chart),
``page`` (results/tables/leaderboards.md). Aggregators live in ``methods/leaderboard``.
"""
