#!/usr/bin/env bash
# A short, self-contained check for a machine with GPUs (CI never needs one). One line per check,
# "ok" or "FAIL", and a non-zero exit when any check fails. Run from the repository root:
#   scripts/gpu-check.sh            # PER_GPU=2 cells per GPU; ~3-5 min on one H200
# Checks: torch sees every GPU nvidia-smi lists; cells land on every visible GPU, PER_GPU at a time,
# with the GPU's name in their records; a dead worker is retried on its GPU; and the time of one
# full-scale CIFAR-10-LT training epoch (ResNet-32, 12,406 images), from tasks/longtail/bench_cifar.
set -uo pipefail
py="${PYTHON:-python3}"
per_gpu="${PER_GPU:-2}"
store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
export PYTHONPATH="$PWD/tests/plugins:$PWD${PYTHONPATH:+:$PYTHONPATH}" HARNESS_PLUGINS="tasks,methods,chainfam"
failed=0
check() {  # check NAME COMMAND...: runs the command, prints its last line after ok/FAIL
  local name="$1"; shift
  local out; out="$("$@" 2>&1)"; local rc=$?
  if [ $rc -eq 0 ]; then echo "ok    $name: ${out##*$'\n'}"; else echo "FAIL  $name: ${out##*$'\n'}"; failed=1; fi
}

check "gpus visible" "$py" -c "
import subprocess, torch
listed = len(subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True, check=True).stdout.strip().splitlines())
seen = torch.cuda.device_count()
assert seen == listed > 0, f'torch sees {seen} GPU(s), nvidia-smi lists {listed}'
print(f'{seen} x {torch.cuda.get_device_name(0)}, torch {torch.__version__}')"

n_gpus="$("$py" -c 'import torch; print(torch.cuda.device_count())')"
seeds=$(( n_gpus * per_gpu * 2 ))
check "placement: ${per_gpu} real cells per GPU" bash -c "
$py -m harness.cli run --tasks gaussian-lt --methods erm --no-baseline --scale smoke --seeds 0-$((seeds - 1)) \
  --device cuda --cells-per-gpu $per_gpu --store '$store/place' --no-report >/dev/null 2>&1 || exit 1
$py - <<'PY'
import torch
from harness.store.store import Store
r = Store('$store/place').load(['gaussian-lt']).drop_duplicates('cell_key')
want = {f'cuda:{i}' for i in range(torch.cuda.device_count())}
assert set(r['device']) == want, f'cells on {sorted(set(r.device))}, expected {sorted(want)}'
assert set(r['workers_on_device']) == {$per_gpu}, f'workers_on_device {sorted(set(r.workers_on_device))}'
assert (r['gpu_name'] != '').all(), 'a record without gpu_name'
print(f'{len(r)} cells on {sorted(want)}, {$per_gpu} per GPU, gpu_name {r.gpu_name.iloc[0]!r}')
PY"

check "a dead worker is retried" bash -c "
CHAIN_LOG='$store/chain.log' $py -m harness.cli run --tasks chain-task --methods chain_crash --no-baseline --scale smoke \
  --seeds 0-1 --device cuda --cells-per-gpu $per_gpu --retries 1 --store '$store/retry' --no-report >/dev/null 2>&1 \
  && echo 'each crashed cell re-ran and was stored'"

check "full-scale CIFAR-10-LT epoch" bash -c "$py -m tasks.longtail.bench_cifar --device cuda 2>&1 | grep 's/epoch (projected)' | sed 's/  */ /g' | paste -sd';'"

exit $failed
