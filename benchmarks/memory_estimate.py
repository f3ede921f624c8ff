"""The search's weight-step memory estimate (``weights.memory_check``) against measured peaks.

    python -m benchmarks.memory_estimate --preset paper-c10 --batch 64 --stages 1,3 [--checkpoint] [--device cpu|cuda] [--json OUT]

For each stage: the estimate the search makes before it starts (an upper bound over which ops
the earlier stages keep), and the peak memory of two mixed weight steps of that stage's
supernet with its costliest candidates, measured in a fresh process by ``benchmarks.search_step``
(peak RSS of the whole process on the CPU, max allocated on CUDA).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import torch

from tndnas.config import load_search_config
from tndnas.macro import Macro
from tndnas.op_sets import resolve_op_set
from tndnas.search.stages import candidates_left
from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs
from tndnas.spaces.darts.memory import probe_supernet

from .search_step import SHAPES


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="paper-c10")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--stages", default="1,3", help="1-based stages, comma-separated")
    p.add_argument("--checkpoint", action="store_true", help="weights.checkpoint=true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    cfg = load_search_config(preset=args.preset)
    in_ch, size, classes = SHAPES[cfg.dataset.name]
    amp = cfg.weights.amp and args.device.startswith("cuda")
    full = {
        ct: [list(resolve_op_set(getattr(cfg.space, f"{ct}_ops"))) for _ in edge_pairs()]
        for ct in CELL_TYPES
    }
    rows = []
    for stage in (int(s) for s in args.stages.split(",")):
        st = cfg.stages[stage - 1]
        kept = candidates_left(cfg, stage - 1)
        macro = Macro(cfg.space.channels, st.layers, classes, in_ch, size, steps=cfg.space.steps)
        est = probe_supernet(full, macro, amp=amp).estimate(
            kept, args.batch, checkpoint=args.checkpoint
        )
        cmd = [sys.executable, "-m", "benchmarks.search_step", "--only-memory", "--preset", args.preset,
               "--stage", str(stage), "--batch", str(args.batch), "--device", args.device,
               "--channels-last", "--amp" if amp else "--no-amp"]  # fmt: skip
        if args.checkpoint:
            cmd.append("--checkpoint")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        measured = None
        if proc.returncode == 0:
            measured = json.loads(proc.stdout.strip().splitlines()[-1])["peak_memory_mb"]
        else:
            print(
                f"stage {stage}: measurement failed: {proc.stderr.strip()[-500:]}", file=sys.stderr
            )
        rows.append({"stage": stage, "layers": st.layers, "candidates": kept,
                     "estimate_mb": est.total / 2**20, "estimate_weights_mb": est.weights / 2**20,
                     "estimate_activations_mb": est.activations / 2**20, "measured_mb": measured,
                     "estimate_over_measured": None if not measured else est.total / 2**20 / measured})  # fmt: skip
        r = rows[-1]
        print(f"stage {stage} ({st.layers} cells, {kept}): estimate {r['estimate_mb']:,.0f} MB "
              f"(weights {r['estimate_weights_mb']:,.0f}, activations {r['estimate_activations_mb']:,.0f}), "
              f"measured {'-' if measured is None else f'{measured:,.0f}'} MB"
              + ("" if measured is None else f", ratio {r['estimate_over_measured']:.2f}"), flush=True)  # fmt: skip
    res = {"preset": args.preset, "batch": args.batch, "checkpoint": args.checkpoint, "device": args.device,
           "amp": amp, "torch": torch.__version__, "stages": rows,
           "measured_kind": "max allocated (CUDA)" if args.device.startswith("cuda") else "peak RSS of the process"}  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
