"""What a process pays for its first optimiser step (not a test): ``torch.optim.Adam`` against the
long-tail tasks' hand-written ``tasks.longtail._optim.Adam``, each in a fresh process, in turns.

    python benchmarks/bench_optim.py [--rounds 7]

Each process imports torch, builds a digits-lt-sized MLP and takes 20 Adam steps; it reports its
wall time from before ``import torch`` and its peak resident memory (``VmHWM``). torch.optim's
first use imports ``torch._dynamo``; the hand-written one does not. Prints the medians and the
differences, and whether the process imported ``torch._dynamo``.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float, bool]]] = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):
        for kind in KINDS:
            runs[kind].append(one(kind))
    med = {kind: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), rs[0][2]) for kind, rs in runs.items()}
    for kind, (wall, mb, dynamo) in med.items():
        print(f"{kind:6s} {wall:6.2f} s  peak {mb:6.0f} MB  imported torch._dynamo: {dynamo}")
    (tw, tm, _), (ow, om, _) = med["torch"], med["ours"]
    print(f"hand-written Adam saves {tw - ow:.2f} s and {tm - om:.0f} MB per process ({tw / ow:.2f}× faster start; median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
