"""The verbs that read what is registered or stored: list, results, table, claims."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import csv_list, open_store, store_arg, task_names, writable_file
from harness.common.errors import UserError
from harness.common.text import did_you_mean, terminal_safe
from harness.plan import registry


def configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", nargs="?", choices=["tasks", "methods", "claims"], help="show only one kind")



def cmd_list(args: argparse.Namespace) -> int:
    from harness.plan.data import is_available

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
        from harness.judge.claims import all_claims

        print("CLAIMS")
        claims = all_claims()
        width = max((len(c.id) for c in claims), default=0)
        for c in claims:
            print(f"  {c.id:<{width}} {c.family:<12} {c.url}  {c.sentence[:70]}")
    return 0


def configure_results(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", help="task or family names")
    p.add_argument("--format", choices=["csv", "json", "parquet"], default="csv")
    p.add_argument("--output", "-o", help="file to write (required for parquet)")

    store_arg(p)


def configure_table(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", help="task or family names (default: everything stored)")
    p.add_argument("--metric", help="default: the family's primary metric")
    p.add_argument("--scale", choices=["smoke", "small", "full"], help="default: the largest scale stored per task")
    p.add_argument("--format", choices=["md", "latex", "csv"], default="md")
    p.add_argument("--write", action="store_true", help="regenerate the committed results/tables/<family>.md (refuses to drop rows the store cannot reproduce)")
    p.add_argument("--force", action="store_true", help="with --write: write even when rows of the committed page would be lost")
    p.add_argument("--out", help="write the table to this file instead of stdout (any --tasks/--format)")

    store_arg(p)


def configure_claims(p: argparse.ArgumentParser) -> None:
    p.add_argument("--family", help="only this family's claims")
    p.add_argument("--claims-file", metavar="FILE", help="the claims of this TOML file of your own, instead of the declared ones")
    p.add_argument("--format", choices=["text", "json"], default="text")

    store_arg(p)


def cmd_results(args: argparse.Namespace) -> int:
    if args.format == "parquet" and not args.output:
        raise UserError("--format parquet needs --output FILE")
    if args.output:
        writable_file(args.output, "--output")
    records = open_store(args).load(task_names(args.tasks))
    if args.format == "parquet":
        records.to_parquet(args.output, index=False)
    else:
        text = records.to_csv(index=False) if args.format == "csv" else records.to_json(orient="records", date_format="iso", force_ascii=False)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:  # names from a shared store must not drive a terminal; a pipe gets the exact bytes
            sys.stdout.write((terminal_safe(text) if sys.stdout.isatty() else text) + ("\n" if not text.endswith("\n") else ""))
    if args.output:
        print(f"wrote {len(records)} rows to {args.output}", file=sys.stderr)
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from harness.report import tables
    from harness.judge.claims import claims_touching
    from harness.report.page import published_columns, shown_metrics, write_family_page
    from harness.common.files import ROOT

    if args.out:
        writable_file(args.out, "--out")
    store = open_store(args)
    names = task_names(args.tasks)
    records = store.load(names)
    if args.write:
        chosen = csv_list(args.tasks) if args.tasks else []
        if [n for n in chosen if n not in registry.families()] or args.format != "md" or args.metric or args.out:
            raise UserError("--write regenerates whole committed family pages (--tasks may name families only); "
                            "for a filtered table use --out FILE (with --tasks/--format/--metric)")
        families = chosen or sorted({registry.get_task(t).family for t in set(records["task"])})
        for family in families:
            for written in write_family_page(family, args.store, force=args.force):
                print(f"wrote {written.relative_to(ROOT) if written.is_relative_to(ROOT) else written}")
        return 0
    shown = names or sorted(set(records["task"]))
    if args.metric and len(records) and args.metric not in set(records["metric"]):
        hint = did_you_mean(args.metric, sorted(set(records["metric"])))
        raise UserError(f"no stored records of metric {args.metric!r}{hint} (see `harness results` for the metrics stored)")
    metrics = [args.metric] if args.metric else shown_metrics(shown)
    claims = claims_touching(shown)
    text = "\n".join(
        tables.render(tables.build_table(records, metric, scale=args.scale, published=published_columns(claims, metric)), args.format)
        for metric in metrics
    )
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_claims(args: argparse.Namespace) -> int:
    from harness.report import verdict_text
    from harness.judge.claims import all_claims, load_claims_file
    from harness.judge.verdicts import verdicts_from_store

    if args.claims_file:
        if not Path(args.claims_file).is_file():
            raise UserError(f"--claims-file {args.claims_file}: no such file")
        claims = load_claims_file(Path(args.claims_file))
    else:
        claims = all_claims(args.family)
    if not claims:
        raise UserError(f"no claims declared{' for family ' + args.family if args.family else ''}")
    verdicts = verdicts_from_store(claims, open_store(args))
    if args.format == "json":
        print(verdict_text.verdicts_json(verdicts))
    else:
        print("\n".join([*verdict_text.verdict_lines(verdicts), "", *verdict_text.tally_lines(verdicts)]))
    return 0


