"""What each figure was drawn from, and the guard that keeps ``harness plot`` from replacing a
committed figure with one drawn from less.

A figure is only as good as the cells behind it, and the committed ``results/figures`` were drawn
from stores (seeds, scales, per-example predictions) that a local store may not hold. So every
figure ``harness plot`` writes gets an entry in ``figures.json`` beside it: its family and, per
(task · method[params] · scale), the seeds it shows. Writing into the committed folder then
refuses (unless ``--force``) to replace a figure whose new drawing no longer shows a cell the
committed one showed, or a figure with no entry at all (nobody can say what it showed); a folder
named with ``--output`` is always written.

Plotters call :func:`record_sources` with the rows a figure was drawn from; for a plotter that
does not, :func:`fallback_sources` takes every record of the family (of the task, when the file
name names one), which errs on the side of refusing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = "figures.json"

_noted: dict[str, dict[str, list[int]]] = {}  # figure stem -> sources, filled while plotters run


def cell_groups(frame: Any) -> dict[str, list[int]]:
    """``"task · method(k=v,…) · scale"`` → sorted seeds, from record rows (params resolved)."""
    groups: dict[str, set[int]] = {}
    if not len(frame):
        return {}
    for (task, method, scale, params), seeds in frame.groupby(["task", "method", "scale", "params_json"])["seed"]:
        shown = json.loads(params).get("method") or {}
        label = f"{task} · {method}" + (f"({','.join(f'{k}={v}' for k, v in sorted(shown.items()))})" if shown else "") + f" · {scale}"
        groups.setdefault(label, set()).update(int(s) for s in seeds)
    return {k: sorted(v) for k, v in sorted(groups.items())}


def record_sources(paths: list[Path], frame: Any) -> None:
    """Note that the figure files ``paths`` were drawn from the record rows ``frame``."""
    for path in paths:
        _noted[Path(path).stem] = cell_groups(frame)


def take_noted() -> dict[str, dict[str, list[int]]]:
    """The sources noted since the last call (and forget them)."""
    noted = dict(_noted)
    _noted.clear()
    return noted


def fallback_sources(stem: str, family: str, records: Any, task_names: list[str]) -> dict[str, list[int]]:
    """Every record of the task named in ``<family>_<task>_<kind>`` (longest name first), else of
    the family: what a plotter that notes nothing may have drawn from."""
    rest = stem[len(family) + 1:]
    task = next((t for t in sorted(task_names, key=len, reverse=True) if rest == t or rest.startswith(t + "_")), None)
    mine = records[records["task"] == task] if task else records
    return cell_groups(mine)


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        from harness.common.errors import UserError

        raise UserError(f"cannot read {folder / MANIFEST}: {exc}; fix or remove it (then plot with --force)") from exc
    return data if isinstance(data, dict) else {}


def write_manifest(folder: Path, entries: dict[str, Any]) -> Path:
    """Merge ``entries`` into the folder's manifest (others kept), sorted, one stable layout."""
    merged = {**read_manifest(folder), **entries}
    path = folder / MANIFEST
    lines = []
    for stem, entry in sorted(merged.items()):  # one line per group of cells: short, readable diffs
        cells = entry.get("cells", {})
        body = ",\n".join(f"   {json.dumps(g, ensure_ascii=False)}: {json.dumps(s)}" for g, s in sorted(cells.items()))
        lines.append(f" {json.dumps(stem)}: {{\"family\": {json.dumps(entry.get('family'))}, \"cells\": {{\n{body}\n  }}}}")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    return path


def _pairs(sources: dict[str, list[int]]) -> set[tuple[str, int]]:
    return {(group, seed) for group, seeds in sources.items() for seed in seeds}


def lost_cells(old: dict[str, list[int]], new: dict[str, list[int]]) -> list[str]:
    """The cells ``old`` showed that ``new`` does not, as ``"group seed N"``."""
    return [f"{g} seed {s}" for g, s in sorted(_pairs(old) - _pairs(new))]


def refusals(folder: Path, drawn: dict[str, dict[str, Any]]) -> list[str]:
    """One phrase per committed figure that ``drawn`` (stem → new entry) would replace with less:
    its entry's cells not all shown any more, or a file with no entry at all."""
    manifest = read_manifest(folder)
    problems = []
    for stem, entry in sorted(drawn.items()):
        exists = any(folder.glob(f"{stem}.*"))
        if stem in manifest:
            lost = lost_cells(manifest[stem].get("cells", {}), entry["cells"])
            if lost:
                problems.append(f"{stem} would no longer show {len(lost)} cell(s) (e.g. {lost[0]})")
        elif exists:
            problems.append(f"{stem} has no entry in {MANIFEST} (what it was drawn from is unknown)")
    return problems
