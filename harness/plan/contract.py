"""The contract between the engine and the families: Task, Method, and what a cell returns.

A family (``tasks/<family>``, ``methods/<family>``) subclasses :class:`Task` and
:class:`Method` and registers them with :func:`harness.plan.registry.register`. Modules that
declare tasks and methods must not import torch at module level: ``harness list`` imports them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, TypeVar

from harness.common.errors import CellFailure
from harness.plan.params import Param, resolve_params

SCALES = ("smoke", "small", "full")  # smallest first: seconds for CI, minutes on a 2-core CPU, the article's protocol
SCALE_ORDER = tuple(reversed(SCALES))  # largest first: the order in which evidence is preferred


@dataclass(frozen=True)
class DataFile:
    """A file a task reads, relative to a data root, with the sha256 it must have."""

    path: str
    sha256: str
    source: str = ""


class _Component:
    """What tasks and methods share: a name, a version, typed params resolved at construction."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **given: Any) -> None:
        self.p: dict[str, Any] = resolve_params(self.params, given, self.name)

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring, for `harness list`."""
        text = (cls.__doc__ or "").strip()
        return text.splitlines()[0] if text else ""


class Task(_Component):
    """Data + backbone + protocol + metrics. ``run`` trains/evaluates one cell.

    What a task declares, all read by the engine (never through ``getattr``):

    * ``family`` — the family whose methods apply to it; ``aliases`` — other names;
    * ``data`` — the files it reads, with their sha256 (part of the cell key);
    * ``scales`` — scale name → what that scale trains (``smoke`` seconds for CI, ``small``
      minutes on a 2-core CPU, ``full`` the article's protocol), shown by ``harness list``;
    * ``estimate_s`` — a first guess of seconds per cell and scale, until timings are stored;
    * ``primary_metric`` and ``table_metrics`` (shown in tables; default the primary one);
      whether higher is better comes from the metric registry (:mod:`harness.plan.metrics`), with
      ``higher_is_better`` for metrics of the task's own that the registry does not know;
    * ``baseline`` — the family's reference method, run beside the methods asked for.
    """

    family: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    data: ClassVar[tuple[DataFile, ...]] = ()
    scales: ClassVar[Mapping[str, str]] = {s: s for s in SCALES}
    estimate_s: ClassVar[Mapping[str, float]] = {}
    uses_torch: ClassVar[bool] = True  # False: pure NumPy, no torch import or seeding needed
    max_threads: ClassVar[int | None] = None  # tiny models run fastest on one thread (no spin-waits)
    seeded: ClassVar[bool] = True  # False: the result does not depend on the seed (one seed suffices)
    primary_metric: ClassVar[str] = ""
    table_metrics: ClassVar[tuple[str, ...]] = ()
    baseline: ClassVar[str] = ""
    in_default_grid: ClassVar[bool] = True  # False: it needs the user's own file (no smoke/reference cell)
    batch_size_cells: ClassVar[int] = 1  # > 1: run_batch may run up to this many cells (one task params, one scale) together

    @classmethod
    def shown_metrics(cls) -> tuple[str, ...]:
        """The metrics a table of this task shows, primary first."""
        return cls.table_metrics or ((cls.primary_metric,) if cls.primary_metric else ())

    @classmethod
    def last_epoch(cls, scale: str, params: Mapping[str, Any]) -> int | None:
        """The last epoch a cell at ``scale`` trains (None: no epochs, or a task that keeps no
        best epoch). A cell whose stored ``best_epoch`` is this one was still improving when it
        stopped: its verdicts say so, and it cannot refute a claim."""
        return None

    @classmethod
    def estimate(cls, scale: str) -> float:
        """Declared seconds per cell at ``scale`` (1 s when the task declares none)."""
        return float(cls.estimate_s.get(scale, 1.0))

    @classmethod
    def example_metric(cls, predictions: Any, metric: str) -> Callable[[Any], float] | None:
        """``metric`` on a subset of one cell's test examples, from its stored predictions:
        ``f(index) -> value`` (index: an int array, repeats allowed), for claims paired over
        examples (bootstrap). None when the task cannot recompute ``metric`` that way."""
        return None

    def fingerprint(self) -> str:
        """Identity of the data this cell reads; part of the cell key."""
        return ",".join(f.sha256 for f in self.data) or "none"

    def validate(self) -> None:
        """Check the input this task reads (a user's own file) before anything runs: raise
        :class:`~harness.common.errors.UserError` saying what is wrong and where (file, line,
        column). Called once per distinct (task, task params) when a grid is planned, before
        any store is created, so that a bad file is one line and exit 2 rather than a failed cell
        per method and seed. Default: nothing to check (bundled data is verified by its sha256)."""

    def run(self, method: "Method", ctx: "RunContext") -> "CellResult":  # pragma: no cover - abstract
        raise NotImplementedError

    def run_batch(self, jobs: list[tuple["Method", "RunContext"]]) -> list["CellResult | Exception"]:
        """Run several cells of this task (these task params, one scale) in one go, one result or
        exception per job, in order. ``harness run --batch-cells K`` calls it with up to
        ``min(K, batch_size_cells)`` ready cells, each with its own lease, context and record; a
        cell is the same cell however it was run (same key), so an override must give each cell
        what :meth:`run` would give it — e.g. train the cells as one batched model, each from its
        own seed. The engine seeds the process with the first job's seed only: an override seeds
        each cell itself. By default the jobs run one after another."""
        results: list[CellResult | Exception] = []
        for method, ctx in jobs:
            try:
                results.append(self.run(method, ctx))
            except Exception as exc:  # noqa: BLE001 - one cell's failure is that cell's
                results.append(exc)
        return results


@dataclass(frozen=True)
class Dependency:
    """The cell a post-processing method reads: the same task, task params, seed and scale,
    with ``method`` at ``params``. The scheduler runs it first and stores it as a cell of its own."""

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)


class Method(_Component):
    """What is compared inside a family: a loss, a head, a post-processing step, an aggregator.

    It declares ``families`` (where it applies), ``aliases``, typed ``params``, and — when it
    post-processes another cell's stored outputs instead of training — :meth:`dependency`.
    The family's protocol calls the hooks its family defines (e.g. ``loss``, ``postprocess``).
    """

    families: ClassVar[tuple[str, ...]] = ()
    tasks: ClassVar[tuple[str, ...]] = ()  # the tasks of its families it applies to (empty: all of them)
    aliases: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def applies_to(cls, task: type[Task]) -> bool:
        """Whether a cell (``task``, this method) makes sense: the task's family is one of the
        method's, and the method names no tasks or names this one (or one of its aliases)."""
        return task.family in cls.families and (not cls.tasks or bool({task.name, *task.aliases} & set(cls.tasks)))

    def dependency(self) -> Dependency | None:
        """The cell whose stored outputs this method post-processes; None when it trains its own."""
        return None


M = TypeVar("M", bound=Method)


def hooks(method: Method, interface: type[M]) -> M:
    """``method`` seen as its family's hook interface (``LongTailMethod``, ``MatchingMethod``, …):
    the one place a family's protocol narrows the engine's ``Method`` to the hooks it calls, for
    the reader and the type checker alike. A method without them fails its cell with one line."""
    if not isinstance(method, interface):
        raise CellFailure(f"method {method.name} does not implement {interface.__name__}'s hooks; "
                          f"subclass {interface.__module__}.{interface.__name__}")
    return method


@dataclass
class CellResult:
    """What a task returns for one cell: metrics, and optionally per-example predictions."""

    metrics: dict[str, float]
    split: str = "test"
    train_s: float = 0.0
    eval_s: float = 0.0
    predictions: Any = None  # a pandas DataFrame, stored in a sibling file
    info: dict[str, Any] = field(default_factory=dict)  # batch_size, precision, device, notes


@dataclass
class RunContext:
    """What a running cell may use: its seed, scale, device, and a cooperative deadline."""

    seed: int
    scale: str
    device: str = "cpu"
    deadline: float | None = None  # time.monotonic() value
    store: Any = None  # harness.store.store.Store, to reuse finished cells' predictions
    cell: Any = None  # harness.plan.cells.Cell being run
    checkpoints: Any = None  # harness.store.checkpoints.CellCheckpoints of this cell (None: none kept)

    @property
    def checkpoint_every(self) -> float:
        """Epochs between checkpoints (0: none, except one saved when the deadline is passed)."""
        return float(self.checkpoints.every) if self.checkpoints is not None else 0.0

    def save_checkpoint(self, state: Mapping[str, Any], epoch: float) -> None:
        """Store this cell's training state (tensors and plain containers), atomically and with
        its sha256, replacing the previous checkpoint; a no-op where the run keeps none. The
        engine removes it once the cell's record is stored."""
        if self.checkpoints is not None:
            self.checkpoints.save(state, epoch)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The state last saved by :meth:`save_checkpoint` for this very cell (its key), verified;
        None when there is none (or it was damaged: then the cell starts over)."""
        return self.checkpoints.load() if self.checkpoints is not None else None

    def past_deadline(self) -> bool:
        """Whether ``--timeout`` has passed (a loop that can save its state asks this first)."""
        return self.deadline is not None and time.monotonic() > self.deadline

    def base_predictions(self) -> Any:
        """The stored per-example predictions of this cell's base (see :class:`Dependency`). The
        scheduler runs a base before its dependents, so a missing base is an error, never a
        reason to train it here (it would be trained once per dependent and never recorded)."""
        base = self.cell.base if self.cell is not None else None
        if base is None:
            raise CellFailure("this method declares no dependency; there is no base cell to read")
        stored = self.store.load_predictions(base.key) if self.store is not None else None
        if stored is None:
            raise CellFailure(f"base cell {base.label()} has no stored predictions; run it first (`harness run` schedules it)")
        return stored

    def check_deadline(self) -> None:
        """Called by training loops between steps; turns an overrun into a recorded failure."""
        if self.past_deadline():
            raise CellFailure("timeout: the cell ran past --timeout")


@dataclass(frozen=True)
class Section:
    """One section of a family's committed page: a ``## title`` and its markdown."""

    title: str
    body: str


@dataclass
class PageView:
    """What a family's page is drawn from, read once by the engine: the newest record per cell of
    the family's tasks (a pandas DataFrame), its claims and their verdicts, where figures go."""

    family: str
    records: Any
    claims: list[Any]
    verdicts: list[Any]
    figures_dir: Any  # pathlib.Path of results/figures
    figures: list[Any] = field(default_factory=list)  # paths a section wrote (shown, and reported as written)


@dataclass(frozen=True)
class FamilyPage:
    """What a family adds to the one page skeleton (``results/tables/<file>``): a title, an intro
    (its protocol and deviations from the articles), and its own sections instead of the generic
    metric tables. The engine writes the heading, the provenance line, the claims' verdicts, keeps
    rows a store cannot reproduce (the lost-row guard) and writes the file atomically.
    ``run_claims_at``: run the cells the claims read at that scale first (cheap, exact cells)."""

    title: str
    intro: str = ""
    sections: Callable[[PageView], list[Section]] | None = None
    file: str = ""
    run_claims_at: str | None = None
