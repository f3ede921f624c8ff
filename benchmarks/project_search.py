"""Project the wall time of a whole search from measured per-step times of each stage.

    python -m benchmarks.project_search --preset paper-c10 --device cuda [--batch 128] [--repeats 20] [--json OUT]

For every stage k of the preset it times a mixed weight step and an alpha update (M samples)
with ``benchmarks.search_step``, then projects

    sum_k  epochs_k * S * t_weight_k  +  (epochs_k - e_k) * S / rl_interval * t_alpha_k

with S = weight-half images / batch steps per epoch (CIFAR: 25,000 images).  Evaluation and
checkpointing are not included (a few seconds per epoch).
"""

from __future__ import annotations

import argparse
import json

from tndnas.config import load_search_config

from .search_step import main as step_benchmark

TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000, "digits": 1_437}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="paper-c10")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--batch", type=int, default=None, help="default: the preset's weights.batch_size"
    )
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--checkpoint", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--compile-mode", default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cfg = load_search_config(preset=args.preset)
    batch = args.batch or cfg.weights.batch_size
    weight_half = int(TRAIN_IMAGES[cfg.dataset.name] * (1 - cfg.dataset.arch_fraction))
    steps = weight_half // batch
    total, stages = 0.0, []
    for k, st in enumerate(cfg.stages, start=1):
        argv_k = ["--preset", args.preset, "--stage", str(k), "--batch", str(batch), "--device", args.device,
                  "--repeats", str(args.repeats), "--memory-stage", str(k)]  # fmt: skip
        if args.channels_last:
            argv_k.append("--channels-last")
        if args.checkpoint:
            argv_k.append("--checkpoint")
        if args.compile:
            argv_k.append("--compile")
        if args.compile_mode:
            argv_k += ["--compile-mode", args.compile_mode]
        r = step_benchmark(argv_k)
        seconds = (
            st.epochs * steps * r["mixed_step_s"]
            + (st.epochs - st.pretrain_epochs)
            * steps
            / cfg.policy.rl_interval
            * r["alpha_update_s"]
        )
        stages.append({"stage": k, "layers": st.layers, "mixed_step_s": r["mixed_step_s"], "alpha_update_s": r["alpha_update_s"],
                       "peak_memory_mb": r.get("mixed_step_peak_memory_mb"), "projected_s": seconds})  # fmt: skip
        total += seconds
    out = {"preset": args.preset, "device": args.device, "batch": batch, "steps_per_epoch": steps, "stages": stages,
           "projected_total_s": total, "projected_total_h": total / 3600}  # fmt: skip
    print(f"\nprojected {args.preset} search on {args.device}, batch {batch}, {steps} steps/epoch:")
    for s in stages:
        print(f"  stage {s['stage']} ({s['layers']} layers): weight step {s['mixed_step_s']:.3f} s, alpha update "
              f"{s['alpha_update_s']:.3f} s, peak {s['peak_memory_mb'] or 0:.0f} MB -> {s['projected_s'] / 3600:.2f} h")  # fmt: skip
    print(f"  total: {out['projected_total_h']:.2f} h")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
