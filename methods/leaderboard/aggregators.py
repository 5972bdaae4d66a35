"""``official``, ``arithmetic``, ``geometric``, ``harmonic``: one score per system.

The means are pure functions of a finite ``(systems, tasks)`` matrix ``x``::

    arithmetic(x) = mean_j x_ij
    geometric(x)  = exp(mean_j log x_ij)        defined for x > 0
    harmonic(x)   = n / sum_j (1 / x_ij)        defined for x > 0

For positive rows harmonic ≤ geometric ≤ arithmetic, with equality iff the row is constant, and
all three are homogeneous: scaling every score by c > 0 scales every mean by c.

``official`` is each benchmark's own score rule — the arithmetic mean over the task set the
task declares (GLUE: 9 tasks, MNLI-m/mm averaged, AX excluded; SuperGLUE: 8 tasks, AX-b/AX-g
excluded) with paired metrics averaged — and, like the GLUE server, it scores a metric the
board printed as NaN as 0 (``nan=zero``).

Policies (params), applied by the protocol the same way for every aggregator:

* ``task_set`` — ``official``, ``all``, ``first<k>``, ``paper`` or ``A|B|C`` (see
  ``tasks/leaderboard/tasksets.py``);
* ``pair`` — ``mean`` | ``first`` | ``second`` number of an ``a/b`` cell;
* ``missing`` — ``drop-system`` (the system is left unranked and counted in ``n_unranked``),
  ``drop-task`` (the column is left out for everyone), ``error``;
* ``nan`` — a cell the board printed as ``NaN``: ``missing`` or ``zero``;
* ``nonpositive`` (geometric, harmonic) — a score ≤ 0, for which the mean is undefined:
  ``drop-system`` (default: that system is unranked by this aggregator, with the reason, and
  counted), ``error`` (one line naming row and column), ``clip`` (scores below ``floor`` are
  raised to ``floor``), ``shift`` (when some score is ≤ 0, the same constant is added to every
  score of the selected columns, for every system, so that the smallest becomes ``floor``);
  never a silent NaN;
* ``rank_decimals`` — scores are rounded to this many decimals before competition ranking.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.api import Method, Param, register

FIXED = {"task_set": "official", "pair": "mean", "missing": "drop-system", "nan": "missing",
         "nonpositive": "error", "floor": 1.0, "rank_decimals": 6}

TASK_SET = Param("task_set", "str", "official", "official | all | first<k> | paper | names joined by | (a+b averages two columns)")
PAIR = Param("pair", "str", "mean", "how a pair a/b becomes one number", choices=("mean", "first", "second"))
MISSING = Param("missing", "str", "drop-system", "a missing cell: leave the system unranked, drop the task, or fail",
                choices=("drop-system", "drop-task", "error"))
RANK_DECIMALS = Param("rank_decimals", "int", 6, "decimals kept before ranking (ties share the better rank)", minimum=0)
NONPOSITIVE = (
    Param("nonpositive", "str", "drop-system", "a score <= 0: leave the system unranked, fail, clip to floor, or shift all by one constant",
          choices=("drop-system", "error", "clip", "shift")),
    Param("floor", "float", 1.0, "clip/shift floor on the board's scale (scores are 0-100)", minimum=1e-9),
)


def _nan(default: str) -> Param:
    return Param("nan", "str", default, "a cell printed as NaN: treat as missing, or score it 0 (the GLUE server's rule)",
                 choices=("missing", "zero"))


def arithmetic_mean(x: Any) -> Any:
    return x.mean(axis=1)


def geometric_mean(x: Any) -> Any:
    import numpy as np

    return np.exp(np.log(x).mean(axis=1))


def harmonic_mean(x: Any) -> Any:
    return x.shape[1] / (1.0 / x).sum(axis=1)


class Aggregator(Method):
    """Base of the leaderboard aggregators: params with defaults, and the protocol's hooks."""

    families: ClassVar[tuple[str, ...]] = ("leaderboard",)
    needs_positive: ClassVar[bool] = False

    def setting(self, name: str) -> Any:
        """This aggregator's policy ``name`` (its param, else the fixed rule in ``FIXED``)."""
        return self.p.get(name, FIXED[name])

    def aggregate(self, x: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@register
class Official(Aggregator):
    """Each benchmark's own score: arithmetic mean over its official tasks, pairs averaged, NaN scored 0."""

    name = "official"
    params = (MISSING, _nan("zero"), RANK_DECIMALS)

    def aggregate(self, x: Any) -> Any:
        return arithmetic_mean(x)


@register
class Arithmetic(Aggregator):
    """Arithmetic mean of the chosen task columns."""

    name = "arithmetic"
    params = (TASK_SET, PAIR, MISSING, _nan("missing"), RANK_DECIMALS)

    def aggregate(self, x: Any) -> Any:
        return arithmetic_mean(x)


@register
class Geometric(Aggregator):
    """Geometric mean exp(mean log x); scores <= 0 follow the nonpositive policy."""

    name = "geometric"
    needs_positive = True
    params = (TASK_SET, PAIR, MISSING, _nan("missing"), *NONPOSITIVE, RANK_DECIMALS)

    def aggregate(self, x: Any) -> Any:
        return geometric_mean(x)


@register
class Harmonic(Aggregator):
    """Harmonic mean n / sum(1/x); scores <= 0 follow the nonpositive policy."""

    name = "harmonic"
    needs_positive = True
    params = (TASK_SET, PAIR, MISSING, _nan("missing"), *NONPOSITIVE, RANK_DECIMALS)

    def aggregate(self, x: Any) -> Any:
        return harmonic_mean(x)
