"""Claim verdicts computed from stored records: supported, refuted, not reproduced or
inconclusive (and why, and what would decide it).

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
margin*. A comparison is *inconclusive* when cells are missing, a seed failed, fewer than
``min_seeds`` seeds are shared, the interval is degenerate, or the effect is inside the noise;
then it says how many seeds would decide it at the observed effect and spread. Records below
the scale at which the claim counts are an *indication* only. A refutation built on a cell whose
model was still improving at its last epoch is held back (inconclusive): it cannot refute (a
comparison of speeds can: how fast a model trains does not depend on whether it converged).

How the comparisons make the claim: ``require = "all"`` (default) — refuted when any comparison
is refuted, supported when all are; ``"most"`` — supported when more than half are, refuted when
at least half are refuted. ``aggregate = "mean"`` compares the per-seed mean over the tasks
instead of each task (a sentence about the average). ``unlearned_baseline`` leaves out, and
names, the tasks where no compared method beats a trivial baseline metric of the same cells.
``across = "increasing"`` tests that the effect A − B grows from each listed task to the next
(CAN's gain with the number of classes), paired over the seeds the two tasks share;
``largest_on`` tests that it is larger on each named task than on every other one (8847's
largest gaps on PAWSX and STS-B), in the same way. A refutation
under a protocol that differs from the article's in what the sentence depends on (``depends_on``)
is worded *not reproduced with …*, never *refuted*.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from harness.judge.claim_cells import Side
from harness.judge.claims import Check, Claim, Comparison, claim_tasks
from harness.judge.stats import Paired, holm, paired, paired_bootstrap, seeds_to_decide
from harness.plan.cells import Cell
from harness.plan.contract import SCALE_ORDER
from harness.plan.metrics import measures_time

SUPPORTED, REFUTED, INCONCLUSIVE, NOT_REPRODUCED = "supported", "refuted", "inconclusive", "not reproduced"
WITHIN_MARGIN, INDICATION, EXCLUDED = "within margin", "indication", "excluded"
ALPHA = 0.025  # one-sided; the two-sided 95 % interval
MAX_SEEDS_SHOWN = 200  # a comparison needing more seeds than this is "no practical number decides it"


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
    seeds_needed: int | None = None  # seeds that would decide it at the observed effect and spread
    improving: int = 0  # cells whose best epoch was their last (still improving when they stopped)


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
        return sorted({e.scale for e in self.evidence if e.scale and e.verdict not in (INDICATION, EXCLUDED)},
                      key=SCALE_ORDER.index)

    @property
    def seeds_needed(self) -> int | None:
        """Seeds per cell that would decide the open comparisons at the observed effects."""
        needed = [e.seeds_needed for e in self.evidence if e.verdict == INCONCLUSIVE and e.seeds_needed]
        return max(needed) if needed else None


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

    def improving(self, cell: Cell) -> bool:
        """Whether the cell kept its last epoch as its best: still improving when it stopped."""
        from harness.plan import registry

        best = self.get(cell, "best_epoch")
        last = registry.get_task(cell.task).last_epoch(cell.scale, cell.task_params)
        return best is not None and last is not None and best >= last


def run_command(claim: Claim, scale: str, seeds: int | None = None) -> str:
    """The one command that runs every cell ``claim`` needs at ``scale`` (cached cells are skipped)."""
    more = f" --seeds 0-{seeds - 1}" if seeds else ""
    if claim.source == "--claim":  # typed on the command line: it is not registered under its id
        return f"the same harness run with --scale {scale}{more or ' --seeds auto'}"
    return f"harness run --claims {claim.id} --scale {scale}{more}"


def _bars(op: str, delta: float) -> tuple[float, bool, float, bool]:
    """(support bar, support direction is 'above', refute bar, refute direction is 'above')."""
    return {
        ">": (delta, True, 0.0, False),
        ">=": (-delta, True, -delta, False),
        "<": (-delta, False, 0.0, True),
        "<=": (delta, False, delta, True),
    }[op]


# -- gathering the series of one comparison --------------------------------------------------
@dataclass
class Series:
    """The per-seed values of both sides of one comparison, on one task or averaged over tasks."""

    task: str
    scale: str
    indication: bool
    a: dict[int, float]
    b: dict[int, float]
    cells_a: dict[int, Cell]
    cells_b: dict[int, Cell]
    deciding: tuple[str, ...] = ()

    @property
    def shared(self) -> list[int]:
        return sorted(set(self.a) & set(self.b))


def _scale_for(claim: Claim, index: RecordIndex, task: str) -> tuple[str, bool] | None:
    """The largest deciding scale with records, else the largest scale below (an indication)."""
    deciding = [s for s in SCALE_ORDER if s in claim.deciding_scales(task)]
    present = index.scales_of(task)
    usable = [s for s in deciding if s in present]
    if usable:
        return usable[0], False
    below = [s for s in SCALE_ORDER if s in present]
    return (below[0], True) if below else None


def _values(index: RecordIndex, cells: dict[int, Cell], metric: str) -> dict[int, float]:
    return {s: v for s, c in cells.items() if (v := index.get(c, metric)) is not None}


def _gather(claim: Claim, index: RecordIndex, task: str, cmp: Comparison) -> Series | tuple[Evidence, str]:
    """Both sides' per-seed values on ``task``, or the evidence saying why not and the command."""
    deciding = tuple(s for s in SCALE_ORDER if s in claim.deciding_scales(task))
    lowest = deciding[-1] if deciding else "small"
    found = _scale_for(claim, index, task)
    if found is None:
        return Evidence(task, cmp.label(), INCONCLUSIVE, f"no records at scale {'/'.join(deciding)}"), run_command(claim, lowest)
    scale, indication = found
    hint = run_command(claim, lowest if indication else scale)
    nothing = Evidence(task, cmp.label(), INCONCLUSIVE, f"no records at scale {'/'.join(deciding)}")  # below it, nothing usable
    seeds = sorted(index.seeds.get((task, scale), set()) | set(range(claim.min_seeds)))
    cells_a = Side(task, cmp.a, claim.task_params).cells(seeds, scale)
    cells_b = Side(task, cmp.b, claim.task_params).cells(seeds, scale)
    a, b = _values(index, cells_a, cmp.a.metric or claim.metric), _values(index, cells_b, cmp.b.metric or claim.metric)
    failed = sorted({s for s in seeds if (s not in a and index.failed(cells_a[s])) or (s not in b and index.failed(cells_b[s]))})
    if failed:
        why = f"{len(failed)} of {len(set(a) | set(b) | set(failed))} seeds failed (seed {', '.join(map(str, failed))}); rerun them before deciding"
        return (nothing if indication else Evidence(task, cmp.label(), INCONCLUSIVE, why, scale)), hint
    missing = [s for s, series in ((cmp.a, a), (cmp.b, b)) if not series]
    if missing:
        why = f"cells missing: {', '.join(s.label() for s in missing)} at scale {scale}"
        return (nothing if indication else Evidence(task, cmp.label(), INCONCLUSIVE, why, scale)), hint
    series = Series(task, scale, indication, a, b, cells_a, cells_b, deciding)
    if len(series.shared) < claim.min_seeds:
        why = f"too few shared seeds: n={len(series.shared)} < {claim.min_seeds}"
        return (nothing if indication else Evidence(task, cmp.label(), INCONCLUSIVE, why, scale)), hint
    return series


def _unlearned(claim: Claim, index: RecordIndex, series: Series) -> bool:
    """No compared method beats the trivial baseline metric of its own cells on this task."""
    if not claim.unlearned_baseline:
        return False
    for values, cells in ((series.a, series.cells_a), (series.b, series.cells_b)):
        base = _values(index, cells, claim.unlearned_baseline)
        if base and statistics.fmean(values.values()) > statistics.fmean(base.values()):
            return False
    return True


def _mean_over_tasks(parts: list[Series], claim: Claim, cmp: Comparison) -> Series | tuple[Evidence, str]:
    """One series whose value per seed is the mean over the tasks (seeds shared by all tasks)."""
    label = f"mean of {', '.join(p.task for p in parts)}"
    seeds = sorted(set.intersection(*(set(p.shared) for p in parts)))
    if len(seeds) < claim.min_seeds:
        scale = parts[0].scale
        return Evidence(label, cmp.label(), INCONCLUSIVE, f"too few seeds shared by every task: n={len(seeds)} < {claim.min_seeds}", scale), run_command(claim, scale)
    a = {s: statistics.fmean(p.a[s] for p in parts) for s in seeds}
    b = {s: statistics.fmean(p.b[s] for p in parts) for s in seeds}
    cells_a = {s: c for p in parts for s, c in p.cells_a.items() if s in seeds}
    cells_b = {s: c for p in parts for s, c in p.cells_b.items() if s in seeds}
    return Series(label, parts[0].scale, any(p.indication for p in parts), a, b, cells_a, cells_b, parts[0].deciding)


def _effect_contrast(lower: Series, higher: Series, min_seeds: int) -> Series | None:
    """A series whose "sides" are the effect A − B on ``higher`` and on ``lower``, per shared seed."""
    seeds = sorted(set(lower.shared) & set(higher.shared))
    if len(seeds) < min_seeds:
        return None
    effect = {s: higher.a[s] - higher.b[s] for s in seeds}
    baseline = {s: lower.a[s] - lower.b[s] for s in seeds}
    return Series(f"{higher.task} vs {lower.task}", higher.scale, lower.indication or higher.indication, effect, baseline,
                  {s: higher.cells_a[s] for s in seeds}, {s: lower.cells_a[s] for s in seeds}, higher.deciding)


def _example_stats(index: RecordIndex, claim: Claim, series: Series, cmp: Comparison) -> Paired | str:
    """Paired bootstrap over the test examples, averaged over the shared seeds; or why not."""
    from harness.plan import registry

    task_cls = registry.get_task(series.task)
    metric_fns, sizes = [], set()
    for side, cells in ((cmp.a, series.cells_a), (cmp.b, series.cells_b)):
        fns = []
        for seed in series.shared:  # each cell's predictions read once
            frame = index.store.load_predictions(cells[seed].key) if index.store is not None else None
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


def _evidence(claim: Claim, index: RecordIndex, series: Series, cmp: Comparison) -> tuple[Evidence, str | None]:
    hint = run_command(claim, series.deciding[-1] if series.indication and series.deciding else series.scale)
    if claim.pairing == "examples" and not claim.aggregate and not claim.across and not claim.largest_on:
        stats = _example_stats(index, claim, series, cmp)
        if isinstance(stats, str):
            return Evidence(series.task, cmp.label(), INCONCLUSIVE, stats, series.scale), hint
    else:
        stats = paired([series.a[s] for s in series.shared], [series.b[s] for s in series.shared])
    timed = all(measures_time(side.metric or claim.metric) for side in (cmp.a, cmp.b))  # a speed says nothing of convergence
    improving = 0 if timed else sum(index.improving(c) for cells in (series.cells_a, series.cells_b)
                                    for s, c in cells.items() if s in series.shared)
    tolerance = claim.min_delta if cmp.op in (">=", "<=") else None
    evidence = Evidence(series.task, cmp.label(), "", "", series.scale, stats, tolerance=tolerance, improving=improving)
    if stats.degenerate:
        evidence.verdict = INCONCLUSIVE
        evidence.reason = f"degenerate interval: the difference is {stats.diff:+.4g} on all {stats.n} seeds (no spread to test)"
        return evidence, hint
    if series.indication:
        evidence.verdict = INDICATION
        evidence.reason = f"indication at scale {series.scale} (the claim counts at {'/'.join(series.deciding)} for {series.task}): {_describe(stats)}"
        return evidence, hint
    return evidence, None


def _describe(stats: Paired, p: float | None = None) -> str:
    over = "t over seeds" if stats.over == "seeds" else "bootstrap over test examples"
    p_text = f" p(Holm)={p:.3g}" if p is not None else ""
    return f"Δ={stats.diff:+.4f} [{stats.lo:+.4f}, {stats.hi:+.4f}] n={stats.n}{p_text} ({over})"


# -- deciding ----------------------------------------------------------------------------------
def _decide(claim: Claim, pending: list[tuple[Evidence, Comparison]]) -> None:
    """Holm-corrected one-sided decisions for the comparisons that decide the claim (in place)."""
    bars = [_bars(cmp.op, claim.min_delta) for _, cmp in pending]
    p_support = holm([e.stats.tail(b[0], b[1]) for (e, _), b in zip(pending, bars)])  # type: ignore[union-attr]
    p_refute = holm([e.stats.tail(b[2], b[3]) for (e, _), b in zip(pending, bars)])  # type: ignore[union-attr]
    p_direction = holm([e.stats.tail(0.0, cmp.op == ">") for e, cmp in pending])  # type: ignore[union-attr]
    for (e, cmp), bar, ps, pr, pd in zip(pending, bars, p_support, p_refute, p_direction):
        assert e.stats is not None
        tol = f"; tolerance {claim.min_delta:g}" if e.tolerance is not None else ""
        if ps < ALPHA:
            e.verdict, e.p_adjusted, e.reason = SUPPORTED, ps, _describe(e.stats, ps) + tol
        elif pr < ALPHA and e.improving:
            e.verdict, e.p_adjusted = INCONCLUSIVE, pr
            e.reason = (f"cannot refute: {e.improving} of the cells were still improving at their last epoch "
                        f"(best epoch = last); train longer: {_describe(e.stats, pr)}")
        elif pr < ALPHA:
            e.verdict, e.p_adjusted, e.reason = REFUTED, pr, _describe(e.stats, pr) + tol
        elif cmp.op in (">", "<") and claim.min_delta > 0 and pd < ALPHA:
            e.verdict, e.p_adjusted = WITHIN_MARGIN, pd
            e.reason = f"significant but within the margin {claim.min_delta:g}: {_describe(e.stats, pd)}"
        else:
            e.verdict, e.p_adjusted = INCONCLUSIVE, min(ps, pr)
            e.reason = f"effect inside noise: {_describe(e.stats, e.p_adjusted)}{tol}"
            if e.stats.over == "seeds":
                e.seeds_needed = seeds_to_decide(e.stats, (bar[0], bar[2]), ALPHA / max(1, len(pending)), MAX_SEEDS_SHOWN)
                e.reason += f"; {_needed_text(e.seeds_needed)}"


def _needed_text(seeds: int | None) -> str:
    if seeds is None:
        return f"no number of seeds up to {MAX_SEEDS_SHOWN} decides it at this effect and spread"
    return f"about {seeds} seeds would decide it at this effect and spread"


def _check_evidence(claim: Claim, index: RecordIndex, check: Check) -> tuple[Evidence, str | None]:
    for scale in [s for s in SCALE_ORDER if s in claim.deciding_scales(check.task)]:
        value = index.get(Side(check.task, check.method, check.task_params).cell(0, scale), check.metric)
        if value is not None:
            why = f"measured {check.metric}={value:.10g}, stated {check.value:.10g}" + (f" (|Δ|={abs(value - check.value):.3g})" if check.tolerance is not None else "")
            return Evidence(check.task, check.label(), SUPPORTED if check.holds(value) else REFUTED, why, scale, value=value), None
    scale = [s for s in SCALE_ORDER if s in claim.scales][-1]
    return Evidence(check.task, check.label(), INCONCLUSIVE, "cell missing"), run_command(claim, scale)


def _contrasted(claim: Claim, usable: list[Series]) -> list[tuple[Series, Series]]:
    """The (lower, higher) task pairs whose effects a cross-task claim compares."""
    if claim.across:
        return list(zip(usable, usable[1:]))
    top = [s for s in usable if s.task in claim.largest_on]
    return [(low, high) for high in top for low in usable if low.task not in claim.largest_on]


def _paired_results(claim: Claim, index: RecordIndex) -> list[tuple[Evidence, str | None, Comparison | None]]:
    out: list[tuple[Evidence, str | None, Comparison | None]] = []
    for cmp in claim.comparisons:
        usable: list[Series] = []
        for task in claim.tasks:
            got = _gather(claim, index, task, cmp)
            if isinstance(got, tuple):
                out.append((got[0], got[1], None))
            elif _unlearned(claim, index, got):
                why = f"left out: no compared method beats {claim.unlearned_baseline} on {task} (nothing learned there)"
                out.append((Evidence(task, cmp.label(), EXCLUDED, why, got.scale), None, None))
            elif claim.aggregate or claim.across or claim.largest_on:
                usable.append(got)
            else:
                evidence, hint = _evidence(claim, index, got, cmp)
                out.append((evidence, hint, cmp))
        if claim.across or claim.largest_on:
            for lower, higher in _contrasted(claim, usable):
                contrast = _effect_contrast(lower, higher, claim.min_seeds)
                if contrast is None:
                    why = f"too few seeds shared by {lower.task} and {higher.task}: n < {claim.min_seeds}"
                    out.append((Evidence(f"{higher.task} vs {lower.task}", f"effect of {cmp.label()}", INCONCLUSIVE, why, higher.scale),
                                run_command(claim, higher.scale), None))
                else:
                    evidence, hint = _evidence(claim, index, contrast, cmp)
                    evidence.what = f"effect of {cmp.label()} on {higher.task} > on {lower.task}"
                    out.append((evidence, hint, Comparison(cmp.a, ">", cmp.b)))
        if claim.aggregate and usable:
            if any(e.verdict == INCONCLUSIVE for e, _, _ in out):  # the mean over a subset would be another claim
                continue
            mean = _mean_over_tasks(usable, claim, cmp)
            out.append((mean[0], mean[1], None) if isinstance(mean, tuple) else (*_evidence(claim, index, mean, cmp), cmp))
    return out


def judge(claim: Claim, index: RecordIndex) -> Verdict:
    if claim.kind == "value":
        results = [(*_check_evidence(claim, index, c), None) for c in claim.checks]
    else:
        results = _paired_results(claim, index)
        _decide(claim, [(e, cmp) for e, _, cmp in results if cmp is not None and e.verdict == ""])
    evidence = [e for e, _, _ in results]
    commands = list(dict.fromkeys(c for _, c, _ in results if c))  # one per scale still needed
    verdict = _combine(claim, evidence, commands)
    gap = claim.protocol_gap()
    if verdict.verdict == REFUTED and gap:
        with_ = "; ".join(f"{ours} (the article: {theirs})" for _, ours, theirs in gap)
        verdict.verdict, verdict.reason = NOT_REPRODUCED, f"not reproduced with {with_}: {verdict.reason}"
    if verdict.verdict == INCONCLUSIVE and verdict.seeds_needed:
        scale = next((e.scale for e in evidence if e.seeds_needed), "")
        if scale:
            verdict.commands = list(dict.fromkeys([run_command(claim, scale, verdict.seeds_needed), *verdict.commands]))
    return verdict


def _combine(claim: Claim, evidence: list[Evidence], commands: list[str]) -> Verdict:
    counted = [e for e in evidence if e.verdict != EXCLUDED]
    refuted = [e for e in counted if e.verdict == REFUTED]
    supported = [e for e in counted if e.verdict == SUPPORTED]
    if not counted:
        return Verdict(claim, INCONCLUSIVE, "every task was left out", evidence, commands)
    if claim.require == "most":
        if 2 * len(supported) > len(counted):
            return Verdict(claim, SUPPORTED, f"{len(supported)} of {len(counted)} comparison(s) hold (most)", evidence, commands)
        if 2 * len(refuted) >= len(counted):
            return Verdict(claim, REFUTED, f"{len(refuted)} of {len(counted)} comparison(s) refuted: not most", evidence, commands)
        return Verdict(claim, INCONCLUSIVE, f"{len(supported)} of {len(counted)} hold, {len(refuted)} refuted: most is undecided",
                       evidence, commands)
    if refuted:
        return Verdict(claim, REFUTED, f"refuted on {refuted[0].task}: {refuted[0].what}", evidence, commands)
    open_ = [e for e in counted if e.verdict != SUPPORTED]
    if open_:
        return Verdict(claim, INCONCLUSIVE, f"{open_[0].task}: {open_[0].verdict}: {open_[0].reason}", evidence, commands)
    return Verdict(claim, SUPPORTED, f"all {len(counted)} comparison(s) hold", evidence, commands)


def judge_all(claims: list[Claim], records: Any, store: Any = None) -> list[Verdict]:
    index = RecordIndex(records, store)
    return [judge(c, index) for c in claims]


def verdicts_from_store(claims: list[Claim], store: Any) -> list[Verdict]:
    """The verdicts of ``claims``, from one read of the records of the tasks they test (and the
    store's failure records and per-example predictions where a claim needs them)."""
    return judge_all(claims, store.load(claim_tasks(claims)), store) if claims else []

