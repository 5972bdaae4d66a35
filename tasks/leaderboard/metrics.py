"""The leaderboard family's metrics, declared once: what each number is and which side is better.

A rank, a count of systems moved or of scores that disagree with the published ones is better
low; an agreement between rankings (Kendall τ, Spearman ρ) is better high; a count of systems
or a tolerance in use has no better side.
"""

from __future__ import annotations

from harness.api import Metric, register_metric

for _metric in (
    Metric("human_rank", False, "rank of the human baseline under the method's aggregate (1 = first)"),
    Metric("paper_human_rank", False, "rank of the human baseline under the paper's own tasks and human row"),
    Metric("all_columns_human_rank", False, "rank of the human baseline when every task column is aggregated"),
    Metric("human_score", None, "the human baseline's aggregate score"),
    Metric("top_score", None, "the best system's aggregate score"),
    Metric("n_above_human", False, "systems ranked above the human baseline"),
    Metric("n_still_above_human_vs_*", False, "systems above the human baseline under both this aggregate and the named one"),
    Metric("n_unranked", False, "systems left unranked (a score missing or not positive where the mean needs it)"),
    Metric("n_systems", None, "systems on the board"),
    Metric("n_moved_vs_*", False, "systems whose rank differs from their rank under the named aggregate"),
    Metric("max_move_vs_*", False, "largest rank change of one system against the named aggregate"),
    Metric("kendall_tau_vs_*", True, "Kendall's τ-b between this ranking and the named one"),
    Metric("spearman_vs_*", True, "Spearman's ρ between this ranking and the named one"),
    Metric("n_score_mismatches", False, "published totals that differ from the recomputed ones beyond the tolerance"),
    Metric("n_score_mismatches_rounded", False, "published totals that differ from the recomputed ones after rounding"),
    Metric("n_scores_checked", None, "published totals compared with the recomputed ones"),
    Metric("n_scores_unchecked", False, "published totals that could not be recomputed (a task score missing)"),
    Metric("max_abs_error_vs_published", False, "largest |recomputed − published| total"),
    Metric("score_tolerance", None, "the tolerance used to compare totals (the rounding bound unless set)"),
):
    register_metric(_metric)
