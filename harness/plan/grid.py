"""From a run request (CLI flags or a suite file) to the list of cells it means.

``--param focal.gamma=0.5,1,2`` targets one method (or task) by name; ``--param tau=1`` targets
every selected task and method that declares ``tau``. Lists expand to a cartesian grid.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any

from harness.plan import registry
from harness.plan.contract import Method, Task
from harness.plan.cells import Cell
from harness.common.errors import UserError

_SEEDS = re.compile(r"^\d+(-\d+)?$")


MAX_SEED = 2**32 - 1  # numpy's and torch's seeds are 32-bit
MAX_SEEDS = 10_000  # more seeds in one request is a typo, not an experiment
MAX_CELLS = 5_000  # a larger grid is refused unless --max-cells lifts the cap (900k cells would hang the planner)


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
    max_cells: int = MAX_CELLS


def _chosen(component: type[Task | Method], specs: list[ParamSpec]) -> dict[str, list[Any]]:
    """The values asked for each of ``component``'s params (repeated flags for one name add to
    its list, never keep only the last)."""
    declared = {p.name for p in component.params}
    chosen: dict[str, list[Any]] = {}
    for spec in specs:
        if spec.name in declared and spec.owner in (None, component.name):
            chosen[spec.name] = list(dict.fromkeys([*chosen.get(spec.name, []), *spec.values]))
    return chosen


def _grid_for(component: type[Task] | type[Method], specs: list[ParamSpec]) -> list[dict[str, Any]]:
    chosen = _chosen(component, specs)
    names = list(chosen)
    return [dict(zip(names, combo)) for combo in itertools.product(*(chosen[n] for n in names))]


def _grid_size(component: type[Task | Method], specs: list[ParamSpec]) -> int:
    return math.prod(len(v) for v in _chosen(component, specs).values())


def check_size(count: int, what: str, max_cells: int) -> None:
    """Refuse a grid of more than ``max_cells`` cells before one is built: a typo in a list (or
    two long ranges multiplied) would otherwise plan for minutes and start 90k cells at once."""
    if count > max_cells:
        raise UserError(f"this request asks for {count:,} cells ({what}), more than the cap of {max_cells:,}; "
                        "narrow the grid, or pass --max-cells N to lift the cap")


def grid_size(request: RunRequest, tasks: list[type[Task]], methods: list[type[Method]]) -> tuple[int, str]:
    """How many cells ``request`` expands to at most (product of the list lengths, before any
    cell is built), and the longest lists, to say where the size comes from."""
    total = 0
    for task in tasks:
        n_task = _grid_size(task, request.params) * (len(request.seeds) if task.seeded else 1)
        for method in methods:
            if method.applies_to(task):
                total += n_task * _grid_size(method, request.params)
    lists = sorted(((len(s.values), f"{s.owner + '.' if s.owner else ''}{s.name}") for s in request.params), reverse=True)
    parts = [f"{name}: {n:,} values" for n, name in lists[:2] if n > 1]
    parts.append(f"{len(request.seeds):,} seed{'s' if len(request.seeds) != 1 else ''}")
    return total, " × ".join(parts)


def expand(request: RunRequest) -> list[Cell]:
    """Every applicable (task, method, params, seed) cell, deduplicated, in a stable order."""
    tasks = registry.select_tasks(request.tasks)
    # a family name does not select the tasks that need your own file (csv-lt, csv-board): name them
    tasks = [t for t in tasks if t.in_default_grid or t.name in request.tasks or set(t.aliases) & set(request.tasks)]
    methods = registry.select_methods(request.methods)
    if not tasks or not methods:
        raise UserError("empty selection: name at least one task and one method (see `harness list`)")
    _check_specs(request.params, tasks, methods)
    check_size(*grid_size(request, tasks, methods), request.max_cells)
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
    validate_tasks(cells.values())
    return list(cells.values())


def validate_tasks(cells: Iterable[Cell]) -> None:
    """:meth:`Task.validate` once per distinct (task, task params) of ``cells``: a user's file is
    read and checked before any store is created, so a bad one is one line and exit 2, not a
    failed cell per method and seed."""
    seen: set[str] = set()
    for cell in cells:
        ident = json.dumps([cell.task, cell.task_params], sort_keys=True, default=str)
        if ident not in seen:
            seen.add(ident)
            cell.make_task().validate()


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
