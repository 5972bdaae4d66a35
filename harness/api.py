"""Everything a family imports from the engine, in one light module.

``tasks/<family>/`` and ``methods/<family>/`` import the engine through this module only (a test
checks it), so the engine's stage folders can change without touching a family, and a new
family's author reads one page. Importing it is cheap (no torch, NumPy, pandas or pyarrow):
``harness --help`` and ``harness list`` import every family's declarations.

Reporting extras that need the store (a family's own page or figures) import
:mod:`harness.report` and :mod:`harness.judge` inside the functions that draw them.
"""

from __future__ import annotations

from harness.common.errors import CellFailure, UserError
from harness.common.files import ROOT, atomic_write_bytes, atomic_write_text, cache_dir, read_user_text
from harness.common.text import did_you_mean, md_escape, mean_sd, one_line, terminal_safe, tex_escape
from harness.plan.contract import (
    SCALE_ORDER,
    SCALES,
    CellResult,
    DataFile,
    Dependency,
    FamilyPage,
    Method,
    PageView,
    RunContext,
    Section,
    Task,
    hooks,
)
from harness.plan.cells import default_params
from harness.plan.data import is_available, resolve, sha256_of
from harness.plan.metrics import (
    Metric,
    accuracy,
    balanced_accuracy,
    kendall_tau_b,
    macro_f1,
    per_class_accuracy,
    register_metric,
    spearman,
)
from harness.plan.params import Param
from harness.plan import registry
from harness.plan.registry import Command, register, register_captions, register_command, register_page, register_plotter
from harness.report.figures import record_sources as figure_sources

__all__ = [
    "ROOT", "SCALE_ORDER", "SCALES", "CellFailure", "CellResult", "Command", "DataFile", "Dependency", "FamilyPage", "Method", "Metric", "Param",
    "PageView", "RunContext", "Section", "Task", "UserError", "accuracy", "atomic_write_bytes", "atomic_write_text", "balanced_accuracy",
    "cache_dir", "default_params", "did_you_mean", "figure_sources", "hooks", "is_available", "kendall_tau_b", "macro_f1", "md_escape", "mean_sd", "read_user_text",
    "one_line", "per_class_accuracy", "register", "register_captions", "register_command", "register_metric", "register_page",
    "register_plotter", "registry", "resolve", "sha256_of", "spearman", "terminal_safe", "tex_escape",
]
