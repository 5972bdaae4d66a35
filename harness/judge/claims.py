"""Claims declared as data (``tasks/<family>/claims*.toml``), validated against the registry.

Two kinds:

* ``paired`` (default): ``compare = ["logit_adjust > erm"]`` on ``metric``, over ``tasks``,
  paired over shared seeds. Operators: ``>`` (A beats B by more than ``min_delta``), ``>=``
  (A is no worse than B by more than ``min_delta``), and their mirrors ``<``, ``<=``.
  A method may carry params: ``focal[gamma=0.5] > erm``; unnamed params are the defaults.
  ``can{can_confident_accuracy} > can{can_unconfident_accuracy}`` compares two metrics of the
  same cells, paired over seeds.
* ``value``: ``checks = [{task, method, metric, op, value}]`` on deterministic cells
  (e.g. "humans rank first under the geometric mean").
"""

from __future__ import annotations

import operator
import re
import tomllib
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.plan import registry
from harness.common.errors import UserError
from harness.common.schema import check_keys, check_table
from harness.common.text import did_you_mean

_SIDE = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[(.*)\])?\s*(?:\{\s*([A-Za-z0-9_.\-]+)\s*\})?\s*$")
_OPS = (">=", "<=", "==", ">", "<")
_CMP = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}


@dataclass(frozen=True)
class MethodSpec:
    """``name[param=value,…]{metric}``: a method at given params; ``{metric}`` overrides the
    claim's metric for this side (to compare two metrics of the same cells)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metric: str | None = None

    def label(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        text = f"{self.name}[{inner}]" if inner else self.name
        return f"{text}{{{self.metric}}}" if self.metric else text


@dataclass(frozen=True)
class Comparison:
    a: MethodSpec
    op: str
    b: MethodSpec

    def label(self) -> str:
        return f"{self.a.label()} {self.op} {self.b.label()}"


@dataclass(frozen=True)
class Check:
    """``metric`` of one deterministic cell against a constant: ``op`` one of > >= < <= ==;
    with ``tolerance``, ``==`` holds when |measured − value| ≤ tolerance (an article's constant
    reproduced to a stated precision)."""

    task: str
    method: MethodSpec
    metric: str
    op: str
    value: float
    task_params: dict[str, Any] = field(default_factory=dict)
    tolerance: float | None = None

    def label(self) -> str:
        within = f" ± {self.tolerance:g}" if self.tolerance is not None else ""
        return f"{self.task} × {self.method.label()}: {self.metric} {self.op} {self.value:.10g}{within}"

    def holds(self, measured: float) -> bool:
        if self.tolerance is not None and self.op == "==":
            return abs(measured - self.value) <= self.tolerance
        return _CMP[self.op](measured, self.value)


#: what a claim's ``protocol`` table may describe (all free text): the cells' protocol, stated in
#: every verdict so that nobody reads a verdict as being about another protocol
PROTOCOL_KEYS = ("backbone", "pretraining", "pooling", "data", "model", "optimiser", "epochs", "selection", "seeds",
                 "procedure", "implementation", "precision")
CLAIM_KEYS = ("id", "title", "url", "date", "sentence", "kind", "side", "tasks", "task_params", "compare", "metric",
              "min_delta", "min_seeds", "scales", "task_scales", "pairing", "require", "aggregate", "across", "largest_on",
              "unlearned_baseline", "checks", "published", "published_label", "published_task", "published_scale", "published_task_params",
              "published_by_task", "note", "protocol", "article_protocol", "depends_on")
SIDES = ("article", "paper")  # whose sentence: the article's own, or a paper's that the article discusses
REQUIRE = ("all", "most")  # how many of a claim's comparisons must hold: every one, or more than half
CHECK_KEYS = ("task", "method", "metric", "op", "value", "tolerance", "task_params")


@dataclass(frozen=True)
class Claim:
    id: str
    family: str
    title: str
    url: str
    date: str
    sentence: str
    kind: str = "paired"
    tasks: tuple[str, ...] = ()
    task_params: dict[str, Any] = field(default_factory=dict)
    comparisons: tuple[Comparison, ...] = ()
    metric: str = ""
    min_delta: float = 0.0
    min_seeds: int = 3
    scales: tuple[str, ...] = ("small", "full")  # scales at which a verdict counts
    task_scales: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per-task override of ``scales``
    pairing: str = "seeds"  # "seeds": paired t over shared seeds; "examples": paired bootstrap over test examples
    checks: tuple[Check, ...] = ()
    published: dict[str, float] = field(default_factory=dict)
    published_label: str = ""
    published_task: str = ""  # the task whose protocol the published numbers describe ("": none of ours)
    published_scale: str = "full"  # … and the scale that runs that protocol
    published_by_task: dict[str, dict[str, float]] = field(default_factory=dict)  # task → method → published value
    published_task_params: dict[str, Any] = field(default_factory=dict)  # … and its task params (defaults elsewhere)
    protocol: dict[str, str] = field(default_factory=dict)  # what the cells test (PROTOCOL_KEYS), stated in the verdict
    article_protocol: dict[str, str] = field(default_factory=dict)  # what the article's numbers come from
    depends_on: tuple[str, ...] = ()  # protocol keys the sentence depends on: differing there, a refutation is "not reproduced"
    side: str = "article"
    require: str = "all"
    aggregate: str = ""  # "mean": compare the per-seed mean over the claim's tasks (the sentence is about the average)
    across: str = ""  # "increasing": the effect A − B grows from each task to the next, in the order the tasks are listed
    largest_on: tuple[str, ...] = ()  # the effect A − B is larger on each of these tasks than on every other listed task
    unlearned_baseline: str = ""  # a metric of the same cells: tasks where no compared method beats it are left out
    note: str = ""
    source: str = ""  # the file it came from

    def deciding_scales(self, task: str) -> tuple[str, ...]:
        """The scales at which evidence on ``task`` decides the claim (below them: an indication)."""
        return self.task_scales.get(task, self.scales)

    def protocol_gap(self) -> list[tuple[str, str, str]]:
        """(key, ours, the article's) for every protocol key the sentence depends on and on which
        the cells differ from the article: there a refutation only means "not reproduced"."""
        return [(k, self.protocol.get(k, "?"), self.article_protocol.get(k, "?")) for k in self.depends_on
                if self.protocol.get(k) != self.article_protocol.get(k)]


def _largest_on(entry: dict[str, Any], tasks: tuple[str, ...], where: str) -> tuple[str, ...]:
    named = tuple(registry.get_task(t).name for t in entry.get("largest_on", ()))
    if not named:
        return ()
    if entry.get("across") or entry.get("aggregate"):
        raise UserError(f"{where}: largest_on is its own cross-task comparison; drop across/aggregate")
    if not set(named) < set(tasks):
        raise UserError(f"{where}: largest_on must name some, not all, of the claim's tasks ({', '.join(tasks)})")
    return named


def parse_method_spec(text: str, where: str) -> MethodSpec:
    match = _SIDE.match(text)
    if not match:
        raise UserError(f"{where}: cannot read method {text!r}; write name, name[param=value,…] or name{{metric}}")
    name, inner, metric = match.group(1), match.group(2), match.group(3)
    method = registry.get_method(name)
    params: dict[str, Any] = {}
    for pair in filter(None, (inner or "").split(",")):
        key, eq, value = pair.partition("=")
        if not eq:
            raise UserError(f"{where}: method params must be key=value, got {pair!r}")
        params[key.strip()] = value.strip()
    return MethodSpec(method.name, _parsed(method, params), metric)


def _parsed(method: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Only the named params, parsed to their declared type (defaults stay implicit)."""
    full = method(**params).p
    return {k: full[k] for k in params}


def parse_comparison(text: str, where: str) -> Comparison:
    for op in _OPS:
        if op in text and op != "==":
            left, _, right = text.partition(op)
            return Comparison(parse_method_spec(left, where), op, parse_method_spec(right, where))
    raise UserError(f"{where}: comparison {text!r} needs one of > >= < <= between two methods")


def _require(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry:
        raise UserError(f"{where}: missing field {key!r}")
    return entry[key]


def _scales(value: Any, where: str) -> tuple[str, ...]:
    from harness.plan.contract import SCALES

    scales = tuple([value] if isinstance(value, str) else value)
    bad = [s for s in scales if s not in SCALES]
    if bad or not scales:
        raise UserError(f"{where}: scales must be a non-empty list of {', '.join(SCALES)}, got {value!r}")
    return scales


def _min_seeds(value: Any, where: str) -> int:
    if not isinstance(value, int) or value < 3:
        raise UserError(f"{where}: min_seeds must be an integer >= 3 (a paired interval needs at least 3 seeds), got {value!r}")
    return value


def _choice(value: Any, choices: tuple[str, ...], key: str, where: str) -> str:
    if value not in choices:
        raise UserError(f"{where}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _protocol(value: Any, where: str) -> dict[str, str]:
    table = check_table(value, f"{where}: protocol")
    check_keys(table, PROTOCOL_KEYS, f"{where}: protocol")
    return {k: str(v) for k, v in table.items()}


def _depends_on(value: Any, entry: dict[str, Any], where: str) -> tuple[str, ...]:
    keys = tuple([value] if isinstance(value, str) else value)
    for key in keys:
        if key not in PROTOCOL_KEYS:
            raise UserError(f"{where}: depends_on names {key!r}, not a protocol key{did_you_mean(key, PROTOCOL_KEYS, n=1)}")
        for table in ("protocol", "article_protocol"):
            if key not in entry.get(table, {}):
                raise UserError(f"{where}: depends_on names {key!r}: state it in both protocol and article_protocol")
    return keys


def _named_protocols(entry: dict[str, Any], protocols: dict[str, Any], where: str) -> dict[str, Any]:
    """``entry`` with a ``protocol``/``article_protocol`` given by name replaced by the file's
    ``[protocols.<name>]`` table: claims tested on the same cells state their protocol once."""
    out = dict(entry)
    for key in ("protocol", "article_protocol"):
        name = entry.get(key)
        if isinstance(name, str):
            if name not in protocols:
                raise UserError(f"{where}: {key} names {name!r}, which no [protocols.{name}] table declares"
                                f"{did_you_mean(name, list(protocols), n=1)}")
            out[key] = protocols[name]
    return out


def claim_from_dict(entry: dict[str, Any], source: str, protocols: dict[str, Any] | None = None) -> Claim:
    where = f"{source}: claim {entry.get('id', '?')!r}"
    check_keys(entry, CLAIM_KEYS, where)
    entry = _named_protocols(entry, protocols or {}, where)
    kind = entry.get("kind", "paired")
    common = dict(
        id=_require(entry, "id", where),
        title=_require(entry, "title", where),
        url=_require(entry, "url", where),
        date=str(_require(entry, "date", where)),
        sentence=_require(entry, "sentence", where),
        kind=kind,
        published={str(k): float(v) for k, v in entry.get("published", {}).items()},
        published_label=entry.get("published_label", ""),
        published_task=registry.get_task(entry["published_task"]).name if entry.get("published_task") else "",
        published_scale=_scales(entry.get("published_scale", "full"), where)[0],
        published_task_params=dict(check_table(entry.get("published_task_params", {}), f"{where}: published_task_params")),
        published_by_task={str(task): {str(m): float(v) for m, v in check_table(values, f"{where}: published_by_task").items()}
                           for task, values in check_table(entry.get("published_by_task", {}), f"{where}: published_by_task").items()},
        note=entry.get("note", ""),
        protocol=_protocol(entry.get("protocol", {}), where),
        article_protocol=_protocol(entry.get("article_protocol", {}), where),
        depends_on=_depends_on(entry.get("depends_on", []), entry, where),
        side=_choice(entry.get("side", "article"), SIDES, "side", where),
        source=source,
        scales=_scales(entry.get("scales", ("small", "full")), where),
    )
    if kind == "paired":
        tasks = tuple(registry.get_task(t).name for t in _require(entry, "tasks", where))
        compare = _require(entry, "compare", where)
        comparisons = tuple(parse_comparison(c, where) for c in ([compare] if isinstance(compare, str) else compare))
        families = {registry.get_task(t).family for t in tasks}
        task_params = dict(entry.get("task_params", {}))
        for t in tasks:
            registry.get_task(t)(**task_params)
        return Claim(
            **common,
            family=families.pop() if len(families) == 1 else "mixed",
            tasks=tasks,
            task_params=task_params,
            comparisons=comparisons,
            metric=_require(entry, "metric", where),
            min_delta=float(entry.get("min_delta", 0.0)),
            min_seeds=_min_seeds(entry.get("min_seeds", 3), where),
            task_scales={registry.get_task(t).name: _scales(v, where) for t, v in entry.get("task_scales", {}).items()},
            pairing=_choice(entry.get("pairing", "seeds"), ("seeds", "examples"), "pairing", where),
            require=_choice(entry.get("require", "all"), REQUIRE, "require", where),
            aggregate=_choice(entry.get("aggregate", ""), ("", "mean"), "aggregate", where),
            across=_choice(entry.get("across", ""), ("", "increasing"), "across", where),
            largest_on=_largest_on(entry, tasks, where),
            unlearned_baseline=str(entry.get("unlearned_baseline", "")),
        )
    if kind == "value":
        checks = []
        for raw in _require(entry, "checks", where):
            check_keys(check_table(raw, f"{where}: check"), CHECK_KEYS, f"{where}: check")
            task = registry.get_task(_require(raw, "task", where))
            op = _require(raw, "op", where)
            if op not in _OPS:
                raise UserError(f"{where}: unknown operator {op!r} (use one of {' '.join(_OPS)})")
            spec = parse_method_spec(_require(raw, "method", where), where)
            task_params = dict(raw.get("task_params", {}))
            task(**task_params)
            tolerance = raw.get("tolerance")
            if tolerance is not None and (op != "==" or not isinstance(tolerance, (int, float)) or tolerance < 0):
                raise UserError(f"{where}: tolerance goes with op \"==\" and is a number >= 0, got op {op!r}, tolerance {tolerance!r}")
            checks.append(Check(task.name, spec, _require(raw, "metric", where), op, float(_require(raw, "value", where)),
                                task_params, None if tolerance is None else float(tolerance)))
        return Claim(**common, family=registry.get_task(checks[0].task).family, checks=tuple(checks))
    raise UserError(f"{where}: unknown kind {kind!r} (use paired or value)")


def load_claims_file(path: Path) -> list[Claim]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"claims file {path} does not parse: {exc}") from None
    check_keys(data, ("claim", "protocols"), f"claims file {path}")
    entries = data.get("claim", [])
    if not isinstance(entries, list) or not entries:
        raise UserError(f"claims file {path} declares no [[claim]] tables")
    protocols = {name: _protocol(table, f"{path}: protocols.{name}")
                 for name, table in check_table(data.get("protocols", {}), f"{path}: protocols").items()}
    claims = [claim_from_dict(e, str(path), protocols) for e in entries]
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise UserError(f"claims file {path}: duplicated claim id")
    return claims


@lru_cache(maxsize=8)
def _parse_files(paths: tuple[Path, ...]) -> tuple[Claim, ...]:
    return tuple(c for path in paths for c in load_claims_file(path))


def all_claims(family: str | None = None) -> list[Claim]:
    """Every declared claim (or one family's), parsed once per process: the run report, ``claims``,
    ``table``, ``check`` and the family pages all read them from here."""
    claims = list(_parse_files(tuple(registry.claim_files())))
    if family is not None:
        if family not in registry.families():
            hint = did_you_mean(family, registry.families())
            raise UserError(f"unknown family {family!r}{hint} (families: {', '.join(registry.families())})")
        claims = [c for c in claims if c.family == family]
    return claims


def claims_touching(task_names: list[str]) -> list[Claim]:
    """The claims whose verdicts read any of ``task_names`` (paired and value claims alike)."""
    wanted = set(task_names)
    return [c for c in all_claims() if wanted & set(claim_tasks([c]))]


def claim_tasks(claims: list[Claim]) -> list[str]:
    """The tasks whose records the verdicts of ``claims`` read."""
    return sorted({t for c in claims for t in (c.tasks or [k.task for k in c.checks])})


def select_claims(spec: list[str]) -> list[Claim]:
    """Claims by id, by family name, or ``all``; an unknown name gets a "did you mean"."""
    every = all_claims()
    if "all" in spec:
        return every
    by_id = {c.id: c for c in every}
    chosen: dict[str, Claim] = {}
    for name in spec:
        if name in by_id:
            chosen[name] = by_id[name]
        elif name in registry.families():
            chosen.update((c.id, c) for c in every if c.family == name)
        else:
            hint = did_you_mean(name, [*by_id, *registry.families()])
            raise UserError(f"unknown claim or family {name!r}{hint} (run `harness list claims`)")
    if not chosen:
        raise UserError(f"no claims declared for {', '.join(spec)}")
    return list(chosen.values())


def claims_from_text(texts: list[str], cells: list[Any], metric: str | None, scale: str) -> list[Claim]:
    """Claims typed on the command line (``--claim "cosent > sbert"``), on the tasks of the run
    that the compared methods apply to, at their task params and the run's scale, decided with
    the same statistics as a declared claim. The metric is ``metric``, else the tasks' shared
    primary metric."""
    out = []
    for number, text in enumerate(texts, 1):
        comparisons = [parse_comparison(part.strip(), f"--claim {text!r}") for part in text.split(";") if part.strip()]
        names = {side.name for cmp in comparisons for side in (cmp.a, cmp.b)}
        missing = sorted(names - {c.method for c in cells})
        if missing:
            raise UserError(f"--claim {text!r}: {', '.join(missing)} not run here; add it to --methods")
        mine = [c for c in cells if all(registry.get_method(n).applies_to(registry.get_task(c.task)) for n in names)]
        params: dict[str, dict[str, Any]] = {}
        for cell in mine:
            if params.setdefault(cell.task, cell.task_params) != cell.task_params:
                raise UserError(f"--claim {text!r}: {cell.task} runs with several task params here; give one value per param")
        if not params:
            raise UserError(f"--claim {text!r}: none of the run's tasks takes {', '.join(sorted(names))}; check --tasks/--methods")
        primaries = {registry.get_task(t).primary_metric for t in params}
        chosen = metric or (primaries.pop() if len(primaries) == 1 else "")
        if not chosen:
            raise UserError(f"--claim {text!r}: the tasks' primary metrics differ ({', '.join(sorted(primaries))}); name one with --claim-metric")
        shared = {k: v for k, v in next(iter(params.values())).items() if all(p.get(k) == v for p in params.values())}
        if any(p != shared for p in params.values()):
            raise UserError(f"--claim {text!r}: its tasks run at different task params; claim one task at a time")
        entry = {"id": f"cli-{number}", "title": "a claim given on the command line", "url": "", "date": "", "sentence": text,
                 "tasks": sorted(params), "task_params": shared, "compare": [c.label() for c in comparisons], "metric": chosen,
                 "scales": [scale]}
        out.append(claim_from_dict(entry, "--claim"))
    return out
