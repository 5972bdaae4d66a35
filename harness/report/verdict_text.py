"""Verdicts as text (the terminal, the committed pages) and as JSON (``harness claims --format json``)."""

from __future__ import annotations

import json

from harness.judge.verdicts import Verdict

MARK = {"supported": "✔ supported", "refuted": "✘ refuted", "inconclusive": "? inconclusive"}


def verdict_lines(verdicts: list[Verdict], markdown: bool = False) -> list[str]:
    lines: list[str] = []
    for v in verdicts:
        c = v.claim
        at = f" at {'/'.join(v.scales)}" if v.scales else ""
        head = f"[{MARK[v.verdict]}{at}] {c.id} — {c.sentence}"
        lines.append(f"- **{MARK[v.verdict]}{at}** `{c.id}` — {c.sentence}" if markdown else head)
        lines.append(f"    source: {c.title}, {c.url} ({c.date})")
        for e in v.evidence:
            scale = f" [{e.scale}]" if e.scale else ""
            lines.append(f"    {e.verdict:<13} {e.task}: {e.what}{scale} — {e.reason}")
        if c.published:
            pubs = ", ".join(f"{k} {val:g}" for k, val in c.published.items())
            lines.append(f"    published ({c.published_label or 'article'}): {pubs}")
        if c.note:
            lines.append(f"    note: {c.note}")
        lines += [f"    to complete: {cmd}" for cmd in v.commands]
    return lines


def verdicts_json(verdicts: list[Verdict]) -> str:
    out = []
    for v in verdicts:
        out.append(
            {
                "id": v.claim.id,
                "verdict": v.verdict,
                "scales": v.scales,
                "reason": v.reason,
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
                    }
                    for e in v.evidence
                ],
                "commands": v.commands,
            }
        )
    return json.dumps(out, indent=1, ensure_ascii=False, default=float)
