#!/usr/bin/env bash
# GPU measurements for BENCHMARKS.md: run on a machine with one CUDA GPU, from the repository root,
# after `make demo` (or `pip install -e .` into .venv with the CUDA build of torch==2.13.0).
# Writes bench-gpu/*.json; takes a few minutes.
set -euo pipefail
PY=${PY:-.venv/bin/python}
mkdir -p bench-gpu
nvidia-smi --query-gpu=name,memory.total --format=csv | tee bench-gpu/gpu.txt
# stage-by-stage step times and peak memory at the paper's batch, and the projected whole search
$PY -m benchmarks.project_search --preset paper-c10 --device cuda --batch 128 --repeats 20 --json bench-gpu/project-c10.json
$PY -m benchmarks.project_search --preset paper-c10 --device cuda --batch 128 --repeats 20 --channels-last --json bench-gpu/project-c10-cl.json
# torch.compile of every op, and with CUDA graphs (reduce-overhead)
$PY -m benchmarks.project_search --preset paper-c10 --device cuda --batch 128 --repeats 20 --channels-last --compile --json bench-gpu/project-c10-compile.json
$PY -m benchmarks.search_step --preset paper-c10 --stage 1 --batch 128 --device cuda --channels-last --compile --compile-mode reduce-overhead --memory-stage 0 --json bench-gpu/step-stage1-cudagraphs.json
# the same ratios as on the CPU
$PY -m benchmarks.search_step --preset paper-c10 --stage 1 --batch 64 --device cuda --json bench-gpu/step-stage1.json
