"""Lazy registry of tasks, methods, claim files and family CLI verbs.

The engine never imports a family by name. On first use it imports the plugin packages
(``tasks`` and ``methods`` by default, more through ``$HARNESS_PLUGINS`` or the
``harness.plugins`` entry-point group) and every sub-package in them; their modules call
:func:`register`. Unknown names get a "did you mean" and exit 2.
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, TypeVar

from harness.api import Method, Task
from harness.errors import UserError

DEFAULT_PLUGINS = ("tasks", "methods")

_tasks: dict[str, type[Task]] = {}
_methods: dict[str, type[Method]] = {}
_aliases: dict[str, str] = {}
_commands: dict[str, "Command"] = {}
_claim_files: list[Path] = []
_plotters: dict[str, Callable[..., list[Path]]] = {}
_pages: dict[str, Callable[[str | None], list[str]]] = {}
_loaded = False

C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class Command:
    """A family's own CLI verb (e.g. ``harness leaderboard``): arguments and a run function."""

    name: str
    help: str
    configure: Callable[[Any], None]  # receives the argparse sub-parser
    run: Callable[[Any], int]


def register(cls: C) -> C:
    """Class decorator for a Task or Method subclass; its ``aliases`` are registered too."""
    table: dict[str, Any] = _tasks if issubclass(cls, Task) else _methods
    if cls.name in table and table[cls.name] is not cls:
        raise RuntimeError(f"{cls.name!r} registered twice")
    table[cls.name] = cls
    for alias in cls.aliases:
        _aliases[alias] = cls.name
    return cls


def register_command(command: Command) -> None:
    _commands[command.name] = command


def register_plotter(family: str, plot: Callable[..., list[Path]]) -> None:
    """``plot(records, store, outdir) -> [written files]`` draws a family's figures."""
    _plotters[family] = plot


def plotters() -> dict[str, Callable[..., list[Path]]]:
    load_plugins()
    return dict(_plotters)


def register_page(family: str, write: Callable[[str | None], list[str]]) -> None:
    """A family's own committed page: ``write(store_dir) -> [written paths]`` replaces the
    generic ``results/tables/<family>.md`` of ``harness table --write``."""
    _pages[family] = write


def pages() -> dict[str, Callable[[str | None], list[str]]]:
    load_plugins()
    return dict(_pages)


def register_claims(path: Path) -> None:
    if path not in _claim_files:
        _claim_files.append(path)


_REGISTERS = re.compile(r"^\s*(from harness\.registry import|from harness import [^\n]*\bregistry\b|import harness\.registry)", re.M)


def _registers(path: str | None) -> bool:
    """A module registers something iff it imports ``harness.registry`` (read as text, not imported)."""
    try:
        return path is not None and path.endswith(".py") and bool(_REGISTERS.search(Path(path).read_text(encoding="utf-8")))
    except OSError:
        return False


def load_plugins() -> None:
    """Walk every plugin package once: import each module that registers (it imports
    ``harness.registry``) and collect each folder's ``claims*.toml``.

    A family is found by its folder, as benchopt finds solvers: adding ``tasks/<family>/`` and
    ``methods/<family>/`` needs no import list anywhere. Modules that do not register (training
    loops, models: torch) are not imported here, so ``harness --help`` stays light.
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    names = [n for n in os.environ.get("HARNESS_PLUGINS", ",".join(DEFAULT_PLUGINS)).split(",") if n]
    names += [ep.value for ep in entry_points(group="harness.plugins")]
    for name in names:
        try:
            package = importlib.import_module(name)
        except ImportError as exc:
            raise UserError(f"cannot import plugin package {name!r} ($HARNESS_PLUGINS or a harness.plugins entry point): {exc}") from None
        folders = [Path(p) for p in getattr(package, "__path__", [])]
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=f"{name}."):
            spec = info.module_finder.find_spec(info.name.rsplit(".", 1)[-1])  # type: ignore[call-arg]
            if info.ispkg:
                folders += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
            elif spec is not None and _registers(spec.origin):
                importlib.import_module(info.name)
        for folder in folders:
            for claims in sorted(folder.glob("claims*.toml")):
                register_claims(claims)


def tasks() -> dict[str, type[Task]]:
    load_plugins()
    return dict(sorted(_tasks.items()))


def methods() -> dict[str, type[Method]]:
    load_plugins()
    return dict(sorted(_methods.items()))


def commands() -> dict[str, Command]:
    load_plugins()
    return dict(_commands)


def claim_files() -> list[Path]:
    load_plugins()
    return list(_claim_files)


def families() -> list[str]:
    return sorted({t.family for t in tasks().values()})


def _lookup(kind: str, table: dict[str, Any], name: str, extra: tuple[str, ...] | list[str] = ()) -> Any:
    name = _aliases.get(name, name)
    if name in table:
        return table[name]
    candidates = [*table, *_aliases, *extra]
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UserError(f"unknown {kind} {name!r}{hint} (run `harness list {kind}s`)")


def get_task(name: str) -> type[Task]:
    return _lookup("task", tasks(), name)


def get_method(name: str) -> type[Method]:
    return _lookup("method", methods(), name)


def select_tasks(spec: list[str]) -> list[type[Task]]:
    """Task names or family names (a family selects all its tasks), in the order given."""
    chosen: list[type[Task]] = []
    for name in spec:
        family = [t for t in tasks().values() if t.family == name]
        found = family or [_lookup("task", tasks(), name, extra=families())]
        chosen += [t for t in found if t not in chosen]
    return chosen


def select_methods(spec: list[str]) -> list[type[Method]]:
    chosen: list[type[Method]] = []
    for name in spec:
        family = [m for m in methods().values() if name in m.families]
        found = family or [_lookup("method", methods(), name, extra=families())]
        chosen += [m for m in found if m not in chosen]
    return chosen
