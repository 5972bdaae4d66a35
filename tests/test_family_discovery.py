"""Adding a family means writing its folder only: a throw-away family in a temporary package
appears in list, run, claims, check and table with no edit to any other file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TASK = '''
"""A toy family: the score is the method's value plus a little seed noise."""
from typing import ClassVar

from harness.plan.contract import CellResult, Method, RunContext, Task
from harness.plan.metrics import Metric, register_metric
from harness.plan.params import Param
from harness.plan.registry import register

register_metric(Metric("toy_score", True, "a toy score"))


@register
class ToyTask(Task):
    """A toy task."""

    name: ClassVar[str] = "toy-task"
    family: ClassVar[str] = "toyfam"
    uses_torch: ClassVar[bool] = False
    primary_metric: ClassVar[str] = "toy_score"
    baseline: ClassVar[str] = "toy_low"

    def run(self, method: Method, ctx: RunContext) -> CellResult:
        step = 7 if method.p["value"] > 0.5 else 3  # seed noise that differs between the methods
        return CellResult(metrics={"toy_score": method.p["value"] + 0.001 * ((ctx.seed * step) % 5)})


@register
class ToyLow(Method):
    """Scores 0.2."""

    name: ClassVar[str] = "toy_low"
    families: ClassVar[tuple[str, ...]] = ("toyfam",)
    params = (Param("value", "float", 0.2, "the score"),)


@register
class ToyHigh(Method):
    """Scores 0.8."""

    name: ClassVar[str] = "toy_high"
    families: ClassVar[tuple[str, ...]] = ("toyfam",)
    params = (Param("value", "float", 0.8, "the score"),)
'''

CLAIMS = '''
[[claim]]
id = "toy-high-beats-low"
title = "Toy"
url = "https://example.org/toy"
date = "2026-01-01"
sentence = "High beats low."
tasks = ["toy-task"]
compare = "toy_high > toy_low"
metric = "toy_score"
scales = ["smoke", "small", "full"]
'''


def test_a_new_family_needs_only_its_own_folder(tmp_path: Path) -> None:
    family = tmp_path / "toyplugins" / "toyfam"
    family.mkdir(parents=True)
    (tmp_path / "toyplugins" / "__init__.py").write_text("")
    (family / "__init__.py").write_text('"""Toy family."""\n')
    (family / "toy_task.py").write_text(TASK)
    (family / "claims.toml").write_text(CLAIMS)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "HARNESS_PLUGINS": "tasks,methods,toyplugins", "HARNESS_STORE": str(tmp_path / "store"),
           "HARNESS_REFERENCE": str(tmp_path / "reference")}

    def harness(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "harness", *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    listing = harness("list")
    assert "toy-task" in listing and "toy_high" in listing and "toy-high-beats-low" in listing
    run = harness("run", "--tasks", "toyfam", "--methods", "toy_high", "--seeds", "0-4", "--scale", "smoke")
    assert "baseline toy_low added" in run and "10 cells" in run
    assert "supported" in harness("claims", "--family", "toyfam")
    table = harness("table", "--tasks", "toyfam")
    assert "| toy_high | **0.8020 ± 0.0016 (5)** |" in table and "| toy_low  | 0.2020 ± 0.0016 (5)     |" in table
    assert "merged into" in harness("check", "--tasks", "toyfam", "--update")
    assert (tmp_path / "reference" / "toyfam.csv").exists()
    assert "check passed" in harness("check", "--tasks", "toyfam")
