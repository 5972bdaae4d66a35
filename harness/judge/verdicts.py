"""Claim verdicts computed from stored records: supported, refuted or inconclusive (and why).

A paired comparison of A and B on a task is tested one-sided against the claim's margin δ
(``min_delta``), over shared seeds (paired t) or over test examples (paired bootstrap, claims
with ``pairing = "examples"``). In terms of the difference Δ = A − B:

==========  =====================  =======================
operator    supported when         refuted when
==========  =====================  =======================
``A > B``   Δ > δ significantly    Δ < 0 significantly
``A >= B``  Δ > −δ significantly   Δ < −δ significantly
``A < B``   Δ < −δ significantly   Δ > 0 significantly
``A <= B``  Δ < δ significantly    Δ > δ significantly
==========  =====================  =======================

"Significantly" is a one-sided test at 2.5 % (the two-sided 95 % interval), with Holm's
correction over all the comparisons that decide one claim, and the corrected p is printed.
A difference that is significant but inside the margin of ``A > B`` is labelled *within
margin*. A comparison is *inconclusive* — and so is its claim — when cells are missing, a seed
failed ("k of n seeds failed"), fewer than ``min_seeds`` seeds are shared, the interval is
degenerate (the same difference on every seed), or the records are below the scale at which the
claim counts for that task (then it is shown as an *indication* only). The claim is refuted
when any comparison is refuted, supported when all are, inconclusive otherwise; an
inconclusive verdict carries the one command that runs every cell it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.plan.cells import Cell
from harness.plan.contract import SCALE_ORDER
from harness.judge.claim_cells import Side
from harness.judge.claims import Check, Claim, Comparison, claim_tasks
from harness.judge.stats import Paired, holm, paired, paired_bootstrap

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
WITHIN_MARGIN, INDICATION = "within margin", "indication"
ALPHA = 0.025  # one-sided; the two-sided 95 % interval


@dataclass
class Evidence:
    task: str
    what: str  # the comparison or check, as text
    verdict: str
    reason: str
    scale: str = ""
    stats: Paired | None = None
    value: float | None = None
    p_adjusted: float | None = None  # Holm-corrected one-sided p of the decision taken
    tolerance: float | None = None  # the margin of a >= / <= comparison


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    @property
    def scales(self) -> list[str]:
        """The scales the deciding evidence came from (indications excluded)."""
        return sorted({e.scale for e in self.evidence if e.scale and e.verdict != INDICATION}, key=SCALE_ORDER.index)


class RecordIndex:
    """``(cell_key, metric) → value``, the seeds/scales present per task, and (with a store)
    which cells failed and their stored predictions."""

    def __init__(self, records: Any, store: Any = None) -> None:
        self.values: dict[tuple[str, str], float] = {}
        self.seeds: dict[tuple[str, str], set[int]] = {}
        self.store = store
        if len(records):
            for key, metric, value in zip(records["cell_key"], records["metric"], records["value"]):
                self.values[(key, metric)] = float(value)
            for task, scale, seed in set(zip(records["task"], records["scale"], records["seed"])):
                self.seeds.setdefault((task, scale), set()).add(int(seed))

    def get(self, cell: Cell, metric: str) -> float | None:
        return self.values.get((cell.key, metric))

    def scales_of(self, task: str) -> set[str]:
        return {scale for (t, scale) in self.seeds if t == task}

    def failed(self, cell: Cell) -> bool:
        return self.store is not None and self.store.has_failed(cell)


def run_command(claim: Claim, scale: str) -> str:
    """The one command that runs every cell ``claim`` needs at ``scale`` (cached cells are skipped)."""
    return f"harness run --claims {claim.id} --scale {scale}"


def _bars(op: str, delta: float) -> tuple[float, bool, float, bool]:
    """(support bar, support direction is 'above', refute bar, refute direction is 'above')."""
    return {
        ">": (delta, True, 0.0, False),
        ">=": (-delta, True, -delta, False),
        "<": (-delta, False, 0.0, True),
        "<=": (delta, False, delta, True),
    }[op]


def _example_stats(index: RecordIndex, claim: Claim, task: str, cmp: Comparison, a: dict[int, Cell], b: dict[int, Cell]) -> Paired | str:
    """Paired bootstrap over the test examples, averaged over the shared seeds; or why not."""
    from harness.plan import registry

    task_cls = registry.get_task(task)
    metric_fns, sizes = [], set()
    for side, cells in ((cmp.a, a), (cmp.b, b)):
        fns = []
        for cell in cells.values():  # each cell's predictions read once
            frame = index.store.load_predictions(cell.key) if index.store is not None else None
            fn = task_cls.example_metric(frame, side.metric or claim.metric) if frame is not None else None
            if fn is None:
                return f"no per-example predictions for {side.label()} (pairing over examples needs them)"
            fns.append(fn)
            sizes.add(len(frame))
        metric_fns.append(fns)
    if len(sizes) != 1:
        return "per-example predictions differ in length between the sides"

    def mean_of(fns: list[Any]) -> Any:
        return lambda idx: sum(f(idx) for f in fns) / len(fns)

    return paired_bootstrap(mean_of(metric_fns[0]), mean_of(metric_fns[1]), sizes.pop())


def _paired_evidence(claim: Claim, index: RecordIndex, task: str, cmp: Comparison) -> tuple[Evidence, str | None]:
    deciding = [s for s in SCALE_ORDER if s in claim.deciding_scales(task)]
    present = index.scales_of(task)
    usable = [s for s in deciding if s in present]
    lowest_deciding = deciding[-1] if deciding else "small"
    if usable:
        scale, indication = usable[0], False
    else:
        below = [s for s in SCALE_ORDER if s in present]
        if not below:
            return Evidence(task, cmp.label(), INCONCLUSIVE, f"no records at scale {'/'.join(deciding)}"), run_command(claim, lowest_deciding)
        scale, indication = below[0], True
    hint = run_command(claim, scale if not indication else lowest_deciding)
    seeds = sorted(index.seeds.get((task, scale), set()) | set(range(claim.min_seeds)))
    cells_a = Side(task, cmp.a, claim.task_params).cells(seeds, scale)
    cells_b = Side(task, cmp.b, claim.task_params).cells(seeds, scale)
    a = {s: v for s, c in cells_a.items() if (v := index.get(c, cmp.a.metric or claim.metric)) is not None}
    b = {s: v for s, c in cells_b.items() if (v := index.get(c, cmp.b.metric or claim.metric)) is not None}
    failed = sorted({s for s in seeds if (s not in a and index.failed(cells_a[s])) or (s not in b and index.failed(cells_b[s]))})
    if failed:
        why = f"{len(failed)} of {len(set(a) | set(b) | set(failed))} seeds failed (seed {', '.join(map(str, failed))}); rerun them before deciding"
        return Evidence(task, cmp.label(), INCONCLUSIVE, why, scale), hint
    missing = [s for s, series in ((cmp.a, a), (cmp.b, b)) if not series]
    if missing:
        why = f"cells missing: {', '.join(s.label() for s in missing)} at scale {scale}"
        return Evidence(task, cmp.label(), INCONCLUSIVE, why, scale), hint
    shared = sorted(set(a) & set(b))
    if len(shared) < claim.min_seeds:
        why = f"too few shared seeds: n={len(shared)} < {claim.min_seeds}"
        return Evidence(task, cmp.label(), INCONCLUSIVE, why, scale), hint
    if claim.pairing == "examples":
        stats = _example_stats(index, claim, task, cmp, {s: cells_a[s] for s in shared}, {s: cells_b[s] for s in shared})
        if isinstance(stats, str):
            return Evidence(task, cmp.label(), INCONCLUSIVE, stats, scale), hint
    else:
        stats = paired([a[s] for s in shared], [b[s] for s in shared])
    if stats.degenerate:
        why = f"degenerate interval: the difference is {stats.diff:+.4g} on all {stats.n} seeds (no spread to test)"
        return Evidence(task, cmp.label(), INCONCLUSIVE, why, scale, stats), hint
    tolerance = claim.min_delta if cmp.op in (">=", "<=") else None
    if indication:
        why = f"indication at scale {scale} (the claim counts at {'/'.join(deciding)} for {task}): {_describe(stats)}"
        return Evidence(task, cmp.label(), INDICATION, why, scale, stats, tolerance=tolerance), hint
    return Evidence(task, cmp.label(), "", "", scale, stats, tolerance=tolerance), None


def _describe(stats: Paired, p: float | None = None) -> str:
    over = "t over seeds" if stats.over == "seeds" else "bootstrap over test examples"
    p_text = f" p(Holm)={p:.3g}" if p is not None else ""
    return f"Δ={stats.diff:+.4f} [{stats.lo:+.4f}, {stats.hi:+.4f}] n={stats.n}{p_text} ({over})"


def _decide(claim: Claim, pending: list[tuple[Evidence, Comparison]]) -> None:
    """Holm-corrected one-sided decisions for the comparisons that decide the claim (in place)."""
    bars = [_bars(cmp.op, claim.min_delta) for _, cmp in pending]
    p_support = holm([e.stats.tail(b[0], b[1]) for (e, _), b in zip(pending, bars)])  # type: ignore[union-attr]
    p_refute = holm([e.stats.tail(b[2], b[3]) for (e, _), b in zip(pending, bars)])  # type: ignore[union-attr]
    p_direction = holm([e.stats.tail(0.0, cmp.op == ">") for e, cmp in pending])  # type: ignore[union-attr]
    for (e, cmp), ps, pr, pd in zip(pending, p_support, p_refute, p_direction):
        tol = f"; tolerance {claim.min_delta:g}" if e.tolerance is not None else ""
        if ps < ALPHA:
            e.verdict, e.p_adjusted = SUPPORTED, ps
        elif pr < ALPHA:
            e.verdict, e.p_adjusted = REFUTED, pr
        elif cmp.op in (">", "<") and claim.min_delta > 0 and pd < ALPHA:
            e.verdict, e.p_adjusted = WITHIN_MARGIN, pd
            e.reason = f"significant but within the margin {claim.min_delta:g}: {_describe(e.stats, pd)}"  # type: ignore[arg-type]
            continue
        else:
            e.verdict, e.p_adjusted = INCONCLUSIVE, min(ps, pr)
            e.reason = f"effect inside noise: {_describe(e.stats, e.p_adjusted)}{tol}"  # type: ignore[arg-type]
            continue
        e.reason = _describe(e.stats, e.p_adjusted) + tol  # type: ignore[arg-type]


def _check_evidence(claim: Claim, index: RecordIndex, check: Check) -> tuple[Evidence, str | None]:
    for scale in [s for s in SCALE_ORDER if s in claim.deciding_scales(check.task)]:
        value = index.get(Cell.build(check.task, check.method.name, 0, scale, check.task_params, check.method.params), check.metric)
        if value is not None:
            why = f"measured {check.metric}={value:.10g}, stated {check.value:.10g}" + (f" (|Δ|={abs(value - check.value):.3g})" if check.tolerance is not None else "")
            return Evidence(check.task, check.label(), SUPPORTED if check.holds(value) else REFUTED, why, scale, value=value), None
    scale = [s for s in SCALE_ORDER if s in claim.scales][-1]
    return Evidence(check.task, check.label(), INCONCLUSIVE, "cell missing"), run_command(claim, scale)


def judge(claim: Claim, index: RecordIndex) -> Verdict:
    if claim.kind == "value":
        results = [_check_evidence(claim, index, c) for c in claim.checks]
    else:
        pairs = [(t, c) for t in claim.tasks for c in claim.comparisons]
        results = [_paired_evidence(claim, index, t, c) for t, c in pairs]
        _decide(claim, [(e, c) for (e, _), (_, c) in zip(results, pairs) if e.verdict == ""])
    evidence = [e for e, _ in results]
    commands = list(dict.fromkeys(c for _, c in results if c))  # one per scale still needed
    refuted = [e for e in evidence if e.verdict == REFUTED]
    open_ = [e for e in evidence if e.verdict != SUPPORTED]
    if refuted:
        return Verdict(claim, REFUTED, f"refuted on {refuted[0].task}: {refuted[0].what}", evidence, commands)
    if open_:
        return Verdict(claim, INCONCLUSIVE, f"{open_[0].task}: {open_[0].verdict}: {open_[0].reason}", evidence, commands)
    return Verdict(claim, SUPPORTED, f"all {len(evidence)} comparison(s) hold", evidence, commands)


def judge_all(claims: list[Claim], records: Any, store: Any = None) -> list[Verdict]:
    index = RecordIndex(records, store)
    return [judge(c, index) for c in claims]


def verdicts_from_store(claims: list[Claim], store: Any) -> list[Verdict]:
    """The verdicts of ``claims``, from one read of the records of the tasks they test (and the
    store's failure records and per-example predictions where a claim needs them)."""
    return judge_all(claims, store.load(claim_tasks(claims)), store) if claims else []
