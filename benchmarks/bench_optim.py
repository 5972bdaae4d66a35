"""The long-tail tasks' hand-written ``tasks.longtail._optim.Adam`` against ``torch.optim.Adam``
(not a test), measured side by side in one run:

    python benchmarks/bench_optim.py [--rounds 7] [--steps 3000]

* **start** — each round, one fresh process of each, in turns: import torch, build a digits-lt-sized
  MLP (64 → 128 → 10), take 20 Adam steps; wall time from before ``import torch`` and peak
  resident memory (``VmHWM``). torch.optim's first use imports ``torch._dynamo``; ours does not.
* **steps** — in this process, ``--steps`` training steps (forward, backward, optimiser step) of
  that MLP on batches of 64 with each optimiser, in turns, one torch thread as the cells run:
  the per-step overhead torch.optim's wrappers add, which is much of a small cell's time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CHILD = """
import sys, time
t0 = time.perf_counter()
import torch
from tasks.longtail._optim import Adam
model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3) if sys.argv[1] == "torch" else Adam(model.parameters(), lr=1e-3)
for _ in range(20):
    opt.zero_grad()
    model(torch.randn(64, 64)).square().mean().backward()
    opt.step()
wall = time.perf_counter() - t0
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(wall, hwm / 1024, "torch._dynamo" in sys.modules)
"""

KINDS = ("torch", "ours")


def one(kind: str) -> tuple[float, float, bool]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), out[2] == "True"


def steps_per_second(kind: str, steps: int) -> float:
    import time

    import torch

    from tasks.longtail._optim import Adam

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3) if kind == "torch" else Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 64), torch.randint(0, 10, (64,))
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float, bool]]] = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):
        for kind in KINDS:
            runs[kind].append(one(kind))
    med = {kind: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), rs[0][2]) for kind, rs in runs.items()}
    for kind, (wall, mb, dynamo) in med.items():
        print(f"{kind:6s} {wall:6.2f} s  peak {mb:6.0f} MB  imported torch._dynamo: {dynamo}")
    (tw, tm, _), (ow, om, _) = med["torch"], med["ours"]
    print(f"start: hand-written Adam saves {tw - ow:.2f} s and {tm - om:.0f} MB per process ({tw / ow:.2f}× faster; median of {args.rounds} rounds)")
    import torch

    torch.set_num_threads(1)
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):
        for kind in KINDS:
            rates[kind].append(steps_per_second(kind, args.steps))
    theirs, ours = statistics.median(rates["torch"]), statistics.median(rates["ours"])
    ratios = [o / t for t, o in zip(rates["torch"], rates["ours"])]
    print(f"steps: torch.optim.Adam {theirs:,.0f}/s, hand-written {ours:,.0f}/s: {ours / theirs:.2f}× "
          f"(median of {args.rounds} rounds; range {min(ratios):.2f}–{max(ratios):.2f})")


if __name__ == "__main__":
    main()
