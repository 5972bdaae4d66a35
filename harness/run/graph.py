"""The cell graph: which of the cells asked for are cached, which train, which only post-process
another cell's stored outputs, and the base cells that must run first.

A method that reads another cell's outputs declares it (:meth:`harness.plan.contract.Method.dependency`,
:attr:`harness.plan.cells.Cell.base`). Planning adds every base that is not stored yet to the cells to
run, once however many dependents share it, and orders bases before their dependents. The
scheduler (:mod:`harness.run.scheduler`) then starts a dependent only after its base is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from harness.plan.cells import Cell
from harness.store.store import Store


class Overwrite(str, Enum):
    NEVER = "never"  # skip finished cells; run missing and previously failed ones
    MISSING = "missing"  # run only cells with no record at all (do not retry failures)
    ALWAYS = "always"  # recompute everything asked for


@dataclass
class Plan:
    """What a run will do. ``to_run`` is in dependency order (every base before its dependents)."""

    to_run: list[Cell] = field(default_factory=list)
    cached: list[Cell] = field(default_factory=list)
    skipped_failed: list[Cell] = field(default_factory=list)
    added_bases: list[Cell] = field(default_factory=list)  # not asked for, needed by a dependent
    stale: list[Cell] = field(default_factory=list)  # cached, but computed by other code of their family (same versions)

    @property
    def training(self) -> list[Cell]:
        return [c for c in self.to_run if c.base is None]

    @property
    def post_processing(self) -> list[Cell]:
        return [c for c in self.to_run if c.base is not None]

    def summary(self) -> str:
        """``12 to run (4 train, 8 only post-process; 2 bases added), 3 cached``."""
        added = f"; {len(self.added_bases)} base cell(s) added for their dependents" if self.added_bases else ""
        failed = f", {len(self.skipped_failed)} failed before (not retried with --overwrite missing)" if self.skipped_failed else ""
        stale = (f"; {len(self.stale)} cached cell(s) were computed by other code of their family (same versions) and are "
                 "reused: bump the task or method version, or --overwrite always" if self.stale else "")
        return (f"{len(self.cached)} cached, {len(self.to_run)} to run ({len(self.training)} train, "
                f"{len(self.post_processing)} only post-process{added}){failed}{stale}")


def plan(cells: list[Cell], store: Store, overwrite: Overwrite = Overwrite.NEVER) -> Plan:
    """Classify the cells asked for and add the bases their dependents need."""
    result = Plan()
    chosen: dict[str, Cell] = {}
    for cell in dict.fromkeys(cells):  # asked twice, run once
        if overwrite is not Overwrite.ALWAYS and store.is_finished(cell):
            result.cached.append(cell)
        elif overwrite is Overwrite.MISSING and store.has_failed(cell):
            result.skipped_failed.append(cell)
        else:
            chosen[cell.key] = cell
    result.to_run = with_bases(list(chosen.values()), store, result.added_bases)
    result.stale = stale_cells(result.cached, store)
    return result


def stale_cells(cached: list[Cell], store: Store) -> list[Cell]:
    """The cached cells whose record names other family code (``code_sha``) than the code here
    now: reused all the same (the key did not change), but never silently."""
    from harness.plan import registry
    from harness.store.provenance import code_sha

    if not cached:
        return []
    records = store.load(sorted({c.task for c in cached}))
    if not len(records) or "code_sha" not in records:
        return []
    stored = {k: s for k, s in zip(records["cell_key"], records["code_sha"]) if isinstance(s, str) and s}
    return [c for c in cached if c.key in stored
            and stored[c.key] != code_sha(registry.get_task(c.task), registry.get_method(c.method))]


def with_bases(cells: list[Cell], store: Store, added: list[Cell] | None = None) -> list[Cell]:
    """``cells`` plus every base they need that ``store`` does not hold yet, bases first.

    A base stored already is reused, not re-run; one base shared by many dependents (a τ sweep)
    appears once. ``added`` collects the bases that were not among ``cells``."""
    asked = {c.key for c in cells}
    ordered: dict[str, Cell] = {}

    def visit(cell: Cell) -> None:
        if cell.key in ordered:
            return
        base = cell.base
        if base is not None and (base.key in asked or not store.is_finished(base)):
            visit(base)
            if base.key not in asked and added is not None and base not in added:
                added.append(base)
        ordered[cell.key] = cell

    for cell in cells:
        visit(cell)
    return list(ordered.values())


def dependencies(cells: list[Cell]) -> dict[str, str]:
    """cell key → the key of its base, for the bases that run in this batch."""
    keys = {c.key for c in cells}
    return {c.key: c.base.key for c in cells if c.base is not None and c.base.key in keys}
