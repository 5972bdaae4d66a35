"""Which cells a claim reads: the one enumeration behind ``run --claims``, the verdicts, the
commands an inconclusive verdict prints, the family pages and the HTML report's cell rows.

A paired claim reads, on each of its tasks, both sides of every comparison over seeds; a value
claim reads seed 0 of each checked cell. :func:`sides` lists them in the order the verdicts
list their evidence, so that a page can show the cells behind each line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.judge.claims import Claim, MethodSpec
from harness.plan.cells import Cell


@dataclass(frozen=True)
class Side:
    """One method (at its params) on one task (at the claim's task params): a row of cells."""

    task: str
    spec: MethodSpec
    task_params: dict[str, Any] = field(default_factory=dict)

    def cell(self, seed: int, scale: str) -> Cell:
        return Cell.build(self.task, self.spec.name, seed, scale, self.task_params, self.spec.params)

    def cells(self, seeds: list[int], scale: str) -> dict[int, Cell]:
        return {seed: self.cell(seed, scale) for seed in seeds}


def sides(claim: Claim) -> list[list[Side]]:
    """Per piece of evidence, in the verdicts' order: the sides whose cells decide it."""
    if claim.kind == "value":
        return [[Side(c.task, c.method, c.task_params)] for c in claim.checks]
    return [[Side(t, c.a, claim.task_params), Side(t, c.b, claim.task_params)] for t in claim.tasks for c in claim.comparisons]


def claim_seeds(claim: Claim) -> list[int]:
    """Seeds a paired claim is run with by default: enough for its ``min_seeds`` and at least 5."""
    return list(range(max(claim.min_seeds, 5)))


def cells_for_claims(claims: list[Claim], scale: str, seeds: list[int] | None = None) -> list[Cell]:
    """Exactly the cells the verdicts of ``claims`` read at ``scale``: both sides of every paired
    comparison on every task (over ``seeds``, default :func:`claim_seeds`) and seed 0 of every
    value check, only on the tasks where ``scale`` decides the claim (:func:`waiting_for_scale`)."""
    cells: dict[str, Cell] = {}
    for claim in claims:
        chosen = [0] if claim.kind == "value" else seeds if seeds is not None else claim_seeds(claim)
        for row in sides(claim):
            for side in row:
                if claim.kind == "value" or scale in claim.deciding_scales(side.task):
                    for cell in side.cells(chosen, scale).values():
                        cells.setdefault(cell.key, cell)
    return list(cells.values())


def waiting_for_scale(claims: list[Claim], scale: str) -> dict[str, list[str]]:
    """Claim id → the tasks on which ``scale`` does not decide it (they wait for another scale)."""
    out: dict[str, list[str]] = {}
    for claim in claims:
        tasks = claim.tasks or tuple(dict.fromkeys(c.task for c in claim.checks))
        waiting = [t for t in tasks if scale not in claim.deciding_scales(t)]
        if waiting:
            out[claim.id] = waiting
    return out


def claims_of_run(task_names: list[str], method_names: list[str]) -> list[Claim]:
    """The claims a run of these tasks and methods can decide: every task they read and every
    method they compare (or check) is among the run's. Other claims touching the tasks are for
    another run (``harness claims`` shows them all)."""
    from harness.judge.claims import claims_touching

    tasks, ran = set(task_names), set(method_names)
    return [c for c in claims_touching(task_names)
            if {side.task for row in sides(c) for side in row} <= tasks and {side.spec.name for row in sides(c) for side in row} <= ran]


def undecided_tasks(claims: list[Claim], task_names: list[str], scale: str) -> dict[str, list[str]]:
    """Task → the claims that read it, for the tasks on which none of ``claims`` decides at
    ``scale`` (CIFAR-10-LT at small: its claims decide at full only). A task no claim reads is
    not in it (its cells fill tables)."""
    out: dict[str, list[str]] = {}
    for task in task_names:
        reading = [c for c in claims if task in (c.tasks or tuple(k.task for k in c.checks))]
        if reading and all(scale not in c.deciding_scales(task) for c in reading):
            out[task] = [c.id for c in reading]
    return out
