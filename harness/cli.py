"""The ``harness`` command line: list, run, results, table, claims, check, and family verbs.

Only argparse and the registry are imported at start-up, so ``harness --help`` and
``harness list`` stay free of torch (and of pandas). A :class:`UserError` becomes one line on
stderr and exit code 2; failed cells make ``run`` exit 1 after its summary.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Sequence

from harness import __version__, registry
from harness.errors import UserError


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Re-run published ML claims: tasks × methods × params × seeds, stored as parquet, "
        "rendered as tables and claim verdicts.",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")

    p = sub.add_parser("list", help="registered tasks, methods and claims")
    p.add_argument("what", nargs="?", choices=["tasks", "methods", "claims"], help="show only one kind")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run the cells of a grid (cached cells are skipped)")
    p.add_argument("suite", nargs="?", help="a TOML suite file (same keys as the flags)")
    p.add_argument("--suite", dest="suite_flag", help="a TOML suite file; flags override it")
    p.add_argument("--tasks", help="task or family names, comma-separated")
    p.add_argument("--methods", help="method (or family) names, comma-separated")
    p.add_argument("--claims", help="run exactly the cells these claims need: claim ids, family names or 'all'")
    p.add_argument("--no-baseline", action="store_true", help="do not add the family's baseline method to --methods")
    p.add_argument("--seeds", help="e.g. 0-4 or 0,2,5 (default 0-2)")
    p.add_argument("--scale", choices=["smoke", "small", "full", "auto"], help="default auto: full with CUDA, else small")
    p.add_argument("--param", action="append", default=[], metavar="[OWNER.]NAME=V1,V2", help="a param value or grid; repeatable")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default auto")
    p.add_argument("--workers", type=int, help="cells run at once on this machine (default 1; capped at the CPU cores)")
    p.add_argument("--executor", choices=["local", "pool", "ray", "slurm"],
                   help="where cells run (default: pool with --workers > 1 or on GPUs, else local); see README 'Running on a cluster'")
    p.add_argument("--gpus", help="GPU ids for cell slots, e.g. 0,1 (default: every visible GPU, with --device cuda)")
    p.add_argument("--cells-per-gpu", type=int, help="cells sharing each GPU at once (default 1)")
    p.add_argument("--retries", type=int, help="re-runs of a cell whose worker died (default 0); a cell that raised is not retried")
    p.add_argument("--address", help="ray: the cluster to join (auto, or host:port; default: start a local Ray)")
    p.add_argument("--partition", help="slurm: the partition to submit to")
    p.add_argument("--gpus-per-node", type=int, help="slurm: GPUs per job (default 1 with --device cuda, else 0)")
    p.add_argument("--time", type=int, metavar="MINUTES", help="slurm: time limit per job (default 60)")
    p.add_argument("--slurm-backend", choices=["slurm", "local"],
                   help="slurm: 'local' runs the same submitit jobs as processes here (no cluster; what CI tests)")
    p.add_argument("--overwrite", choices=["never", "missing", "always"], help="never (default): skip finished cells")
    p.add_argument("--timeout", type=float, help="seconds per cell before it is failed")
    p.add_argument("--dry-run", action="store_true", help="print the cell graph (train, post-process after which base, cached) and a time estimate; run nothing")
    p.add_argument("--no-report", action="store_true", help="do not print the table and verdicts at the end")
    _store_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("results", help="export stored records")
    p.add_argument("--tasks", help="task or family names")
    p.add_argument("--format", choices=["csv", "json", "parquet"], default="csv")
    p.add_argument("--output", "-o", help="file to write (required for parquet)")
    _store_arg(p)
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("table", help="comparison table from stored records")
    p.add_argument("--tasks", help="task or family names (default: everything stored)")
    p.add_argument("--metric", help="default: the family's primary metric")
    p.add_argument("--scale", choices=["smoke", "small", "full"], help="default: the largest scale stored per task")
    p.add_argument("--format", choices=["md", "latex", "csv"], default="md")
    p.add_argument("--write", action="store_true", help="regenerate the committed results/tables/<family>.md (refuses to drop rows the store cannot reproduce)")
    p.add_argument("--force", action="store_true", help="with --write: write even when rows of the committed page would be lost")
    p.add_argument("--out", help="write the table to this file instead of stdout (any --tasks/--format)")
    _store_arg(p)
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("claims", help="verdicts of the declared claims, from stored records")
    p.add_argument("--family", help="only this family's claims")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _store_arg(p)
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("plot", help="draw the families' figures into results/figures/ (refuses to replace a figure with one drawn from less)")
    p.add_argument("--tasks", help="task or family names (default: every family with records)")
    p.add_argument("--output", help="folder (default results/figures); any other folder is written without the guard")
    p.add_argument("--force", action="store_true", help="replace committed figures even when the store cannot redraw all the cells they show")
    p.add_argument("--store", action="append", help="store directory (default $HARNESS_STORE or results/runs); repeat to read several as one")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("check", help="re-run the smoke grid and compare with results/reference/<family>.csv")
    p.add_argument("--update", action="store_true", help="re-measure and merge the re-measured groups into the references")
    p.add_argument("--tasks", help="restrict to these tasks or families")
    p.set_defaults(func=cmd_check)

    # verbs whose module defines configure_<verb>(parser) and main_<verb>(args)
    for verb, module, text in (
        ("compact", "harness.compact", "pack finished records into larger verified files (fast reads)"),
        ("fsck", "harness.compact", "verify every stored record against its content hash"),
        ("merge", "harness.merge", "merge stores produced elsewhere into this one (conflicts reported, never overwritten)"),
        ("report", "harness.html_report", "one self-contained HTML page of every family: claims, tables, figures"),
    ):
        owner = importlib.import_module(module)
        p = sub.add_parser(verb, help=text)
        getattr(owner, f"configure_{verb}")(p)
        p.set_defaults(func=getattr(owner, f"main_{verb}"))

    for command in registry.commands().values():
        p = sub.add_parser(command.name, help=command.help)
        command.configure(p)
        p.set_defaults(func=command.run)
    return parser


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", help="store directory (default $HARNESS_STORE or results/runs)")


def _store(args: argparse.Namespace, for_reading: bool = True) -> Any:
    """The store of ``--store``/``$HARNESS_STORE``; a read-only verb refuses one that does not
    exist or cannot be read (a typo must not read as an empty store)."""
    import os

    from harness.store import Store

    where = args.store if args.store is not None else os.environ.get("HARNESS_STORE")
    if where is not None and not where.strip():
        raise UserError("--store (or $HARNESS_STORE) is empty; give a folder")
    store = Store(args.store)
    if for_reading and where is not None:
        root = Path(where)
        if not root.is_dir():
            raise UserError(f"no store at {root} (not a folder); check --store / $HARNESS_STORE, or run `harness run` to create one")
        if not os.access(root, os.R_OK | os.X_OK):
            raise UserError(f"the store {root} is not readable by this user")
    return store


# -- list --------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from harness.data import is_available

    if args.what in (None, "tasks"):
        print("TASKS")
        width = max(map(len, registry.tasks()), default=0)
        family_width = max((len(t.family) for t in registry.tasks().values()), default=0)
        for name, t in registry.tasks().items():
            here = "data: yours (see its params)" if not t.in_default_grid else "data: here" if is_available(t.data) else "data: MISSING"
            print(f"  {name:<{width}} family={t.family:<{family_width}} v{t.version}  scales={','.join(t.scales)}  {here}")
            print(f"      {t.summary()}")
            for p in t.params:
                print(f"      {p.describe():<36} {p.help}")
    if args.what in (None, "methods"):
        print("METHODS")
        width = max(map(len, registry.methods()), default=0)
        families_width = max((len(",".join(m.families)) for m in registry.methods().values()), default=0)
        for name, m in registry.methods().items():
            print(f"  {name:<{width}} families={','.join(m.families):<{families_width}} v{m.version}  {m.summary()}")
            for p in m.params:
                print(f"      {p.describe():<36} {p.help}")
    if args.what in (None, "claims"):
        from harness.claims import all_claims

        print("CLAIMS")
        claims = all_claims()
        width = max((len(c.id) for c in claims), default=0)
        for c in claims:
            print(f"  {c.id:<{width}} {c.family:<12} {c.url}  {c.sentence[:70]}")
    return 0


# -- run ---------------------------------------------------------------------------------
def _load_suite(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"suite file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"suite file {path} does not parse: {exc}") from None


def _names(value: Any, key: str) -> list[str]:
    """A suite's ``tasks``/``methods``: a list of names, or one comma-separated string."""
    if isinstance(value, str):
        return _csv(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise UserError(f"suite file: {key} must be a list of names or a comma-separated string, got {value!r}")


def request_from_args(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """Suite file first, flags on top; returns the RunRequest and the run options."""
    from harness.grid import RunRequest, param_spec_from_toml, parse_param, parse_seeds

    suite: dict[str, Any] = _load_suite(args.suite_flag or args.suite) if (args.suite_flag or args.suite) else {}
    known = {"tasks", "methods", "seeds", "scale", "params", "device", "workers", "overwrite", "timeout", "executor", "retries"}
    if set(suite) - known:
        raise UserError(f"suite file: unknown key {sorted(set(suite) - known)[0]!r} (known: {', '.join(sorted(known))})")

    def pick(flag: Any, key: str, default: Any) -> Any:
        return flag if flag is not None else suite.get(key, default)

    tasks = _csv(args.tasks) if args.tasks else _names(suite.get("tasks", []), "tasks")
    methods = _csv(args.methods) if args.methods else _names(suite.get("methods", []), "methods")
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
    request = RunRequest(tasks, methods, parse_seeds(pick(args.seeds, "seeds", "0-2")), pick(args.scale, "scale", "auto"), specs)
    options = {
        "device": pick(args.device, "device", "auto"),
        "workers": workers,
        "overwrite": pick(args.overwrite, "overwrite", "never"),
        "timeout": timeout,
        "executor": pick(getattr(args, "executor", None), "executor", "auto"),
        "retries": _count(pick(getattr(args, "retries", None), "retries", 0), "--retries", 0),
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
            gpus = tuple(int(g) for g in _csv(args.gpus))
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
    return {"executor": executor, "gpus": gpus, "cells_per_gpu": per_gpu, "retries": opts["retries"], "cluster": tuple(sorted(cluster.items()))}


def cmd_run(args: argparse.Namespace) -> int:
    from harness.device import resolve_device, resolve_scale
    from harness.claims import select_claims
    from harness.executors import require as require_executor
    from harness.graph import Overwrite, plan
    from harness.grid import baselines_to_add, cells_for_claims, expand, parse_seeds, waiting_for_scale
    from harness.runner import RunOptions
    from harness.scheduler import execute

    request, opts = request_from_args(args)
    if opts["overwrite"] not in {o.value for o in Overwrite}:
        raise UserError(f"overwrite must be never, missing or always, got {opts['overwrite']!r}")
    request.scale, why = resolve_scale(request.scale)
    if args.claims:
        seeds = parse_seeds(args.seeds) if args.seeds else None
        claims = select_claims(_csv(args.claims))
        cells = cells_for_claims(claims, request.scale, seeds)
        for claim_id, waiting in waiting_for_scale(claims, request.scale).items():
            print(f"{claim_id}: {', '.join(waiting)} decide(s) it at another scale, not run at {request.scale}")
        if not cells:
            raise UserError(f"no cell of these claims decides at scale {request.scale}; try --scale full")
    else:
        if not args.no_baseline:
            added = baselines_to_add(request.tasks, request.methods)
            if added:
                request.methods += added
                print(f"baseline {', '.join(added)} added beside the methods asked for (--no-baseline to skip)")
        cells = expand(request)
    # a dry run may plan a GPU run on a machine without one
    device = "cuda" if args.dry_run and opts["device"] == "cuda" else resolve_device(opts["device"])
    options = RunOptions(device=device, workers=opts["workers"], timeout_s=opts["timeout"], progress=True,
                         **executor_options(args, opts, device))
    store = _store(args, for_reading=False)
    the_plan = plan(cells, store, Overwrite(opts["overwrite"]))
    print(f"{why}; {len(cells)} cells asked for: {the_plan.summary()}")
    if args.dry_run:
        _print_dry_run(the_plan, store, options)
        return 0
    require_executor(options.executor_name)
    store.ensure_writable()
    sys.stdout.flush()  # a cell that forks must not inherit (and re-print) buffered output
    t0 = time.monotonic()
    outcomes = execute(the_plan.to_run, store, options)
    failed = [o for o in outcomes if o.status.value == "failed"]
    ran = len(outcomes) - len(failed)
    print(f"done in {time.monotonic() - t0:.1f}s on {device} ({options.executor_name}): "
          f"{ran} ran, {len(the_plan.cached)} cached, {len(failed)} failed")
    for o in failed:
        print(f"  FAILED {o.cell.label()}: {o.error}", file=sys.stderr)
    if not args.no_report:
        touched = sorted({c.task for c in cells})
        _print_report(store, touched, request.scale)
    return 1 if failed else 0


def _print_dry_run(the_plan: Any, store: Any, options: Any) -> None:
    """The cell graph: what is cached, what trains, what only post-processes which base."""
    from harness.estimate import estimate_seconds
    from harness.executors import planned_slots

    added = {c.key for c in the_plan.added_bases}
    for cell in the_plan.cached:
        print(f"  {'cached':<13} {cell.key[:12]}  {cell.label()}")
    for cell in the_plan.skipped_failed:
        print(f"  {'failed-before':<13} {cell.key[:12]}  {cell.label()}")
    for cell in the_plan.to_run:
        state = "post-process" if cell.base is not None else "train"
        after = f"  (after base {cell.base.key[:12]})" if cell.base is not None else ""
        note = "  (base added for its dependents)" if cell.key in added else ""
        print(f"  {state:<13} {cell.key[:12]}  {cell.label()}{after}{note}")
    seconds = sum(estimate_seconds(c, store) for c in the_plan.to_run)
    slots = planned_slots(options)
    print(f"estimated work: {len(the_plan.to_run)} cells, about {seconds:.0f}s of cell time"
          + (f", about {seconds / slots:.0f}s on {slots} slots ({options.executor_name})" if slots > 1 else " on one worker")
          + " (from stored timings of the same or similar cells)")


def _print_report(store: Any, task_names: list[str], scale: str) -> None:
    """The table of the scale just run (not the largest stored one) and the verdicts it touches."""
    from harness import tables, verdict_text
    from harness.claims import claims_touching
    from harness.pages import published_columns
    from harness.verdicts import verdicts_from_store

    claims = claims_touching(task_names)
    records = store.load(task_names)
    for metric in _metrics_for(task_names, set(records["metric"]) if len(records) else None):
        table = tables.build_table(records, metric, scale=scale, published=published_columns(claims, metric))
        print(f"\n{tables.render(table, 'md')}")
    if claims:
        print("\nCLAIMS")
        print("\n".join(verdict_text.verdict_lines(verdicts_from_store(claims, store))))


def _metrics_for(task_names: list[str], stored: set[str] | None = None) -> list[str]:
    """Each task's primary metric; given the metrics ``stored``, the first of its table metrics
    that has records (a leaderboard run with ``human=none`` has no human rank to show)."""
    chosen = []
    for task in (registry.get_task(t) for t in task_names):
        shown = task.shown_metrics()
        have = [m for m in shown if stored is None or m in stored]
        if have or shown:
            chosen.append((have or shown)[0])
    return list(dict.fromkeys(chosen))


# -- results / table / claims ------------------------------------------------------------
def _task_names(spec: str | None) -> list[str] | None:
    return [t.name for t in registry.select_tasks(_csv(spec))] if spec else None


def cmd_results(args: argparse.Namespace) -> int:
    if args.output and not Path(args.output).resolve().parent.is_dir():
        raise UserError(f"cannot write {args.output}: the folder {Path(args.output).resolve().parent} does not exist")
    records = _store(args).load(_task_names(args.tasks))
    if args.format == "parquet":
        if not args.output:
            raise UserError("--format parquet needs --output FILE")
        records.to_parquet(args.output, index=False)
    else:
        text = records.to_csv(index=False) if args.format == "csv" else records.to_json(orient="records", date_format="iso", force_ascii=False)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))
    if args.output:
        print(f"wrote {len(records)} rows to {args.output}", file=sys.stderr)
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from harness import tables
    from harness.claims import all_claims, claims_touching
    from harness.pages import family_page, lost_rows, published_columns
    from harness.provenance import ROOT
    from harness.verdicts import verdicts_from_store

    store = _store(args)
    names = _task_names(args.tasks)
    records = store.load(names)
    if args.write:
        chosen = _csv(args.tasks) if args.tasks else []
        if [n for n in chosen if n not in registry.families()] or args.format != "md" or args.metric or args.out:
            raise UserError("--write regenerates whole committed family pages (--tasks may name families only); "
                            "for a filtered table use --out FILE (with --tasks/--format/--metric)")
        families = chosen or sorted({registry.get_task(t).family for t in set(records["task"])})
        for family in families:
            own_page = registry.pages().get(family)
            if own_page is not None:
                for written in own_page(args.store):
                    print(f"wrote {written}")
                continue
            claims = all_claims(family)
            fam_records = records[records["family"] == family] if len(records) else records
            page = family_page(family, fam_records, claims, verdicts_from_store(claims, store))
            path = ROOT / "results" / "tables" / f"{family}.md"
            lost = lost_rows(path.read_text(encoding="utf-8"), page) if path.exists() else []
            if lost and not args.force:
                raise UserError(f"{path.relative_to(ROOT)} would lose {len(lost)} row(s) the store cannot reproduce "
                                f"(e.g. {lost[0]!r}); run their cells first, or --force to drop them")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    task_names = names or sorted(set(records["task"]))
    if args.metric and len(records) and args.metric not in set(records["metric"]):
        import difflib

        close = difflib.get_close_matches(args.metric, sorted(set(records["metric"])), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UserError(f"no stored records of metric {args.metric!r}{hint} (see `harness results` for the metrics stored)")
    metrics = [args.metric] if args.metric else _metrics_for(task_names)
    claims = claims_touching(task_names)
    text = "\n".join(
        tables.render(tables.build_table(records, metric, scale=args.scale, published=published_columns(claims, metric)), args.format)
        for metric in metrics
    )
    if args.out:
        if not Path(args.out).resolve().parent.is_dir():
            raise UserError(f"cannot write {args.out}: the folder {Path(args.out).resolve().parent} does not exist")
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from harness import verdict_text
    from harness.claims import all_claims
    from harness.verdicts import verdicts_from_store

    claims = all_claims(args.family)
    if not claims:
        raise UserError(f"no claims declared{' for family ' + args.family if args.family else ''}")
    verdicts = verdicts_from_store(claims, _store(args))
    print(verdict_text.verdicts_json(verdicts) if args.format == "json" else "\n".join(verdict_text.verdict_lines(verdicts)))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw every family's figures into a scratch folder, then move them into place. Into the
    committed results/figures only when no figure there would lose a cell it shows (see
    harness.figure_guard), unless --force; --output elsewhere is always written."""
    import shutil
    import tempfile

    from harness import figure_guard as guard
    from harness.provenance import ROOT

    stores = [_store(argparse.Namespace(store=s)) for s in (args.store or [None])]
    if len(stores) > 1:
        from harness.html_report import StoreUnion

        store: Any = StoreUnion(stores)
    else:
        store = stores[0]
    records = store.load(_task_names(args.tasks))
    committed = ROOT / "results" / "figures"
    outdir = Path(args.output) if args.output else committed
    guarded = outdir.resolve() == committed.resolve()
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"--output {outdir} is a file, not a folder")
    families = sorted(set(records["family"])) if len(records) else []
    drawn: dict[str, dict[str, Any]] = {}
    files: list[Path] = []
    staging = Path(tempfile.mkdtemp(prefix="harness-plot-"))
    try:
        for family in families:
            plot = registry.plotters().get(family)
            if plot is None:
                continue
            guard.take_noted()
            paths = [Path(p) for p in plot(records[records["family"] == family], store, staging)]
            noted = guard.take_noted()
            task_names = [t for t, cls in registry.tasks().items() if cls.family == family]
            for path in paths:
                cells = noted.get(path.stem) or guard.fallback_sources(path.stem, family, records[records["family"] == family], task_names)
                drawn[path.stem] = {"family": family, "cells": cells}
            files += paths
        if not files:
            raise UserError("nothing to plot: no stored records of a family with figures (run `harness run` first)")
        problems = guard.refusals(outdir, drawn) if guarded and not args.force else []
        if problems:
            raise UserError(f"refusing to replace {len(problems)} committed figure(s) in {outdir}: "
                            f"{'; '.join(problems)}. Run their cells (with predictions) first, read several stores "
                            f"(--store A --store B), draw elsewhere (--output DIR), or --force to replace them")
        outdir.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.move(str(path), str(outdir / path.name))
            print(f"wrote {outdir / path.name}")
        guard.write_manifest(outdir, drawn)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    asked = set(records["task"])
    kept = sorted(stem for stem, entry in guard.read_manifest(outdir).items()
                  if stem not in drawn and any(group.split(" · ")[0] in asked for group in entry.get("cells", {})))
    if kept:
        print(f"kept {len(kept)} figure(s) this store cannot draw (per-class figures need stored predictions): "
              f"{', '.join(kept)}", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from harness.check import run_check

    code, lines = run_check(update=args.update, tasks=_csv(args.tasks) if args.tasks else None)
    print("\n".join(lines))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            print("harness: error: name a verb (e.g. `harness list`, `harness run --help`)", file=sys.stderr)
            return 2
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("harness: interrupted; finished cells are stored, the rest will run next time", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
