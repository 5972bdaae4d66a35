"""``harness run``: from flags or a suite file to a cell graph, run, then the table and verdicts."""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from harness.cli.common import csv_list, open_store, store_arg
from harness.common.errors import UserError
from harness.common.schema import check_keys, check_table
from harness.common.text import one_line


def configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("suite", nargs="?", help="a TOML suite file (same keys as the flags)")
    p.add_argument("--suite", dest="suite_flag", help="a TOML suite file; flags override it")
    p.add_argument("--tasks", help="task or family names, comma-separated")
    p.add_argument("--methods", help="method (or family) names, comma-separated")
    p.add_argument("--claims", help="run exactly the cells these claims need: claim ids, family names or 'all'")
    p.add_argument("--claim", action="append", default=[], metavar="'A > B'",
                   help="a claim of your own on the run's tasks, decided like a declared one (e.g. 'cosent > sbert'; "
                        "several comparisons joined by ';'); repeatable")
    p.add_argument("--claim-metric", help="the metric of --claim (default: the tasks' primary metric)")
    p.add_argument("--claims-file", action="append", default=[], metavar="FILE",
                   help="a TOML file of claims of your own (the fields of tasks/<family>/claims.toml); without --claims "
                        "or --tasks, run the cells its claims need")
    p.add_argument("--no-baseline", action="store_true", help="do not add the family's baseline method to --methods")
    p.add_argument("--seeds", help="auto (default): 3 per cell, and for each claim the run decides the seeds it needs at the "
                   "effect and spread already stored, within --budget; or a range: 0-4, 0,2,5")
    p.add_argument("--budget", type=float, metavar="MINUTES",
                   help="--seeds auto: the estimated minutes the run may spend on claims' extra seeds (default 5 for "
                        "--tasks/--methods, none for --claims; 0: no extra seeds)")
    p.add_argument("--scale", choices=["smoke", "small", "full", "auto"], help="default auto: full with CUDA, else small")
    p.add_argument("--param", action="append", default=[], metavar="[OWNER.]NAME=V1,V2", help="a param value or grid; repeatable")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto")
    p.add_argument("--workers", type=int, help="cells run at once on this machine (default 1; capped at the CPU cores)")
    p.add_argument("--executor", choices=["local", "pool", "ray", "slurm"],
                   help="where cells run (default: pool with --workers > 1 or on GPUs, else local); see README 'Running on a cluster'")
    p.add_argument("--gpus", help="GPU ids for cell slots, e.g. 0,1 (default: every visible GPU, with --device cuda)")
    p.add_argument("--cells-per-gpu", type=int, help="cells sharing each GPU at once (default 1)")
    p.add_argument("--batch-cells", type=int, metavar="K",
                   help="train up to K ready cells of one task, task params and scale as one job where the task batches them "
                        "(cifar10-lt: one stacked model); each cell keeps its lease, key and record (default 1)")
    p.add_argument("--retries", type=int, help="re-runs of a cell whose worker died (default 0); a cell that raised is not retried")
    p.add_argument("--address", help="ray: the cluster to join (auto, or host:port; default: start a local Ray)")
    p.add_argument("--partition", help="slurm: the partition to submit to")
    p.add_argument("--gpus-per-node", type=int, help="slurm: GPUs per job (default 1 with --device cuda, else 0)")
    p.add_argument("--time", type=int, metavar="MINUTES", help="slurm: time limit per job (default 60)")
    p.add_argument("--slurm-backend", choices=["slurm", "local"],
                   help="slurm: 'local' runs the same submitit jobs as processes here (no cluster; what CI tests)")
    p.add_argument("--overwrite", choices=["never", "missing", "always"], help="never (default): skip finished cells")
    p.add_argument("--timeout", type=float, help="seconds per cell before it is failed")
    p.add_argument("--max-cells", type=int, metavar="N",
                   help="refuse a request of more than N cells (default 5,000: a typo in a grid must not plan for minutes)")
    p.add_argument("--dry-run", action="store_true", help="print the cell graph (train, post-process after which base, cached) and a time estimate; run nothing")
    p.add_argument("--no-report", action="store_true", help="do not print the table and verdicts at the end")

    store_arg(p)


SUITE_KEYS = ("tasks", "methods", "seeds", "scale", "params", "device", "workers", "overwrite", "timeout", "executor", "retries")
SUITE_CHOICES = {"scale": ("smoke", "small", "full", "auto"), "device": ("auto", "cpu", "cuda"),
                 "overwrite": ("never", "missing", "always"), "executor": ("local", "pool", "ray", "slurm")}


def _load_suite(path: str) -> dict[str, Any]:
    """The suite file's table, its keys and the kinds of its values checked (a typo such as
    ``scale = "huge"`` must not run a grid whose every cell fails)."""
    try:
        suite = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"suite file {path} not found") from None
    except IsADirectoryError:
        raise UserError(f"suite file {path} is a folder; give a TOML file") from None
    except PermissionError:
        raise UserError(f"suite file {path} is not readable by this user") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"suite file {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); a suite is a TOML text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"suite file {path} does not parse: {exc}") from None
    where = f"suite file {path}"
    check_keys(suite, SUITE_KEYS, where)
    for key, allowed in SUITE_CHOICES.items():
        if key in suite and suite[key] not in allowed:
            raise UserError(f"{where}: {key} must be one of {', '.join(allowed)}, got {suite[key]!r}")
    for key in ("seeds",):
        if key in suite and (isinstance(suite[key], bool) or not isinstance(suite[key], (int, str, list))):
            raise UserError(f"{where}: seeds must be a range such as \"0-4\", a list of integers or one integer, got {suite[key]!r}")
    params = check_table(suite.get("params", {}), f"{where}: [params]")
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        if not values or any(isinstance(v, (dict, list)) for v in values):
            raise UserError(f"{where}: [params] {name} must be a value or a list of values, got {value!r}")
    return suite


def _names(value: Any, key: str) -> list[str]:
    """A suite's ``tasks``/``methods``: a list of names, or one comma-separated string."""
    if isinstance(value, str):
        return csv_list(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise UserError(f"suite file: {key} must be a list of names or a comma-separated string, got {value!r}")


def request_from_args(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """Suite file first, flags on top; returns the RunRequest and the run options."""
    from harness.plan.grid import MAX_CELLS, RunRequest, param_spec_from_toml, parse_param, parse_seeds

    suite: dict[str, Any] = _load_suite(args.suite_flag or args.suite) if (args.suite_flag or args.suite) else {}

    def pick(flag: Any, key: str, default: Any) -> Any:
        return flag if flag is not None else suite.get(key, default)

    tasks = csv_list(args.tasks) if args.tasks else _names(suite.get("tasks", []), "tasks")
    methods = csv_list(args.methods) if args.methods else _names(suite.get("methods", []), "methods")
    if getattr(args, "claims", None):
        if tasks or methods:
            raise UserError("--claims picks the tasks and methods itself; drop --tasks/--methods (or drop --claims)")
    elif not tasks or not methods:
        raise UserError("empty selection: give --tasks and --methods, --claims, or a suite file; see `harness list`")
    specs = [param_spec_from_toml(k, v) for k, v in suite.get("params", {}).items()]
    overridden = {(s.owner, s.name) for s in map(parse_param, args.param)}
    specs = [s for s in specs if (s.owner, s.name) not in overridden] + [parse_param(t) for t in args.param]
    workers = pick(args.workers, "workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise UserError(f"--workers must be an integer >= 1, got {workers!r}")
    timeout = pick(args.timeout, "timeout", None)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0 or timeout == float("inf")):
        raise UserError(f"--timeout must be a positive number of seconds, got {timeout!r}")
    max_cells = _count(args.max_cells, "--max-cells", 1) if getattr(args, "max_cells", None) is not None else MAX_CELLS
    seeds = pick(args.seeds, "seeds", "auto")
    auto = seeds == "auto"
    request = RunRequest(tasks, methods, parse_seeds("0-2" if auto else seeds), pick(args.scale, "scale", "auto"), specs, max_cells)
    budget = getattr(args, "budget", None)
    if budget is not None and (not auto or not budget >= 0 or budget == float("inf")):
        raise UserError(f"--budget takes a number of minutes >= 0 and goes with --seeds auto, got {budget!r}"
                        + ("" if auto else f" with --seeds {seeds}"))
    options = {
        "device": pick(args.device, "device", "auto"),
        "workers": workers,
        "overwrite": pick(args.overwrite, "overwrite", "never"),
        "timeout": timeout,
        "executor": pick(getattr(args, "executor", None), "executor", "auto"),
        "retries": _count(pick(getattr(args, "retries", None), "retries", 0), "--retries", 0),
        "auto_seeds": auto,
        "budget_s": None if budget is None else 60.0 * budget,
    }
    return request, options


def _count(value: Any, flag: str, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise UserError(f"{flag} must be an integer >= {least}, got {value!r}")
    return value


def executor_options(args: argparse.Namespace, opts: dict[str, Any], device: str) -> dict[str, Any]:
    """The RunOptions fields of the executor flags, checked before any cell runs."""
    executor = opts["executor"]
    if executor not in {"auto", "local", "pool", "ray", "slurm"}:
        raise UserError(f"executor must be local, pool, ray or slurm, got {executor!r}")
    gpus: tuple[int, ...] = ()
    if args.gpus:
        try:
            gpus = tuple(int(g) for g in csv_list(args.gpus))
        except ValueError:
            raise UserError(f"--gpus takes GPU ids such as 0,1; got {args.gpus!r}") from None
        if any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
            raise UserError(f"--gpus takes distinct GPU ids >= 0; got {args.gpus!r}")
    if (gpus or args.cells_per_gpu) and not device.startswith("cuda"):
        raise UserError("--gpus/--cells-per-gpu place cells on GPUs; they need --device cuda (or auto on a machine with a GPU)")
    per_gpu = _count(args.cells_per_gpu if args.cells_per_gpu is not None else 1, "--cells-per-gpu", 1)
    for flag, needs in (("address", "ray"), ("partition", "slurm"), ("gpus_per_node", "slurm"), ("time", "slurm"), ("slurm_backend", "slurm")):
        if getattr(args, flag) is not None and executor != needs:  # a setting of another executor: a typo or a mix-up
            raise UserError(f"--{flag.replace('_', '-')} is a setting of --executor {needs}")
    cluster = {k: getattr(args, k) for k in ("address", "partition", "gpus_per_node", "time", "slurm_backend") if getattr(args, k) is not None}
    if "time" in cluster:
        _count(cluster["time"], "--time", 1)
    batch_cells = _count(args.batch_cells if getattr(args, "batch_cells", None) is not None else 1, "--batch-cells", 1)
    return {"executor": executor, "gpus": gpus, "cells_per_gpu": per_gpu, "batch_cells": batch_cells, "retries": opts["retries"],
            "cluster": tuple(sorted(cluster.items()))}


def cmd_run(args: argparse.Namespace) -> int:
    from harness.judge.claim_cells import cells_for_claims, claims_of_run, waiting_for_scale
    from harness.judge.claims import claims_from_text, select_claims
    from harness.plan.grid import baselines_to_add, check_size, expand, parse_seeds, validate_tasks
    from harness.run.cell import RunOptions
    from harness.run.device import resolve_device, resolve_scale
    from harness.run.executors import planned_slots
    from harness.run.executors import require as require_executor
    from harness.run.graph import Overwrite, plan
    from harness.run.scheduler import execute, summary

    user_claims = _user_claims_files(args)
    request, opts = request_from_args(args)
    if opts["overwrite"] not in {o.value for o in Overwrite}:
        raise UserError(f"overwrite must be never, missing or always, got {opts['overwrite']!r}")
    request.scale, why = resolve_scale(request.scale)
    # a dry run may plan a GPU run on a machine without one
    device = "cuda" if args.dry_run and opts["device"] == "cuda" else resolve_device(opts["device"])
    options = RunOptions(device=device, workers=opts["workers"], timeout_s=opts["timeout"], progress=True,
                         **executor_options(args, opts, device))
    store = open_store(args, for_reading=False)
    slots = planned_slots(options)
    typed: list[Any] = []  # --claim
    with _said_as_warnings():  # what a task's check of your file read anyway (a trailing comma, …)
        if args.claims:
            seeds = None if opts["auto_seeds"] else parse_seeds(args.seeds)
            claims = select_claims(csv_list(args.claims))
            check_size(_claim_cells_at_most(claims, seeds), f"{len(claims)} claims", request.max_cells)
            cells = cells_for_claims(claims, request.scale, seeds)
            for claim_id, waiting in waiting_for_scale(claims, request.scale).items():
                print(f"{claim_id}: {', '.join(waiting)} decide(s) it at another scale, not run at {request.scale}")
            if not cells:
                raise UserError(f"no cell of these claims decides at scale {request.scale}; try --scale full")
            validate_tasks(cells)
            if opts["auto_seeds"]:
                cells = _with_claims_seeds(cells, claims, request.scale, store, opts["budget_s"], slots, "each claim's default (≥ 5)")
        else:
            if not args.no_baseline:
                added = baselines_to_add(request.tasks, request.methods)
                if added:
                    request.methods += added
                    print(f"baseline {', '.join(added)} added beside the methods asked for (--no-baseline to skip)")
            request.tasks = _tasks_that_decide(request, store)
            cells = expand(request)
            typed = claims_from_text(args.claim, cells, args.claim_metric, request.scale) if args.claim else []
            if opts["auto_seeds"]:
                claims = claims_of_run(sorted({c.task for c in cells}), sorted({c.method for c in cells})) + typed
                budget = opts["budget_s"] if opts["budget_s"] is not None else DEFAULT_BUDGET_S
                cells = _with_claims_seeds(cells, claims, request.scale, store, budget, slots)
    _say_own_data_scale(cells)
    the_plan = plan(cells, store, Overwrite(opts["overwrite"]))
    print(f"{why}; {len(cells)} cells asked for: {the_plan.summary()}")
    if args.dry_run:
        _print_dry_run(the_plan, store, options)
        return 0
    require_executor(options.executor_name)
    _check_cluster(options)
    store.ensure_writable()
    sys.stdout.flush()  # a cell that forks must not inherit (and re-print) buffered output
    t0 = time.monotonic()
    outcomes = execute(the_plan.to_run, store, options)
    failed = [o for o in outcomes if o.status.value == "failed"]
    print(f"done in {time.monotonic() - t0:.1f}s on {device} ({options.executor_name}): "
          f"{summary(outcomes, len(the_plan.cached))}")
    for o in failed:
        print(f"  FAILED {one_line(o.cell.label())}: {one_line(o.error)}", file=sys.stderr)
    if not args.no_report:
        _print_report(store, sorted({c.task for c in cells}), sorted({c.method for c in cells}), request.scale, typed + user_claims)
    return 1 if failed else 0


def _user_claims_files(args: argparse.Namespace) -> list[Any]:
    """The claims of ``--claims-file`` files, registered beside the families' (so that every verb
    and ``--claims`` sees them); without ``--claims`` or ``--tasks``, the run is theirs."""
    from harness.judge.claims import load_claims_file
    from harness.plan import registry

    claims = []
    for name in args.claims_file:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"--claims-file {name}: no such file")
        claims += load_claims_file(path)
        registry.register_claims(path.resolve())
    if args.claim and (args.claims or not args.tasks and not getattr(args, "suite", None) and not args.suite_flag):
        raise UserError("--claim compares methods on the run's tasks: give --tasks and --methods (a claims file goes with --claims-file)")
    if claims and not args.claims and not args.tasks and not (args.suite or args.suite_flag):
        args.claims = ",".join(c.id for c in claims)
    return claims


DEFAULT_BUDGET_S = 300.0  # --seeds auto on --tasks/--methods: extra seeds for claims, at most ~5 minutes of wall time


def _tasks_that_decide(request: Any, store: Any) -> list[str]:
    """The tasks a family name selects, less those on which no claim of the run decides at its
    scale (CIFAR-10-LT at small): each is named, with the command that decides its claims and
    an estimate. A task named in ``--tasks`` is always run."""
    from harness.judge.claim_cells import cells_for_claims, claims_of_run, undecided_tasks
    from harness.judge.claims import all_claims
    from harness.plan import registry
    from harness.plan.contract import SCALE_ORDER
    from harness.run.estimate import estimate_seconds

    selected = [t for t in registry.select_tasks(request.tasks) if t.in_default_grid or t.name in request.tasks]
    named = {registry.get_task(n).name for n in request.tasks if n not in registry.families()}
    methods = [m.name for m in registry.select_methods(request.methods)]
    claims = claims_of_run([t.name for t in selected], methods)
    left = {t: ids for t, ids in undecided_tasks(claims, [t.name for t in selected], request.scale).items() if t not in named}
    for task, ids in left.items():
        chosen = [c for c in all_claims() if c.id in ids]
        scale = next(s for s in SCALE_ORDER if any(s in c.deciding_scales(task) for c in chosen))
        seconds = sum(estimate_seconds(c, store) for c in cells_for_claims(chosen, scale) if c.task == task)
        print(f"{task} left out at scale {request.scale}: its claims ({', '.join(ids)}) decide at {scale} — "
              f"harness run --claims {','.join(ids)} --scale {scale} (about {_duration(seconds)} of cell time estimated); "
              f"name it in --tasks to run it here anyway")
    return [t.name for t in selected if t.name not in left]


def _with_claims_seeds(cells: list[Any], claims: list[Any], scale: str, store: Any, budget_s: float | None, slots: int,
                       base: str = "3 per cell") -> list[Any]:
    """``cells`` and, for each claim the budget affords (cheapest first), the cells of the seeds
    it needs (``--seeds auto``); the claims it does not afford are named with their command."""
    from harness.judge.power import affordable, needs
    from harness.report.html import COMMITTED_STORE
    from harness.store.store import Store
    from harness.store.union import StoreUnion

    reader = store if Path(store.root).resolve() == COMMITTED_STORE.resolve() or not COMMITTED_STORE.is_dir() \
        else StoreUnion([store, Store(COMMITTED_STORE, quarantine=False)])
    all_needs = needs(claims, scale, reader, store)
    chosen, deferred = affordable(all_needs, None if budget_s is None else budget_s * max(1, slots))
    more = [n for n in chosen if n.cells]
    print(f"seeds auto: {base}" + ("; for the claims this run decides, the seeds each needs (from the seed variance "
                                      "stored): " + "; ".join(f"{n.claim.id}: " + ", ".join(f"{t} × {k}" for t, k in n.seeds.items())
                                                               for n in more) if more else ""))
    for need in deferred:
        print(f"  not within this run's budget: {need.describe()}" if need.decidable else f"  {need.describe()}")
    by_key = {c.key: c for c in cells}
    for need in chosen:
        by_key.update((c.key, c) for c in need.cells)
    return list(by_key.values())


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


@contextmanager
def _said_as_warnings() -> Iterator[None]:
    """Warnings a task raises while checking a user's file (``warnings.warn``) as one
    ``harness: warning:`` line each on stderr, before the run starts (not when the check
    refuses the input: that stays one line)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    said: set[str] = set()
    for w in caught:
        text = one_line(str(w.message))
        if not issubclass(w.category, UserWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        elif text not in said:
            said.add(text)
            print(f"harness: warning: {text}", file=sys.stderr)


def _claim_cells_at_most(claims: list[Any], seeds: list[int] | None) -> int:
    """An upper bound of the cells ``claims`` need, counted before one is built."""
    from harness.judge.claim_cells import claim_seeds, sides

    total = 0
    for claim in claims:
        n_seeds = 1 if claim.kind == "value" else len(seeds) if seeds is not None else len(claim_seeds(claim))
        total += n_seeds * sum(len(row) for row in sides(claim))
    return total


def _check_cluster(options: Any) -> None:
    """A SLURM run needs the cluster's commands here; without them submitit raises a RuntimeError
    after the store is made. One line instead, before anything is written."""
    import shutil

    if options.executor_name == "slurm" and options.setting("slurm_backend", "slurm") != "local" and shutil.which("srun") is None:
        raise UserError("--executor slurm needs a SLURM cluster, and `srun` is not on this machine's PATH; run from a login "
                        "node of the cluster, or try the same jobs here with --slurm-backend local")


def _say_own_data_scale(cells: list[Any]) -> None:
    """What the scale does with the data of each task run on a user's own file or at params of
    the user's (``harness list`` says it too): a subsample of a user's training file must not go
    unnoticed when the table is headed by that file's task."""
    from harness.plan import registry
    from harness.plan.cells import default_params

    said: set[tuple[str, str]] = set()
    for cell in cells:
        cls = registry.get_task(cell.task)
        if (cell.task, cell.scale) in said or (cls.in_default_grid and cell.task_params == default_params(cls)):
            continue
        said.add((cell.task, cell.scale))
        print(f"{cell.task} at {cell.scale}: {one_line(cls.scales.get(cell.scale, cell.scale))}")


def _print_dry_run(the_plan: Any, store: Any, options: Any) -> None:
    """The cell graph: what is cached, what trains, what only post-processes which base."""
    from harness.run.estimate import estimate_seconds
    from harness.run.executors import planned_slots

    added = {c.key for c in the_plan.added_bases}
    for cell in the_plan.cached:
        print(f"  {'cached':<13} {cell.key[:12]}  {one_line(cell.label())}")
    for cell in the_plan.skipped_failed:
        print(f"  {'failed-before':<13} {cell.key[:12]}  {one_line(cell.label())}")
    for cell in the_plan.to_run:
        state = "post-process" if cell.base is not None else "train"
        after = f"  (after base {cell.base.key[:12]})" if cell.base is not None else ""
        note = "  (base added for its dependents)" if cell.key in added else ""
        print(f"  {state:<13} {cell.key[:12]}  {one_line(cell.label())}{after}{note}{checkpoint_note(store, cell.key)}")
    if options.batch_cells > 1:
        from harness.run.scheduler import take_jobs

        trained = [c for c in the_plan.to_run if c.base is None]
        jobs, _ = take_jobs(trained, len(trained), options.batch_cells)
        batches = [j for j in jobs if hasattr(j, "cells")]
        print(f"batched (--batch-cells {options.batch_cells}): {len(batches)} job(s) of "
              f"{', '.join(str(len(j.cells)) for j in batches) or 'no'} cells; {len(jobs) - len(batches)} cell(s) alone")
    seconds = sum(estimate_seconds(c, store) for c in the_plan.to_run)
    slots = planned_slots(options)
    print(f"estimated work: {len(the_plan.to_run)} cells, about {seconds:.0f}s of cell time"
          + (f", about {seconds / slots:.0f}s on {slots} slots ({options.executor_name})" if slots > 1 else " on one worker")
          + " (from stored timings of the same or similar cells)")


def checkpoint_note(store: Any, key: str) -> str:
    """Where a cell to run resumes, when the store holds its checkpoint."""
    from harness.store import checkpoints

    path = checkpoints.checkpoint_path(store.root, key)
    if not path.exists():
        return ""
    try:
        header, _ = checkpoints.read_header(path.read_bytes(), key)
    except (OSError, checkpoints.DamagedCheckpoint) as exc:
        return f"  (damaged checkpoint: starts over; {exc})"
    return f"  (resumes from its checkpoint at epoch {header['epoch']:.2f})"


def _print_report(store: Any, task_names: list[str], method_names: list[str], scale: str, extra: list[Any]) -> None:
    """The table of the scale just run (not the largest stored one), and the verdicts of the
    claims the run decides (every method they compare ran), with how many of them decided."""
    from harness.judge.claim_cells import claims_of_run
    from harness.judge.claims import claims_touching
    from harness.judge.verdicts import INCONCLUSIVE, verdicts_from_store
    from harness.report import tables, verdict_text
    from harness.report.page import published_columns, shown_metrics

    touching = claims_touching(task_names)
    claims = list({c.id: c for c in [*claims_of_run(task_names, method_names), *extra]}.values())
    records = store.load(task_names)
    for metric in shown_metrics(task_names, set(records["metric"]) if len(records) else None):
        table = tables.build_table(records, metric, scale=scale, published=published_columns(touching, metric))
        print(f"\n{tables.render(table, 'md')}")
    if claims:
        verdicts = verdicts_from_store(claims, store)
        decided = sum(v.verdict != INCONCLUSIVE for v in verdicts)
        print(f"\nCLAIMS this run decides: {decided} of {len(verdicts)} decided")
        print("\n".join(verdict_text.verdict_lines(verdicts)))
    others = len({c.id for c in touching} - {c.id for c in claims})
    if others:
        print(f"\n{others} more claim(s) read these tasks but compare methods this run did not run (`harness claims`).")
