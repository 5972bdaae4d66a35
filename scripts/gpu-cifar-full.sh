#!/usr/bin/env bash
# Full-scale CIFAR-10-LT cells on a GPU machine (the verdicts a CPU cannot give).
# Usage: [SEEDS=0-2] [PER_GPU=4] [LIMIT=480] [METHODS=erm,logit_adjust,ldam_drw,focal] scripts/gpu-cifar-full.sh OUTDIR
# Needs the CIFAR parquet files under data/images/cifar10/ (or $HARNESS_DATA). Cells run
# PER_GPU to each visible GPU (--cells-per-gpu); each finished cell is stored at once, so a run cut off at
# LIMIT seconds keeps what finished. The store is packed into OUTDIR/store.tgz. Post-hoc cells
# (logit_adjust_posthoc, τ sweeps) only read the stored logits: run them anywhere afterwards.
set -uo pipefail
out="${1:?output folder}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HARNESS_THREADS="${HARNESS_THREADS:-2}"
export HARNESS_STORE="${HARNESS_STORE:-/tmp/harness-gpu-store}" HARNESS_CACHE="${HARNESS_CACHE:-/tmp/harness-cache}"
py="${PYTHON:-python3}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))" || exit 1
# Decode the JPEGs once, before the workers start (they would all decode at the same time).
"$py" -c "
import time; t=time.time()
from tasks.longtail.cifar import Cifar10LT
s = Cifar10LT().load('full'); print('train', len(s.y_train), 'test', len(s.y_test), 'decoded in %.1fs' % (time.time()-t))" || exit 1
timeout "${LIMIT:-480}" "$py" -m harness.cli run --tasks cifar10-lt --methods "${METHODS:-erm,logit_adjust,ldam_drw,focal}" \
  --scale full --seeds "${SEEDS:-0-2}" --device cuda --cells-per-gpu "${PER_GPU:-4}" --retries 1 --no-report 2>&1 | grep -v "it/s\]$" | tail -40
echo "harness run exit: ${PIPESTATUS[0]}"
tar czf "$out/store.tgz" -C "$HARNESS_STORE" . && ls -la "$out"
