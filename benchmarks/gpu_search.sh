#!/usr/bin/env bash
# GPU figures for BENCHMARKS.md in one go: at most 9.5 minutes (the parts' limits add up to 9;
# with FULL=1 about 17.5: longer than one 10-minute device call, so run it only with time to spare).
#
#   bash benchmarks/gpu_search.sh [OUTDIR]      # OUTDIR: default $OUT if set, else bench-gpu
#   FULL=1 bash benchmarks/gpu_search.sh        # also the NCHW loop, the eval-c10 training step,
#                                               # the memory estimate and a latency table
#   NB201=1 NB201_TABLE=FILE.csv CIFAR_DIR=DIR bash benchmarks/gpu_search.sh
#                                               # also the full NAS-Bench-201 search (hours)
#
# Run from the repository root.  Python: $PY if set, else .venv/bin/python when its torch sees a
# GPU, else python3 -- a GPU host's own PyTorch environment will do; tndnas is taken from src/.
# Pure-Python dependencies missing there (omegaconf) are installed from wheels in .whl/, which
# benchmarks/gpu_wheels.sh fetches on a machine with internet.
#
# Each part has its own time limit and writes its own file, so a part that fails or runs out of
# time leaves the other parts' figures.  Files written (at most 12):
#   env.txt         GPU, driver, Python and torch versions
#   smoke.json      benchmarks/gpu_smoke.py: every CUDA code path once (search, resume, no host
#                   sync, CUDA-graph scoring against direct scoring, sampled mode, train, export)
#   loop.json       benchmarks/search_loop.py: the real paper-c10 loop, 4 cut epochs of 50 steps
#                   in each stage at batch 128, peak memory, projected whole-search time
#   step.json       benchmarks/search_step.py at stage 1, batch 64: the ratios measured on the CPU,
#                   and the alpha update with and without CUDA graphs (cuda_graphs_speedup)
#   loop-graphs.json   the loop with policy.cuda_graphs=true
#   loop-compile.json  the loop with weights.compile=true (per-op torch.compile)
#   (FULL=1) loop-nchw.json, train-step.json, memory.json (the memory estimate against max allocated),
#           latency-cuda.json (benchmarks/latency_accuracy.py on the GPU at batch 1 and 64: share within
#           10 %, rank correlation, ratios of calibrated tables)
#   (with 2 or more GPUs) distributed.json: benchmarks/distributed_step.py, paper-c10's first stage
#           in 1 and N processes under torchrun (NCCL): images/s of the weight step, alpha update time
#   (NB201=1) nb201-sampled.json, nb201.json: benchmarks/nb201_search.py --preset nb201-c10 with
#           one sampled path per weight step, then with its mixed step, 3 seeds each: per seed the
#           found cell, its table accuracy and rank, the supernet's Kendall tau against the table
#           (100 random cells), the search's own ranking check (halves_tau: two halves of the
#           architecture images; weight_free_share of the argmax) and the search's seconds; the
#           tau every 10 epochs as the supernet trains (curve) and the final tau with each cell's
#           BatchNorm statistics re-estimated (kendall_tau_recalibrated); top_check: the best of the
#           policy's 100 most probable cells by supernet accuracy, the supernet's tau among the table's 100 best
#   log.txt         everything printed
set -uo pipefail
OUTDIR=${1:-${OUT:-bench-gpu}}
mkdir -p "$OUTDIR"
exec > >(tee -a "$OUTDIR/log.txt") 2>&1

if [ -z "${PY:-}" ]; then  # the project's .venv only if its torch sees a GPU
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())" 2>/dev/null
  then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! "$PY" -c "import omegaconf" 2>/dev/null; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/tndnas-site .whl/*.whl
    export PYTHONPATH="/tmp/tndnas-site:$PYTHONPATH"
  else
    echo "error: omegaconf is not installed for $PY; run benchmarks/gpu_wheels.sh where there is internet and bring .whl/ along." >&2
    exit 2
  fi
fi

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$PY" -c "import sys, torch, tndnas; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'tndnas', tndnas.__version__, 'available', torch.cuda.is_available())"
} | tee "$OUTDIR/env.txt"

if ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
  echo "error: the torch of $PY sees no CUDA GPU; run this on a GPU host, or set PY to a Python whose torch has CUDA." >&2
  exit 2
fi

part() {  # part NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  echo "=== $name (limit ${limit} s) $(date -u +%H:%M:%S)"
  local t0=$SECONDS
  timeout --signal=INT --kill-after=15 "$limit" "$@"
  echo "=== $name: exit $? after $((SECONDS - t0)) s"
}

part smoke 110 "$PY" -m benchmarks.gpu_smoke --device cuda --json "$OUTDIR/smoke.json"
part loop 230 "$PY" -m benchmarks.search_loop --preset paper-c10 --device cuda --steps 50 --json "$OUTDIR/loop.json"
part step 60 "$PY" -m benchmarks.search_step --preset paper-c10 --stage 1 --batch 64 --device cuda --channels-last --repeats 10 --memory-stage 3 --json "$OUTDIR/step.json"
part loop-graphs 70 "$PY" -m benchmarks.search_loop --preset paper-c10 --device cuda --steps 20 --set policy.cuda_graphs=true --json "$OUTDIR/loop-graphs.json"
part loop-compile 70 "$PY" -m benchmarks.search_loop --preset paper-c10 --device cuda --steps 20 --set weights.compile=true --json "$OUTDIR/loop-compile.json"

if [ -n "${FULL:-}" ]; then
  part loop-nchw 200 "$PY" -m benchmarks.search_loop --preset paper-c10 --device cuda --steps 50 --set weights.channels_last=false --json "$OUTDIR/loop-nchw.json"
  part train-step 60 "$PY" -m benchmarks.train_step --device cuda --channels 36 --layers 20 --batch 96 --json "$OUTDIR/train-step.json"
  part memory 90 "$PY" -m benchmarks.memory_estimate --preset paper-c10 --batch 128 --stages 1,2,3 --device cuda --json "$OUTDIR/memory.json"
  # calibrated tables on the GPU at batch 1 and 64, each checked on 20 other networks timed whole
  part latency 240 "$PY" -m benchmarks.latency_accuracy --preset paper-c10 --backends torch --batches 1,64 \
    --check 20 --extra "--device cuda --check-time 0.5" --json "$OUTDIR/latency-cuda.json"
fi
GPUS=$("$PY" -c "import torch; print(torch.cuda.device_count())")
if [ "${GPUS:-1}" -gt 1 ]; then
  # one search in 1 and in every visible GPU's process (torchrun, NCCL): images/s and alpha update time
  part distributed 180 "$PY" -m benchmarks.distributed_step --preset paper-c10 --ranks "1,$GPUS" \
    --steps 20 --updates 10 --set device=cuda --json "$OUTDIR/distributed.json"
fi
if [ -n "${NB201:-}" ]; then
  # the full NAS-Bench-201 weight-sharing protocol (preset nb201-c10, 3 seeds): hours, not minutes;
  # NB201_TABLE: the results CSV; CIFAR_DIR: a folder with cifar-10-batches-py/ (or its .tar.gz)
  # first with one sampled path per weight step (what ranks cells on the CPU proxy), then the
  # preset's mixed step (Eq. 1): which of the two the preset should keep at full scale
  part nb201-sampled "${NB201_LIMIT:-36000}" "$PY" -m benchmarks.nb201_search --preset nb201-c10 --seeds 3 \
    --table "${NB201_TABLE:?set NB201_TABLE to the NAS-Bench-201 results CSV}" \
    --data-dir "${CIFAR_DIR:?set CIFAR_DIR to the CIFAR-10 folder}" --set device=cuda \
    --set weights.mode=sampled --curve-every 10 --recalibrate 8 --top-check 100 \
    --out "$OUTDIR/nb201-sampled-runs" --json "$OUTDIR/nb201-sampled.json"
  part nb201 "${NB201_LIMIT:-36000}" "$PY" -m benchmarks.nb201_search --preset nb201-c10 --seeds 3 \
    --table "$NB201_TABLE" --data-dir "$CIFAR_DIR" --set device=cuda --curve-every 10 --recalibrate 8 --top-check 100 \
    --out "$OUTDIR/nb201-runs" --json "$OUTDIR/nb201.json"
fi
echo "done $(date -u +%H:%M:%S)"
