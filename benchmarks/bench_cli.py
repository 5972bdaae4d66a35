"""Start-up benchmark (not a test): what `harness --help` and `harness list` cost against the
interpreter itself, measured side by side in one run.

    python benchmarks/bench_cli.py [--rounds 15]

Each round runs, in turns, ``python -c pass`` (the reference), ``python -m harness --help``,
``python -m harness list`` and ``python -m harness run --help``, each a fresh process; it prints
the median wall and CPU seconds (user + system, which a busy machine disturbs less) of each, and
their ratios to the reference. The project's goal: `--help` within 3× of the bare interpreter.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "harness --help": [sys.executable, "-m", "harness", "--help"],
    "harness list": [sys.executable, "-m", "harness", "list"],
    "harness run --help": [sys.executable, "-m", "harness", "run", "--help"],
}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for name, command in COMMANDS.items():  # warm the file cache once
        timed(command)
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            samples[name].append(timed(command))
    ref_wall = statistics.median(w for w, _ in samples["python -c pass"])
    ref_cpu = statistics.median(c for _, c in samples["python -c pass"])
    print(f"{os.cpu_count()} cores, {args.rounds} rounds in turns; medians")
    for name, runs in samples.items():
        wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
        print(f"  {name:<20} wall {wall * 1000:7.1f} ms ({wall / ref_wall:4.1f}×)   cpu {cpu * 1000:7.1f} ms ({cpu / ref_cpu:4.1f}×)")


if __name__ == "__main__":
    main()
