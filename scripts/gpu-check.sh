#!/usr/bin/env bash
# One bounded command for a lent GPU machine: install, check the device, run the full-scale
# CIFAR-10-LT grid (erm, logit_adjust, ldam_drw, focal × seeds, as one batched model, then its
# post-hoc cells) for at most BUDGET seconds, and leave the store — records and the checkpoints
# of unfinished cells — in OUT. A second window started with --resume OUT_OF_THE_FIRST goes on
# where the first stopped (each unfinished cell from its last checkpoint). Run from the repo root:
#
#   scripts/gpu-check.sh --out DIR [--budget 540] [--resume DIR] [--seeds 0-2] [--batch-cells 12]
#                        [--protocol ldam|la_schedule] [--pack] [--dry-run]
#
#   --out DIR        the output folder: DIR/store (a harness store) and DIR/gpu-check.log
#   --budget S       wall-clock seconds for everything, installs and checks included (default 540)
#   --resume DIR     a previous window's OUT (DIR/store, or DIR/store.tar.gz.part-*) or a store:
#                    copied into DIR/store first; its checkpoints are where the cells resume
#   --seeds, --protocol   the grid (default 0-2, ldam: LDAM-DRW's 200 epochs)
#   --batch-cells K  trained cells per batched model (default 12: the whole grid in one model)
#   --pack           replace DIR/store by DIR/store.tar.gz.part-aa, -ab, … (15 MiB each), for
#                    transports that bring back only a few flat files
#   --dry-run        check nothing and run nothing: print each step, the plan of `harness run
#                    --dry-run` and the checkpoints a resume would start from; works on a CPU
#   --rehearse       the whole flow on this machine's CPU at the smoke scale (no GPU check): what
#                    CI runs to test the steps a dry run only prints
#
# Merging back: `harness merge DIR/store` (or, packed: `cat DIR/store.tar.gz.part-* | tar xz -C X`
# then `harness merge X/store`) brings the finished cells into your store. Checkpoints are not
# records and are not merged: keep DIR (or pass it to --resume) to continue.
# Needs the CIFAR parquet files under $HARNESS_DATA or data/images/cifar10/. Exit status: 0 when
# every cell of the grid is finished, 3 when the budget ran out first (resume to go on), 1 when a
# check failed, 2 for bad arguments.
set -uo pipefail

out="" budget=540 resume="" seeds="0-2" batch=12 protocol="ldam" pack=0 dry=0 plan_store="" device=cuda scale=full
usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:-}"; shift 2 ;;
    --budget) budget="${2:-}"; shift 2 ;;
    --resume) resume="${2:-}"; shift 2 ;;
    --seeds) seeds="${2:-}"; shift 2 ;;
    --batch-cells) batch="${2:-}"; shift 2 ;;
    --protocol) protocol="${2:-}"; shift 2 ;;
    --pack) pack=1; shift ;;
    --dry-run) dry=1; shift ;;
    --rehearse) device=cpu; scale=smoke; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "gpu-check: --out DIR is required (see --help)" >&2; exit 2; }
case "$budget" in ''|*[!0-9]*) echo "gpu-check: --budget must be whole seconds, got '$budget'" >&2; exit 2 ;; esac
case "$batch" in ''|*[!0-9]*|0) echo "gpu-check: --batch-cells must be a positive integer, got '$batch'" >&2; exit 2 ;; esac
case "$protocol" in ldam|la_schedule) ;; *) echo "gpu-check: --protocol must be ldam or la_schedule, got '$protocol'" >&2; exit 2 ;; esac
if [ -n "$resume" ] && [ ! -d "$resume" ]; then echo "gpu-check: --resume $resume is not a folder" >&2; exit 2; fi

start=$(date +%s)
py="${PYTHON:-python3}"
store="$out/store"
mkdir -p "$out"
log="$out/gpu-check.log"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HARNESS_CACHE="${HARNESS_CACHE:-/tmp/harness-cache}"
left() { echo $(( budget - ($(date +%s) - start) )); }
say() { echo "$*" | tee -a "$log"; }
step() { say ""; say "== $* ($(left)s of ${budget}s left)"; }
fail() { say "FAIL  $*"; exit 1; }

methods="erm,logit_adjust,ldam_drw,focal,logit_adjust_posthoc"
grid=(--tasks cifar10-lt --methods "$methods" --param "cifar10-lt.protocol=$protocol"
      --param "logit_adjust_posthoc.tau=-1.0,0.5,1.0,1.5,2.0" --param "logit_adjust_posthoc.base=erm,logit_adjust"
      --scale "$scale" --seeds "$seeds" --device "$device" --executor local --batch-cells "$batch" --store "$store" --no-report)
reserve=45  # seconds kept for the post-hoc cells, the summary and packing after the cells' deadline

say "gpu-check: budget ${budget}s, out $out, seeds $seeds, protocol $protocol, batch-cells $batch$([ $dry = 1 ] && echo ', DRY RUN')$([ "$device" = cpu ] && echo ', CPU REHEARSAL (smoke scale)')"

step "install"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  if [ $dry = 1 ]; then say "would install the carried wheels: $(ls .whl/*.whl | xargs -n1 basename | paste -sd' ')"
  else "$py" -m pip install -q --no-index --no-deps --no-compile --target /tmp/harness-site .whl/*.whl >>"$log" 2>&1 \
         && export PYTHONPATH="$PYTHONPATH:/tmp/harness-site" || fail "installing the carried wheels (.whl/) failed; see $log"; fi
fi
need="import numpy, pandas, pyarrow, torch, tqdm, tabulate, harness.cli, tasks.longtail.cifar"
if [ $dry = 1 ]; then say "would check: $need"
else "$py" -c "$need" >>"$log" 2>&1 && say "ok    python packages and the project import ($("$py" -c 'import torch; print("torch", torch.__version__)'))" \
       || fail "imports failed ($need); see $log"; fi

step "device"
if [ $dry = 1 ]; then say "would check: nvidia-smi lists a GPU, torch sees it, bf16 is supported"
elif [ "$device" = cpu ]; then say "rehearsal: no GPU check, cells run on the CPU at the $scale scale"
else
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$log" || fail "nvidia-smi found no GPU"
  "$py" -c "
import torch
assert torch.cuda.is_available(), 'torch sees no CUDA device'
assert torch.cuda.is_bf16_supported(), 'no bf16 on this GPU'
print('ok    device', torch.cuda.get_device_name(0), 'torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || fail "torch cannot use the GPU"
fi

step "data"
if [ $dry = 1 ]; then say "would decode the CIFAR-10 JPEGs once into \$HARNESS_CACHE ($HARNESS_CACHE) before training"
else "$py" -c "
import time; t = time.time()
from tasks.longtail.cifar import Cifar10LT
s = Cifar10LT().load('$scale'); print('ok    data: train', len(s.y_train), 'test', len(s.y_test), 'decoded in %.1fs' % (time.time() - t))" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || fail "the CIFAR-10 parquet files are missing or damaged (see the error above)"
fi

step "store"
if [ -n "$resume" ]; then
  if ls "$resume"/store.tar.gz.part-* >/dev/null 2>&1; then
    src="packed $resume/store.tar.gz.part-*"
    [ $dry = 1 ] || { cat "$resume"/store.tar.gz.part-* | tar xzf - -C "$out" || fail "cannot unpack $src"; }
  else
    from="$resume"; [ -d "$resume/store" ] && from="$resume/store"
    src="$from"
    if [ $dry = 1 ]; then plan_store="$from"  # a dry run reads the previous store where it is
    else mkdir -p "$store" && cp -a "$from"/. "$store"/ || fail "cannot copy $from"; fi
  fi
  say "resuming from $src"
fi
"$py" - "${plan_store:-$store}" <<'PY' 2>&1 | tee -a "$log"
import sys
from pathlib import Path
from harness.store import checkpoints as ck
root = Path(sys.argv[1])
found = ck.checkpoint_files(root)
for path in found:
    try:
        header, _ = ck.read_header(path.read_bytes(), path.stem)
        print(f"  cell {path.stem[:12]} resumes at epoch {header['epoch']:.2f} (checkpoint of {header['saved_at']})")
    except (OSError, ck.DamagedCheckpoint) as exc:
        print(f"  cell {path.stem[:12]}: damaged checkpoint ({exc}); it starts over")
records = len(list((root / "records").glob("*/*.parquet"))) if root.is_dir() else 0
print(f"store {root}: {records} finished cell record(s), {len(found)} checkpoint(s)")
PY

step "grid"
run_for=$(( $(left) - reserve ))
say "harness run ${grid[*]} --timeout <cells' deadline>"
if [ $dry = 1 ]; then
  plan=("${grid[@]}"); plan[${#plan[@]}-2]="${plan_store:-$store}"  # --store: the previous window's, in a dry run
  "$py" -m harness run "${plan[@]}" --dry-run 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || fail "harness run --dry-run failed"
  if [ "$run_for" -gt 30 ]; then
    say "would train for ${run_for}s at most: each cell's deadline then (it saves a checkpoint at the step it reached and is recorded as failed: timeout), post-hoc cells after their bases"
  else
    say "would stop here: no time left to train (${run_for}s after keeping ${reserve}s for post-hoc cells and packing); exit 3"
  fi
  [ $pack = 1 ] && say "would pack $out/store into $out/store.tar.gz.part-* (15 MiB each)"
  say ""; say "dry run: nothing installed, checked or run"
  exit 0
fi
[ "$run_for" -gt 30 ] || { say "no time left to train (${run_for}s)"; exit 3; }
timeout -k 20 $(( run_for + reserve - 15 )) "$py" -m harness run "${grid[@]}" --timeout "$run_for" 2>&1 | grep --line-buffered -v "it/s\]$" | tee -a "$log"
rc=${PIPESTATUS[0]}
say "harness run exit status: $rc"

step "summary"
"$py" - "$store" <<'PY' 2>&1 | tee "$out/summary.txt" | tee -a "$log"
import sys
from pathlib import Path
from harness.store import checkpoints as ck
from harness.store.store import Store
store = Store(Path(sys.argv[1]))
records = store.load(["cifar10-lt"])
done = records.drop_duplicates("cell_key") if len(records) else records
print(f"finished cells: {len(done)}")
import json
for _, row in done.sort_values(["method", "params_json", "seed"]).iterrows() if len(done) else ():
    value = records[(records.cell_key == row.cell_key) & (records.metric == "balanced_accuracy")]["value"]
    params = ",".join(f"{k}={v}" for k, v in sorted(json.loads(row.params_json)["method"].items()) if k in ("tau", "base"))
    name = f"{row.method}({params})" if params else row.method
    print(f"  {name:<40} seed {row.seed}  balanced_accuracy {float(value.iloc[0]) if len(value) else float('nan'):.4f}  wall {row.wall_s:.0f}s")
report = ck.verify_all(store.root, move=False)
print(f"checkpoints: {report.verified} verified ({report.bytes / 2**20:.1f} MiB), {len(report.damaged)} damaged")
PY
complete=0
"$py" -m harness run "${grid[@]}" --dry-run 2>/dev/null | grep -q " 0 to run" && complete=1

if [ $pack = 1 ]; then
  step "pack"
  tar czf - -C "$out" store | split -b 15m - "$out/store.tar.gz.part-" && rm -rf "$store" && ls -la "$out" | tee -a "$log"
fi
say ""
say "merge the finished cells: harness merge $store$([ $pack = 1 ] && echo ' (unpack the parts first)'); continue: scripts/gpu-check.sh --resume $out --out NEW"
[ $complete = 1 ] && { say "every cell of the grid is finished"; exit 0; }
say "the budget ran out before the grid finished; resume to go on"
exit 3
