"""Registry, did-you-mean, family selection, and a torch-free start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.plan import registry
from harness.cli import main
from harness.common.errors import UserError


def test_tasks_and_methods_are_registered_with_families() -> None:
    assert {"digits-lt", "gaussian-lt"} <= set(registry.tasks())
    assert {"erm", "logit_adjust", "logit_adjust_posthoc", "focal"} <= set(registry.methods())
    assert registry.get_task("digits-lt").family == "longtail"
    assert "longtail" in registry.get_method("focal").families


def test_family_name_selects_all_its_tasks() -> None:
    names = {t.name for t in registry.select_tasks(["longtail"])}
    assert {"digits-lt", "gaussian-lt"} <= names
    assert all(registry.get_task(n).family == "longtail" for n in names)


def test_alias_resolves() -> None:
    assert registry.get_method("ce").name == "erm"


@pytest.mark.parametrize("kind,name,suggestion", [("task", "digit-lt", "digits-lt"), ("method", "focall", "focal")])
def test_unknown_name_suggests_close_match(kind: str, name: str, suggestion: str) -> None:
    getter = registry.get_task if kind == "task" else registry.get_method
    with pytest.raises(UserError, match=f"did you mean '{suggestion}'"):
        getter(name)


def test_unknown_name_on_cli_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--tasks", "digits-lt", "--methods", "logit_ajust", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'logit_adjust'" in err[0]


@pytest.mark.parametrize("argv", [["--help"], ["list"]])
def test_help_and_list_import_neither_torch_nor_numpy(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "harness", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "numpy", "pandas", "pyarrow", "scipy", "datasets", "ray", "submitit", "pebble"}, sorted(imported)
