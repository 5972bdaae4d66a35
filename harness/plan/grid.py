"""From a run request (CLI flags or a suite file) to the list of cells it means.

``--param focal.gamma=0.5,1,2`` targets one method (or task) by name; ``--param tau=1`` targets
every selected task and method that declares ``tau``. Lists expand to a cartesian grid.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from harness.plan import registry
from harness.plan.contract import Method, Task
from harness.plan.cells import Cell
from harness.common.errors import UserError

_SEEDS = re.compile(r"^\d+(-\d+)?$")


MAX_SEED = 2**32 - 1  # numpy's and torch's seeds are 32-bit
MAX_SEEDS = 10_000  # more seeds in one request is a typo, not an experiment


def parse_seeds(spec: str | int | list[int]) -> list[int]:
    """``"0-4"`` → [0..4]; ``"0,3,7"``; a single int; a TOML list. Seeds are 0..2³²−1, at most 10,000."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        if not 0 <= spec <= MAX_SEED:
            raise UserError(f"seed {spec} is out of range: seeds are integers from 0 to {MAX_SEED}")
        return [spec]
    if isinstance(spec, list):
        return sorted({s for part in spec for s in parse_seeds(part)})
    seeds: set[int] = set()
    for part in str(spec).split(","):
        part = part.strip()
        if not _SEEDS.match(part):
            raise UserError(f"malformed seed range {spec!r}: use e.g. 0-4, or 0,2,5")
        lo, _, hi = part.partition("-")
        first, last = int(lo), int(hi or lo)
        if last < first:
            raise UserError(f"malformed seed range {part!r}: {last} < {first}")
        if last > MAX_SEED:
            raise UserError(f"seed {last} is out of range: seeds are integers from 0 to {MAX_SEED}")
        if last - first + 1 + len(seeds) > MAX_SEEDS:
            raise UserError(f"seed range {spec!r} asks for more than {MAX_SEEDS:,} seeds; give a smaller range")
        seeds.update(range(first, last + 1))
    return sorted(seeds)


@dataclass
class ParamSpec:
    """One ``--param [owner.]name=v1,v2`` flag."""

    owner: str | None
    name: str
    values: list[Any]


def parse_param(text: str) -> ParamSpec:
    lhs, eq, rhs = text.partition("=")
    if not eq or not lhs.strip() or not rhs.strip():
        raise UserError(f"malformed --param {text!r}: use name=value, name=v1,v2 or method.name=value")
    owner, _, name = lhs.strip().rpartition(".")
    values = [v.strip() for v in rhs.split(",")]
    if any(v == "" for v in values):
        raise UserError(f"malformed grid in --param {text!r}: empty value in the list")
    return ParamSpec(owner or None, name, values)


def param_spec_from_toml(name: str, value: Any) -> ParamSpec:
    owner, _, short = name.rpartition(".")
    return ParamSpec(owner or None, short, value if isinstance(value, list) else [value])


@dataclass
class RunRequest:
    tasks: list[str]
    methods: list[str]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    scale: str = "small"
    params: list[ParamSpec] = field(default_factory=list)


def _grid_for(component: type[Task] | type[Method], specs: list[ParamSpec]) -> list[dict[str, Any]]:
    declared = {p.name for p in component.params}
    chosen: dict[str, list[Any]] = {}
    for spec in specs:  # repeated flags for one name add to its grid (never keep only the last)
        if spec.name in declared and spec.owner in (None, component.name):
            chosen[spec.name] = list(dict.fromkeys([*chosen.get(spec.name, []), *spec.values]))
    names = list(chosen)
    return [dict(zip(names, combo)) for combo in itertools.product(*(chosen[n] for n in names))]


def expand(request: RunRequest) -> list[Cell]:
    """Every applicable (task, method, params, seed) cell, deduplicated, in a stable order."""
    tasks = registry.select_tasks(request.tasks)
    # a family name does not select the tasks that need your own file (csv-lt, csv-board): name them
    tasks = [t for t in tasks if t.in_default_grid or t.name in request.tasks or set(t.aliases) & set(request.tasks)]
    methods = registry.select_methods(request.methods)
    if not tasks or not methods:
        raise UserError("empty selection: name at least one task and one method (see `harness list`)")
    _check_specs(request.params, tasks, methods)
    cells: dict[str, Cell] = {}
    for task in tasks:
        for method in methods:
            if not method.applies_to(task):
                continue
            for tp in _grid_for(task, request.params):
                for mp in _grid_for(method, request.params):
                    for seed in request.seeds:
                        cell = Cell.build(task.name, method.name, seed, request.scale, tp, mp)
                        cells.setdefault(cell.key, cell)
    if not cells:
        fams = sorted({t.family for t in tasks})
        raise UserError(f"empty selection: none of the methods applies to the family {', '.join(fams)}")
    return list(cells.values())


def _check_specs(specs: list[ParamSpec], tasks: list[type[Task]], methods: list[type[Method]]) -> None:
    components: list[type[Task] | type[Method]] = [*tasks, *methods]
    for spec in specs:
        if spec.owner is not None:
            owner = next((c for c in components if c.name == spec.owner), None)
            if owner is None:
                if spec.owner not in registry.tasks():
                    registry.get_method(spec.owner)  # an unknown name raises "did you mean …"
                raise UserError(f"--param {spec.owner}.{spec.name}: {spec.owner!r} is not selected in this run")
            targets = [owner]
        else:
            targets = [c for c in components if spec.name in {p.name for p in c.params}]
        if not targets or spec.name not in {p.name for p in targets[0].params}:
            where = spec.owner or "any selected task or method"
            raise UserError(f"unknown parameter {spec.name!r} for {where} (see `harness list`)")
        for target in targets:  # type-check every value now, before anything runs
            decl = next(p for p in target.params if p.name == spec.name)
            for value in spec.values:
                decl.parse(value, target.name)


def default_grid(tasks: list[type[Task]], seeds: list[int], scale: str) -> list[Cell]:
    """Every task × applicable method at default params: the grid of ``harness check``."""
    cells: dict[str, Cell] = {}
    for task in (t for t in tasks if t.in_default_grid):
        for method in registry.methods().values():
            if method.applies_to(task):
                for seed in seeds:
                    cell = Cell.build(task.name, method.name, seed, scale)
                    cells.setdefault(cell.key, cell)
    return list(cells.values())


def baselines_to_add(task_spec: list[str], method_spec: list[str]) -> list[str]:
    """The baselines of the selected tasks' families that the selected methods lack: a comparison
    needs its reference, so a run of a family's methods includes the family's baseline."""
    methods = {m.name for m in registry.select_methods(method_spec)}
    wanted = [t.baseline for t in registry.select_tasks(task_spec) if t.baseline]
    return [b for b in dict.fromkeys(wanted) if b not in methods]
