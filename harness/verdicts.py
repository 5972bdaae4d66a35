"""Claim verdicts computed from stored records: supported, refuted or inconclusive (and why).

A paired comparison ``A > B`` is *supported* when the 95% interval of the paired difference
over shared seeds lies above ``min_delta``, *refuted* when it lies below, and *inconclusive*
otherwise (effect inside noise), or when seeds or cells are missing — then the verdict carries
the exact command that would complete it.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

from harness.cells import Cell
from harness.claims import Check, Claim, Comparison, MethodSpec, claim_tasks
from harness.stats import Paired, paired

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
SCALE_ORDER = ("full", "small", "smoke")
_CMP = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}


@dataclass
class Evidence:
    task: str
    what: str  # the comparison or check, as text
    verdict: str
    reason: str
    scale: str = ""
    stats: Paired | None = None
    value: float | None = None


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


class RecordIndex:
    """``(cell_key, metric) → value`` and the seeds/scales present per task."""

    def __init__(self, records: Any) -> None:
        self.values: dict[tuple[str, str], float] = {}
        self.seeds: dict[tuple[str, str], set[int]] = {}
        if len(records):
            for key, metric, value in zip(records["cell_key"], records["metric"], records["value"]):
                self.values[(key, metric)] = float(value)
            for task, scale, seed in set(zip(records["task"], records["scale"], records["seed"])):
                self.seeds.setdefault((task, scale), set()).add(int(seed))

    def get(self, cell: Cell, metric: str) -> float | None:
        return self.values.get((cell.key, metric))

    def scales_of(self, task: str) -> set[str]:
        return {scale for (t, scale) in self.seeds if t == task}


def _series(index: RecordIndex, task: str, tp: dict[str, Any], spec: MethodSpec, scale: str, metric: str) -> dict[int, float]:
    out = {}
    for seed in sorted(index.seeds.get((task, scale), ())):
        value = index.get(Cell.build(task, spec.name, seed, scale, tp, spec.params), metric)
        if value is not None:
            out[seed] = value
    return out


def run_command(claim: Claim, scale: str) -> str:
    """The one command that runs every cell ``claim`` needs at ``scale`` (cached cells are skipped)."""
    return f"harness run --claims {claim.id} --scale {scale}"


def _decide(stats: Paired, op: str, delta: float) -> tuple[str, str]:
    sign = 1.0 if op in (">", ">=") else -1.0
    lo, hi = sorted((sign * stats.lo, sign * stats.hi))
    bar = delta if op in (">", "<") else -delta
    text = f"Δ={stats.diff:+.4f} [{stats.lo:+.4f}, {stats.hi:+.4f}] n={stats.n} p={stats.p_value:.3g}"
    if lo > bar:
        return SUPPORTED, text
    if hi < bar:
        return REFUTED, text
    return INCONCLUSIVE, f"effect inside noise: {text}"


def _paired_evidence(claim: Claim, index: RecordIndex, task: str, cmp: Comparison) -> tuple[Evidence, str | None]:
    wanted = [s for s in SCALE_ORDER if s in claim.scales]
    present = index.scales_of(task)
    usable = [s for s in wanted if s in present]
    if not usable:
        scale = wanted[-1] if wanted else "small"
        why = f"no records at scale {'/'.join(wanted)}" + (f" (only {'/'.join(sorted(present))})" if present else "")
        return Evidence(task, cmp.label(), INCONCLUSIVE, why), run_command(claim, scale)
    scale = usable[0]
    a = _series(index, task, claim.task_params, cmp.a, scale, cmp.a.metric or claim.metric)
    b = _series(index, task, claim.task_params, cmp.b, scale, cmp.b.metric or claim.metric)
    missing = [s for s, series in ((cmp.a, a), (cmp.b, b)) if not series]
    if missing:
        why = f"cells missing: {', '.join(s.label() for s in missing)} at scale {scale}"
        return Evidence(task, cmp.label(), INCONCLUSIVE, why, scale), run_command(claim, scale)
    shared = sorted(set(a) & set(b))
    if len(shared) < claim.min_seeds:
        why = f"too few shared seeds: n={len(shared)} < {claim.min_seeds}"
        return Evidence(task, cmp.label(), INCONCLUSIVE, why, scale), run_command(claim, scale)
    stats = paired([a[s] for s in shared], [b[s] for s in shared])
    verdict, why = _decide(stats, cmp.op, claim.min_delta)
    return Evidence(task, cmp.label(), verdict, why, scale, stats), None


def _check_evidence(claim: Claim, index: RecordIndex, check: Check) -> tuple[Evidence, str | None]:
    for scale in [s for s in SCALE_ORDER if s in claim.scales]:
        value = index.get(Cell.build(check.task, check.method.name, 0, scale, check.task_params, check.method.params), check.metric)
        if value is not None:
            ok = _CMP[check.op](value, check.value)
            return Evidence(check.task, check.label(), SUPPORTED if ok else REFUTED, f"{check.metric}={value:.6g}", scale, value=value), None
    scale = [s for s in SCALE_ORDER if s in claim.scales][-1]
    return (
        Evidence(check.task, check.label(), INCONCLUSIVE, "cell missing"),
        run_command(claim, scale),
    )


def judge(claim: Claim, index: RecordIndex) -> Verdict:
    if claim.kind == "value":
        results = [_check_evidence(claim, index, c) for c in claim.checks]
    else:
        results = [_paired_evidence(claim, index, t, c) for t in claim.tasks for c in claim.comparisons]
    evidence = [e for e, _ in results]
    commands = list(dict.fromkeys(c for _, c in results if c))
    refuted = [e for e in evidence if e.verdict == REFUTED]
    unsure = [e for e in evidence if e.verdict == INCONCLUSIVE]
    if refuted:
        return Verdict(claim, REFUTED, f"refuted on {refuted[0].task}: {refuted[0].what}", evidence, commands)
    if unsure:
        return Verdict(claim, INCONCLUSIVE, f"{unsure[0].task}: {unsure[0].reason}", evidence, commands)
    return Verdict(claim, SUPPORTED, f"all {len(evidence)} comparison(s) hold", evidence, commands)


def judge_all(claims: list[Claim], records: Any) -> list[Verdict]:
    index = RecordIndex(records)
    return [judge(c, index) for c in claims]


def verdicts_from_store(claims: list[Claim], store: Any) -> list[Verdict]:
    """The verdicts of ``claims``, from one read of the records of the tasks they test."""
    return judge_all(claims, store.load(claim_tasks(claims))) if claims else []
