"""Verdicts as text (the terminal, the committed pages) and as JSON (``harness claims --format json``)."""

from __future__ import annotations

import json

from harness.judge.claims import Claim
from harness.judge.verdicts import Verdict

MARK = {"supported": "✔ supported", "refuted": "✘ refuted", "inconclusive": "? inconclusive", "not reproduced": "✘ not reproduced"}
SIDE = {"article": "the articles' own claims", "paper": "claims of the papers the articles discuss"}


def protocol_text(claim: Claim) -> str:
    """``backbone=…; data=…`` — what the cells test, as the claim states it."""
    return "; ".join(f"{k}={v}" for k, v in claim.protocol.items())


def verdict_lines(verdicts: list[Verdict], markdown: bool = False) -> list[str]:
    lines: list[str] = []
    for v in verdicts:
        c = v.claim
        at = f" at {'/'.join(v.scales)}" if v.scales else ""
        side = " (the paper's claim)" if c.side == "paper" else ""
        head = f"[{MARK[v.verdict]}{at}] {c.id}{side} — {c.sentence}"
        lines.append(f"- **{MARK[v.verdict]}{at}** `{c.id}`{side} — {c.sentence}" if markdown else head)
        lines.append(f"    source: {c.title}" + (f", {c.url}" if c.url else "") + (f" ({c.date})" if c.date else ""))
        if c.protocol:
            lines.append(f"    protocol: {protocol_text(c)}")
        if v.verdict == "not reproduced":
            lines.append(f"    {v.reason}")
        for e in v.evidence:
            scale = f" [{e.scale}]" if e.scale else ""
            lines.append(f"    {e.verdict:<13} {e.task}: {e.what}{scale} — {e.reason}")
        if c.published:
            pubs = ", ".join(f"{k} {val:g}" for k, val in c.published.items())
            if published_beside(v):
                lines.append(f"    published ({c.published_label or 'article'}): {pubs}")
            else:
                lines.append(f"    published numbers ({c.published_label or 'article'}) come from another protocol than these "
                             f"cells: not shown here (the family page lists them apart)")
        if c.note:
            lines.append(f"    note: {c.note}")
        lines += [f"    to complete: {cmd}" for cmd in v.commands]
    return lines


def published_beside(verdict: Verdict) -> bool:
    """Whether the claim's published numbers describe the protocol of its deciding cells: the
    published task, at the published scale and task params, among the evidence."""
    from harness.plan import registry
    from harness.plan.cells import default_params

    c = verdict.claim
    if not c.published_task:
        return False
    params = {**default_params(registry.get_task(c.published_task)), **c.task_params}
    return all(params.get(k) == v for k, v in c.published_task_params.items()) and any(
        e.task == c.published_task and e.scale == c.published_scale and e.verdict not in ("indication", "excluded")
        for e in verdict.evidence)


def tally_lines(verdicts: list[Verdict]) -> list[str]:
    """Counts of verdicts by whose claim it is: a refuted claim of a paper the article disputes
    is the article's point, not a failure of it."""
    out = []
    for side, label in SIDE.items():
        mine = [v.verdict for v in verdicts if v.claim.side == side]
        if mine:
            counts = ", ".join(f"{mine.count(k)} {k}" for k in MARK if mine.count(k))
            out.append(f"{label}: {counts}")
    return out


def verdicts_json(verdicts: list[Verdict]) -> str:
    out = []
    for v in verdicts:
        out.append(
            {
                "id": v.claim.id,
                "verdict": v.verdict,
                "scales": v.scales,
                "reason": v.reason,
                "side": v.claim.side,
                "protocol": v.claim.protocol,
                "seeds_needed": v.seeds_needed,
                "source": {"title": v.claim.title, "url": v.claim.url, "date": v.claim.date},
                "evidence": [
                    {
                        "task": e.task,
                        "what": e.what,
                        "verdict": e.verdict,
                        "reason": e.reason,
                        "scale": e.scale,
                        **({"diff": e.stats.diff, "ci": [e.stats.lo, e.stats.hi], "n": e.stats.n, "over": e.stats.over} if e.stats else {}),
                        **({"p_holm": e.p_adjusted} if e.p_adjusted is not None else {}),
                        **({"tolerance": e.tolerance} if e.tolerance is not None else {}),
                        **({"value": e.value} if e.value is not None else {}),
                        **({"seeds_needed": e.seeds_needed} if e.seeds_needed is not None else {}),
                    }
                    for e in v.evidence
                ],
                "commands": v.commands,
            }
        )
    return json.dumps(out, indent=1, ensure_ascii=False, default=float)
