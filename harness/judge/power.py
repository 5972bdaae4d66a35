"""How many seeds a claim needs, and which claims a run can afford to decide.

``--seeds auto`` asks, for each claim a run touches, how many seeds per cell would decide it at
the effect and spread already measured (:func:`harness.judge.stats.seeds_to_decide` on the
stored records: the user's store, else the committed ones), and adds those seeds' cells to the
run — claim by claim, cheapest first, while the estimated time fits the run's budget. A claim
that does not fit is not run on more seeds: it is listed with the seeds it needs, the estimated
time and the one command that decides it. A claim nothing is stored for gets its default seeds.
A planning number, not a promise: new seeds bring their own effect and spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.judge.claim_cells import claim_seeds, sides
from harness.judge.claims import Claim, claim_tasks
from harness.judge.verdicts import INCONCLUSIVE, SUPPORTED, REFUTED, WITHIN_MARGIN, judge_all
from harness.plan.cells import Cell

MAX_AUTO_SEEDS = 30  # past this a claim is "not decidable by seeds on this protocol", not a plan


@dataclass
class Need:
    """What deciding ``claim`` at ``scale`` takes: seeds per cell on each of its tasks, the cells
    that are not stored yet, and their estimated seconds of cell time."""

    claim: Claim
    scale: str
    seeds: dict[str, int]
    cells: list[Cell]
    seconds: float
    decidable: bool  # False: no number of seeds up to MAX_AUTO_SEEDS decides it at the observed effect

    def command(self) -> str:
        return f"harness run --claims {self.claim.id} --scale {self.scale} --seeds auto"

    def describe(self) -> str:
        per_task = ", ".join(f"{t} × {n} seeds" for t, n in self.seeds.items())
        if not self.decidable:
            return f"{self.claim.id}: no number of seeds up to {MAX_AUTO_SEEDS} decides it at the effect measured ({per_task} tried)"
        return f"{self.claim.id}: needs {per_task} (~{_minutes(self.seconds)} of cell time): {self.command()}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _seeds_per_task(claim: Claim, verdict: Any) -> tuple[dict[str, int], bool]:
    """Per task, the seeds that decided or would decide the claim's comparisons there."""
    default = len(claim_seeds(claim))
    out: dict[str, int] = {}
    decidable = True
    for e in verdict.evidence:
        if e.stats is not None and e.stats.over == "seeds" and e.verdict in (SUPPORTED, REFUTED, WITHIN_MARGIN):
            n = max(e.stats.n, claim.min_seeds)
        elif e.verdict == INCONCLUSIVE and e.seeds_needed:
            n = e.seeds_needed
        elif e.verdict == INCONCLUSIVE and e.stats is not None and e.stats.over == "seeds" and not e.stats.degenerate:
            n, decidable = min(MAX_AUTO_SEEDS, max(default, e.stats.n)), False  # the effect sits where no seeds decide
        else:
            n = default
        for task in ([e.task] if e.task in claim.tasks else claim.tasks):
            out[task] = max(out.get(task, 0), min(n, MAX_AUTO_SEEDS))
    return out, decidable


def needs(claims: list[Claim], scale: str, reader: Any, store: Any) -> list[Need]:
    """What each paired claim needs at ``scale``, from the records ``reader`` holds at that
    scale; the cells not finished in ``store`` (the run's own) are the ones to run."""
    from harness.run.estimate import estimate_seconds

    paired = [c for c in claims if c.kind == "paired"]
    if not paired:
        return []
    records = reader.load(claim_tasks(paired))
    at_scale = records[records["scale"] == scale] if len(records) else records
    out = []
    for claim, verdict in zip(paired, judge_all(paired, at_scale, reader)):
        per_task, decidable = _seeds_per_task(claim, verdict)
        per_task = {t: n for t, n in per_task.items() if scale in claim.deciding_scales(t)}
        cells: dict[str, Cell] = {}
        for row in sides(claim):
            for side in row:
                if side.task in per_task:
                    cells.update((c.key, c) for c in side.cells(list(range(per_task[side.task])), scale).values())
        todo = [c for c in cells.values() if not store.is_finished(c)]
        out.append(Need(claim, scale, per_task, todo, sum(estimate_seconds(c, store) for c in todo), decidable))
    return out


def affordable(all_needs: list[Need], budget_s: float | None) -> tuple[list[Need], list[Need]]:
    """(the needs run, the needs deferred): cheapest claims first while the summed cell time fits
    ``budget_s`` (None: no budget); a claim no number of seeds decides is never run for more."""
    chosen, deferred, spent = [], [], 0.0
    for need in sorted(all_needs, key=lambda n: (not n.decidable, n.seconds, n.claim.id)):
        if need.decidable and (budget_s is None or spent + need.seconds <= budget_s):
            chosen.append(need)
            spent += need.seconds
        else:
            deferred.append(need)
    return chosen, deferred

