"""Lazy registry of tasks, methods, claim files and family CLI verbs.

The engine never imports a family by name. On first use it imports the plugin packages
(``tasks`` and ``methods`` by default, more through ``$HARNESS_PLUGINS`` or the
``harness.plugins`` entry-point group) and every sub-package in them; their modules call
:func:`register`. Unknown names get a "did you mean" and exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from harness.common.errors import UserError
from harness.common.names import is_name
from harness.common.text import did_you_mean
from harness.plan.contract import SCALES, FamilyPage, Method, Task

DEFAULT_PLUGINS = ("tasks", "methods")

_tasks: dict[str, type[Task]] = {}
_methods: dict[str, type[Method]] = {}
_aliases: dict[str, str] = {}
_commands: dict[str, "Command"] = {}
_claim_files: list[Path] = []
_plotters: dict[str, list[Callable[..., list[Path]]]] = {}
_pages: dict[str, FamilyPage] = {}
_captions: dict[str, dict[str, str]] = {}
_loaded = False

C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class Command:
    """A family's own CLI verb (e.g. ``harness leaderboard``): arguments and a run function."""

    name: str
    help: str
    configure: Callable[[Any], None]  # receives the argparse sub-parser
    run: Callable[[Any], int]




class ContractError(RuntimeError):
    """A family declares something the engine cannot use (a bug in the family, not bad input)."""


def _check_name(value: Any, what: str, owner: type) -> None:
    if not is_name(value):
        raise ContractError(f"{owner.__module__}.{owner.__qualname__}: {what} {value!r} must start with a letter or "
                            "digit and hold only letters, digits and _ - . + (it names folders, files and claims)")


def _check_declaration(cls: type) -> str:
    """What :func:`register` can check at once: names, params, families, scales."""
    kind = "task" if issubclass(cls, Task) else "method" if issubclass(cls, Method) else ""
    if not kind:
        raise ContractError(f"{cls.__module__}.{cls.__qualname__}: register() takes a Task or Method subclass")
    _check_name(getattr(cls, "name", None), f"{kind} name", cls)
    for alias in cls.aliases:
        _check_name(alias, "alias", cls)
    names = [p.name for p in cls.params]
    if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        raise ContractError(f"{cls.__module__}.{cls.__qualname__}: param names must be distinct identifiers, got {names}")
    for param in cls.params:
        try:
            param.parse(param.default, cls.name)
        except UserError as exc:
            raise ContractError(f"{cls.__module__}.{cls.__qualname__}: the default of {param.name} is not valid ({exc})") from None
    if issubclass(cls, Task):
        _check_name(getattr(cls, "family", None), "family", cls)
        unknown = [s for s in cls.scales if s not in SCALES]
        if unknown:
            raise ContractError(f"{cls.__module__}.{cls.__qualname__}: scales {unknown} are not among {', '.join(SCALES)}")
    elif not cls.families:
        raise ContractError(f"{cls.__module__}.{cls.__qualname__}: a method names the families it applies to")
    return kind


def register(cls: C) -> C:
    """Class decorator for a Task or Method subclass; its ``aliases`` are registered too. The
    declaration is checked here (names, params, scales); the metrics it names are checked once
    every family is loaded (a family may register its metrics after its tasks)."""
    table: dict[str, Any] = _tasks if _check_declaration(cls) == "task" else _methods
    if cls.name in table and table[cls.name] is not cls:
        raise ContractError(f"{cls.name!r} registered twice ({table[cls.name].__module__} and {cls.__module__})")
    table[cls.name] = cls
    for alias in cls.aliases:
        _aliases[alias] = cls.name
    return cls


def _check_references() -> None:
    """After loading: every metric a task shows is declared, every task a method names exists."""
    from harness.plan.metrics import find_metric

    for task in _tasks.values():
        undeclared = [m for m in (task.primary_metric, *task.table_metrics) if m and find_metric(m) is None]
        if undeclared:
            raise ContractError(f"{task.__module__}.{task.__qualname__}: metric(s) {', '.join(undeclared)} are not registered "
                                "(register_metric(Metric(name, higher_is_better, description)) in the family)")
    known = {*_tasks, *_aliases}
    for method in _methods.values():
        missing = [t for t in method.tasks if t not in known]
        if missing:
            raise ContractError(f"{method.__module__}.{method.__qualname__}: tasks {missing} are not registered")


def register_command(command: Command) -> None:
    _commands[command.name] = command


def register_plotter(family: str, plot: Callable[..., list[Path]], captions: Mapping[str, str] | None = None) -> None:
    """``plot(records, store, outdir) -> [written files]`` draws some of a family's figures (a
    family may register several, e.g. one per module that owns its figures), named
    ``<family>[_<task>]_<kind>.{png,svg}``; ``captions`` says what each kind plots (the report's
    caption; the family that draws a figure is the one that knows what it shows)."""
    if plot not in _plotters.setdefault(family, []):
        _plotters[family].append(plot)
    register_captions(family, captions or {})


def register_captions(family: str, captions: Mapping[str, str]) -> None:
    """What each kind of ``family``'s figures plots, for figures drawn elsewhere than by a
    plotter (a family page's own charts)."""
    _captions.setdefault(family, {}).update(captions)


def figure_captions(family: str) -> dict[str, str]:
    """What each kind of ``family``'s figures plots (``kind → text``)."""
    load_plugins()
    return dict(_captions.get(family, {}))


def plotters() -> dict[str, list[Callable[..., list[Path]]]]:
    load_plugins()
    return {family: list(plots) for family, plots in _plotters.items()}


def register_page(family: str, page: FamilyPage) -> None:
    """What a family adds to its committed page (``harness table --write``); a family that
    registers none gets the skeleton with the generic metric tables."""
    _pages[family] = page


def pages() -> dict[str, FamilyPage]:
    load_plugins()
    return dict(_pages)


def register_claims(path: Path) -> None:
    if path not in _claim_files:
        _claim_files.append(path)


def _public(module_name: str, root: str) -> bool:
    """A module the folder rule imports: no part of its name below the plugin root is private."""
    return not any(part.startswith("_") for part in module_name[len(root) + 1:].split("."))


def _plugin_names() -> tuple[str, ...]:
    names = [n for n in os.environ.get("HARNESS_PLUGINS", ",".join(DEFAULT_PLUGINS)).split(",") if n]
    return tuple(names + [ep.value for ep in entry_points(group="harness.plugins")])


def _plugin(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UserError(f"cannot import plugin package {name!r} ($HARNESS_PLUGINS or a harness.plugins entry point): {exc}") from None


def load_plugins() -> None:
    """Import every family once, by the folder rule, and collect each folder's ``claims*.toml``.

    The rule: a plugin package (``tasks``, ``methods``, a package named in ``$HARNESS_PLUGINS`` or
    a ``harness.plugins`` entry point) holds one folder per family; every **public** module of
    those folders (a name without a leading ``_``, in a folder without one) is a declaration and is
    imported here, so adding ``tasks/<family>/x.py`` needs no import list anywhere, as benchopt
    finds solvers by their folder. Machinery (models, training loops, anything that imports
    torch or NumPy at module level) lives in **private** modules (``_resnet.py``), imported only
    when a cell runs, so that ``harness --help`` and ``harness list`` stay light (a test checks it).
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _plugin_names():
        package = _plugin(name)
        folders = [Path(p) for p in getattr(package, "__path__", [])]
        for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=f"{name}."):
            if _public(info.name, name):
                module = importlib.import_module(info.name)
                folders += [Path(p) for p in getattr(module, "__path__", [])]
        for folder in folders:
            for claims in sorted(folder.glob("claims*.toml")):
                register_claims(claims)
    _check_references()


def tasks() -> dict[str, type[Task]]:
    load_plugins()
    return dict(sorted(_tasks.items()))


def methods() -> dict[str, type[Method]]:
    load_plugins()
    return dict(sorted(_methods.items()))


def commands() -> dict[str, Command]:
    """The families' own verbs. They are registered in the public ``cli`` module of a family
    folder (``tasks/leaderboard/cli.py``), which is all this imports: listing the verbs
    (``harness --help``) does not import every family's declarations."""
    for name in _plugin_names():
        package = _plugin(name)
        for info in pkgutil.iter_modules(getattr(package, "__path__", []), prefix=f"{name}."):
            if info.ispkg and _public(info.name, name) and importlib.util.find_spec(f"{info.name}.cli") is not None:
                importlib.import_module(f"{info.name}.cli")
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
    hint = did_you_mean(name, [*table, *_aliases, *extra])
    raise UserError(f"unknown {kind} {name!r}{hint} (run `harness list {kind}s`)")


def get_task(name: str) -> type[Task]:
    load_plugins()  # the table itself, not a sorted copy: asked for every cell of a grid
    return _lookup("task", _tasks, name)


def get_method(name: str) -> type[Method]:
    load_plugins()
    return _lookup("method", _methods, name)


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
