"""Property tests of the aggregators (hypothesis): the mean inequality and homogeneity, and
that rescaling every score leaves every ranking of the protocol unchanged."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.plan import registry
from methods.leaderboard.aggregators import arithmetic_mean, geometric_mean, harmonic_mean
from tasks.leaderboard._board_file import Board
from tasks.leaderboard._scoring import Rules, rank_board

scores = st.floats(min_value=0.01, max_value=100.0, allow_nan=False, allow_infinity=False)
rows = st.lists(scores, min_size=1, max_size=12)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(rows)
def test_harmonic_le_geometric_le_arithmetic(row: list[float]) -> None:
    x = np.array([row])
    a, g, h = arithmetic_mean(x)[0], geometric_mean(x)[0], harmonic_mean(x)[0]
    tol = 1e-12 * a
    assert h <= g + tol and g <= a + tol
    if max(row) - min(row) > 1e-3 * max(row):  # not all equal: strict, well above rounding noise
        assert h < g < a
    else:
        assert abs(a - g) <= 1e-6 * a and abs(g - h) <= 1e-6 * a


@FAST
@given(scores, st.integers(min_value=1, max_value=12))
def test_equal_scores_give_equal_means(value: float, k: int) -> None:
    x = np.full((1, k), value)
    for mean in (arithmetic_mean, geometric_mean, harmonic_mean):
        assert abs(mean(x)[0] - value) <= 1e-12 * value


@FAST
@given(st.lists(st.lists(scores, min_size=5, max_size=5), min_size=1, max_size=6), st.floats(min_value=0.01, max_value=100.0))
def test_scaling_scales_every_mean(matrix: list[list[float]], c: float) -> None:
    x = np.array(matrix)
    for mean in (arithmetic_mean, geometric_mean, harmonic_mean):
        np.testing.assert_allclose(mean(c * x), c * mean(x), rtol=1e-12)


def _board(values: np.ndarray) -> Board:
    n, k = values.shape
    return Board(
        source="synthetic.csv",
        columns=[f"T{j}" for j in range(k)],
        systems=[f"S{i}" for i in range(n)],
        lines=list(range(2, n + 2)),
        halves=np.repeat(values[:, :, None], 2, axis=2),
        paired=np.zeros((n, k), dtype=bool),
        printed_nan=np.zeros((n, k, 2), dtype=bool),
        published=np.full(n, np.nan),
        human=0,
    )


grid = st.integers(min_value=1, max_value=1000).map(lambda v: v / 10)  # scores printed to 0.1, like the boards


@FAST
@given(
    st.integers(min_value=2, max_value=8).flatmap(lambda k: st.lists(st.lists(grid, min_size=k, max_size=k), min_size=2, max_size=15)),
    st.sampled_from([0.01, 0.25, 0.5, 2.0, 3.0, 10.0]),
)
def test_scaling_every_score_leaves_every_ranking_unchanged(matrix: list[list[float]], c: float) -> None:
    values = np.array(matrix)
    for name in ("arithmetic", "geometric", "harmonic"):
        method = registry.get_method(name)(task_set="all")
        base = rank_board(_board(values), Rules(), method)
        scaled = rank_board(_board(c * values), Rules(), method)
        np.testing.assert_allclose(scaled.scores, c * base.scores, rtol=1e-12)
        # two different means closer than the ranking's 1e-6 rounding could tie at one scale only
        s = np.sort(base.scores)
        gaps = np.diff(s)[np.diff(s) > 1e-9 * s[-1]]
        assume(not len(gaps) or gaps.min() > 1e-4 * max(1.0, 1 / c))
        assert np.array_equal(scaled.ranks, base.ranks)
        assert scaled.human_rank == base.human_rank
