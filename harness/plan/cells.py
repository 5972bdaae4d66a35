"""A cell — (task, task params, method, method params, seed, scale) — and its content key.

The key is the sha256 of a canonical JSON of everything that determines the result: resolved
parameters (defaults included), both versions and the data fingerprint. Sorting the keys of the
JSON makes it independent of the order in which flags were given.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from harness.plan import registry
from harness.plan.contract import Method, Task


def canonical_json(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Cell:
    task: str
    method: str
    seed: int
    scale: str
    task_params: dict[str, Any] = field(default_factory=dict)
    method_params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        task: str,
        method: str,
        seed: int,
        scale: str,
        task_params: dict[str, Any] | None = None,
        method_params: dict[str, Any] | None = None,
    ) -> "Cell":
        """A cell with every parameter parsed and its default filled in."""
        task_cls, method_cls = registry.get_task(task), registry.get_method(method)
        return cls(
            task=task_cls.name,
            method=method_cls.name,
            seed=seed if task_cls.seeded else 0,
            scale=scale,
            task_params=_resolved(task_cls, tuple(sorted((task_params or {}).items()))),
            method_params=_resolved(method_cls, tuple(sorted((method_params or {}).items()))),
        )

    def make_task(self) -> Task:
        return registry.get_task(self.task)(**self.task_params)

    def make_method(self) -> Method:
        return registry.get_method(self.method)(**self.method_params)

    @cached_property
    def identity(self) -> dict[str, Any]:
        task_cls, method_cls = registry.get_task(self.task), registry.get_method(self.method)
        return {
            "task": self.task,
            "task_version": task_cls.version,
            "task_params": self.task_params,
            "method": self.method,
            "method_version": method_cls.version,
            "method_params": self.method_params,
            "seed": self.seed,
            "scale": self.scale,
            "data": _task(task_cls, _frozen(self.task_params)).fingerprint(),
        }

    @cached_property
    def key(self) -> str:
        return hashlib.sha256(canonical_json(self.identity).encode()).hexdigest()

    @cached_property
    def base(self) -> "Cell | None":
        """The cell whose stored outputs this one post-processes (its method's
        :meth:`~harness.plan.contract.Method.dependency`): same task, task params, seed and scale. None when
        the method trains its own model. The scheduler runs the base first, as a cell of its own."""
        dependency = dependency_of(registry.get_method(self.method), _frozen(self.method_params))
        if dependency is None:
            return None
        return Cell.build(self.task, dependency.method, self.seed, self.scale, self.task_params, dict(dependency.params))

    @property
    def family(self) -> str:
        return registry.get_task(self.task).family

    def label(self) -> str:
        """Human-readable, non-default params only: ``digits-lt × focal(gamma=1.0) seed=0 small``."""
        task_defaults = default_params(registry.get_task(self.task))
        method_defaults = default_params(registry.get_method(self.method))
        tp = {k: v for k, v in self.task_params.items() if task_defaults.get(k) != v}
        mp = {k: v for k, v in self.method_params.items() if method_defaults.get(k) != v}
        return f"{self.task}{_params(tp)} × {self.method}{_params(mp)} seed={self.seed} {self.scale}"

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cell) and other.key == self.key


def _params(params: dict[str, Any]) -> str:
    return "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")" if params else ""


def _frozen(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


@lru_cache(maxsize=None)
def default_params(component: type) -> dict[str, Any]:
    """The default params of a task or method class (one instance per class and process).
    Callers must not mutate the dict."""
    return component().p


@lru_cache(maxsize=4096)
def _task(task: type[Task], params: tuple[tuple[str, Any], ...]) -> Task:
    """One task instance per distinct (task, params), however many cells (grids, claims,
    verdicts) ask for its data fingerprint. The fingerprint itself is asked each time: a user's
    file may change between two keys (its sha256 is memoised by the file's inode and mtime)."""
    return task(**dict(params))


@lru_cache(maxsize=4096)
def dependency_of(method: type[Method], params: tuple[tuple[str, Any], ...]) -> Any:
    """``method(**params).dependency()``, once per distinct method and params."""
    return method(**dict(params)).dependency()


@lru_cache(maxsize=4096)
def _resolved_cached(component: type, given: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    return tuple(component(**dict(given)).p.items())


def _resolved(component: type, given: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """Params with defaults filled in; verdicts and grids build the same cells many times, so the
    parse is memoised per (class, given params). A fresh dict each call (cells may be mutated)."""
    try:
        return dict(_resolved_cached(component, given))
    except TypeError:  # an unhashable value: parse without the memo
        return component(**dict(given)).p
