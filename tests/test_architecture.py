"""The shape the README and DESIGN.md promise, read from the source: stages import one way,
no module imports itself back through another, families see the engine through ``harness.api``
only, methods never import their tasks, and the folder rule keeps ``harness list`` light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness.common.files import ROOT

STAGES = ("common", "plan", "store", "run", "judge", "report", "cli")  # each may import the ones before it


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _runtime_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import that runs, at module level or inside a function; imports
    under ``if TYPE_CHECKING:`` are for type checkers only and are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def _sources(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_stages_import_one_way() -> None:
    wrong = []
    for path in _sources("harness"):
        parts = path.relative_to(ROOT / "harness").parts
        if len(parts) < 2 or parts[0] not in STAGES:
            continue
        mine = STAGES.index(parts[0])
        for line, module in _runtime_imports(path):
            words = module.split(".")
            if words[0] == "harness" and len(words) > 1 and words[1] in STAGES and STAGES.index(words[1]) > mine:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            if module == "harness.api":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the families' facade")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    modules = {_module(p): p for p in _sources("harness", "tasks", "methods")}
    edges = {m: {t for _, t in _runtime_imports(p) if t in modules and t != m} for m, p in modules.items()}
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]) if target in trail else f"{module} -> {target}")
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_families_see_the_engine_through_harness_api_only() -> None:
    """Module-level imports of a family's declarations and machinery: ``harness.api`` alone. A
    family's own page or figures may read stores and verdicts inside the functions that draw."""
    wrong = []
    for path in _sources("tasks", "methods"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                wrong += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                          if n and n.startswith("harness") and n != "harness.api"]
    assert not wrong, "\n".join(wrong)


def test_methods_never_import_tasks() -> None:
    """A family's protocol (tasks/) calls its methods through the hooks methods/ declares; a method
    that imported its task would run the arrow back up."""
    wrong = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in _sources("methods")
             for line, m in _runtime_imports(p) if m.startswith("tasks")]
    assert not wrong, "\n".join(wrong)


def test_the_folder_rule_keeps_list_and_help_light() -> None:
    """Every public module of every family is imported (the folder rule), and none of them pulls
    in torch, NumPy, pandas or pyarrow: what `harness list` and `harness --help` pay for."""
    code = ("import sys, io, contextlib; from harness.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['list']); main(['list', 'claims'])\n"
            "from harness.plan import registry; import pkgutil, tasks, methods\n"
            "public = [i.name for p in (tasks, methods) for i in pkgutil.walk_packages(p.__path__, p.__name__ + '.')"
            " if not any(w.startswith('_') for w in i.name.split('.'))]\n"
            "missing = [m for m in public if m not in sys.modules]\n"
            "heavy = [m for m in ('torch', 'numpy', 'pandas', 'pyarrow', 'scipy', 'sklearn', 'datasets', 'matplotlib') if m in sys.modules]\n"
            "print(len(public), missing, heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split(maxsplit=1)
    assert int(out[0]) > 40 and out[1].strip() == "[] []", out


@pytest.mark.parametrize("attrs,expected", [
    ({"name": "../evil"}, "task name '../evil'"),
    ({"name": "ok-name", "family": "bad/family"}, "family 'bad/family'"),
    ({"name": "ok-name", "scales": {"huge": "?"}}, "scales ['huge']"),
])
def test_register_checks_the_declaration(attrs: dict, expected: str) -> None:
    from harness.api import Task, register
    from harness.plan.registry import ContractError

    cls = type("Bad", (Task,), {"family": "testing", **attrs})
    with pytest.raises(ContractError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        register(cls)


def test_register_checks_param_defaults() -> None:
    from harness.api import Method, Param, register
    from harness.plan.registry import ContractError

    cls = type("BadDefault", (Method,), {"name": "bad-default", "families": ("testing",),
                                         "params": (Param("k", "int", 0, "", minimum=1),)})
    with pytest.raises(ContractError, match="default of k is not valid"):
        register(cls)
