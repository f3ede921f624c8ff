"""Time the real search loop for a few hundred steps per stage and project the whole search.

    python -m benchmarks.search_loop --preset paper-c10 --device cuda --steps 100 [--json OUT]

Runs :func:`tndnas.search` itself -- data on the device, augmentation, mixed weight steps,
alpha updates, per-epoch evaluation and checkpoints -- with the preset's network, batch sizes and
candidate shrinking, but every stage cut to four epochs of ``--steps`` steps: two that train
weights only, then two that also update alpha (as the preset's epochs after ``pretrain_epochs``
do).  The first epoch of each kind is warm-up (allocator, cuDNN autotuning, ``torch.compile``);
the second is measured.  A CIFAR preset runs on ``synthetic-cifar10``/``synthetic-cifar100`` (random images of
CIFAR's size, no files needed), so the figures are time and memory only.

From the metrics it reads, per stage: seconds per weight-only step, per step with an alpha
update, per evaluation, and peak memory; then projects the preset's whole search:

    sum_k  E_k * t_eval_k + e_k * S * t_weight_k + (E_k - e_k) * S * t_alpha_step_k

with E_k epochs, e_k weight-only (pretrain) epochs and S steps per epoch of the real dataset.
Epoch start-up costs (a fresh supernet per stage, compiling) are not in the projection.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from tndnas.config import ConfigError, load_search_config
from tndnas.search import search

SYNTHETIC = {"cifar10": "synthetic-cifar10", "cifar100": "synthetic-cifar100"}


def loop_overrides(cfg, steps: int) -> list[str]:
    """The overrides that cut every stage to 2 weight-only + 2 alpha epochs of ``steps`` steps."""
    out = [f"weights.max_steps_per_epoch={steps}"]
    for k in range(len(cfg.stages)):
        out += [f"stages.{k}.epochs=4", f"stages.{k}.pretrain_epochs=2"]
    if cfg.dataset.name in SYNTHETIC:
        out.append(f"dataset.name={SYNTHETIC[cfg.dataset.name]}")
    return out


def per_stage(metrics: list[dict]) -> list[dict]:
    """Seconds per step (without / with alpha), per evaluation and peak memory of each stage."""
    out = []
    for k in sorted({m["stage"] for m in metrics if m["kind"] == "epoch"}):
        ep = [m for m in metrics if m["kind"] == "epoch" and m["stage"] == k][:4]
        if len(ep) < 4:  # a stage cut short (the run was interrupted)
            continue
        steps = ep[0]["steps"]
        # seconds are cumulative over the stage; epochs 1 and 3 are the measured ones
        t_weight = ep[1]["seconds"] - ep[0]["seconds"] - ep[1]["eval_seconds"]
        t_alpha = ep[3]["seconds"] - ep[2]["seconds"] - ep[3]["eval_seconds"]
        out.append({"stage": k + 1, "steps": steps, "weight_step_s": t_weight / steps, "alpha_step_s": t_alpha / steps,
                    "alpha_update_s": max(t_alpha - t_weight, 0.0) / steps,
                    "eval_s": (ep[1]["eval_seconds"] + ep[3]["eval_seconds"]) / 2,  # warm epochs
                    "warmup_s": ep[0]["seconds"] - ep[0]["eval_seconds"] - t_weight,
                    "peak_memory_mb": max(e["peak_memory_mb"] for e in ep)})  # fmt: skip
    return out


def project(cfg, stages: list[dict], steps_per_epoch: int) -> float:
    """Seconds of the preset's whole search from the per-stage figures."""
    total = 0.0
    for st, f in zip(cfg.stages, stages):
        total += st.epochs * f["eval_s"]
        total += st.pretrain_epochs * steps_per_epoch * f["weight_step_s"]
        total += (st.epochs - st.pretrain_epochs) * steps_per_epoch * f["alpha_step_s"]
    return total


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="paper-c10")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--steps", type=int, default=50, help="steps per (cut) epoch; 4 epochs per stage"
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="further config overrides, applied before the cut (e.g. weights.compile=true)")  # fmt: skip
    p.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    p.add_argument("--json", default=None, help="write the figures to this JSON file")
    args = p.parse_args(argv)
    try:
        full = load_search_config(
            preset=args.preset, overrides=[f"device={args.device}", *args.set]
        )
        cfg = load_search_config(
            preset=args.preset,
            overrides=[f"device={args.device}", *args.set, *loop_overrides(full, args.steps)],
        )
    except ConfigError as err:
        sys.exit(f"error: {err}")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.out) if args.out else Path(tmp) / "run"
        t = time.perf_counter()
        interrupted = False
        try:
            env = search(cfg, run, progress=False, plots=False)["environment"]
        except ConfigError as err:
            sys.exit(f"error: {err}")
        except KeyboardInterrupt:  # out of time: report the stages that finished
            interrupted = True
            env = json.loads((run / "run.json").read_text())["environment"]
        wall = time.perf_counter() - t
        metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    from tndnas.data import load_dataset, search_split
    from tndnas.data.synthetic import SHAPES

    if cfg.dataset.name in SHAPES:  # no need to draw the random images again
        n_train = SHAPES[cfg.dataset.name][1]
    else:
        n_train = len(load_dataset(cfg.dataset.name, cfg.dataset.data_dir).train_y)
    n_weight = len(search_split(n_train, cfg.seed, 1.0 - cfg.dataset.arch_fraction)[0])
    steps_per_epoch = max(n_weight // cfg.weights.batch_size, 1)
    if full.weights.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, full.weights.max_steps_per_epoch)
    stages = per_stage(metrics)
    complete = len(stages) == len(full.stages)
    total = project(full, stages, steps_per_epoch) if complete else float("nan")
    out = {
        "preset": args.preset, "dataset": cfg.dataset.name, "device": env.get("device"), "gpu": env.get("gpu"), "torch": env.get("torch"),
        "batch": cfg.weights.batch_size, "arch_batch": cfg.policy.arch_batch_size, "samples": cfg.policy.samples,
        "rl_interval": cfg.policy.rl_interval, "amp": cfg.weights.amp, "channels_last": cfg.weights.channels_last,
        "checkpoint": cfg.weights.checkpoint, "compile": cfg.weights.compile, "steps_measured": args.steps,
        "steps_per_epoch": steps_per_epoch, "wall_s": wall, "stages": stages,
        "interrupted": interrupted, "projected_total_s": total if complete else None,
        "projected_total_h": total / 3600 if complete else None,
    }  # fmt: skip
    print(f"search loop: {args.preset} on {out['dataset']}, {out['device']}, batch {out['batch']}, "
          f"{args.steps} steps per cut epoch, measured in {wall:.0f} s")  # fmt: skip
    for f in stages:
        print(f"  stage {f['stage']}: weight step {f['weight_step_s'] * 1e3:.1f} ms, step with alpha update "
              f"{f['alpha_step_s'] * 1e3:.1f} ms (alpha update {f['alpha_update_s'] * 1e3:.1f} ms), "
              f"evaluation {f['eval_s']:.2f} s, warm-up {f['warmup_s']:.1f} s, peak {f['peak_memory_mb']:.0f} MB")  # fmt: skip
    if not complete:
        print(f"  interrupted after {len(stages)} of {len(full.stages)} stages: no projection")
    else:
        print(
            f"  projected whole {args.preset} search ({steps_per_epoch} steps/epoch): "
            f"{total:.0f} s = {out['projected_total_h']:.2f} h (evaluation, weight and alpha steps; "
            "no start-up, checkpoints or plots)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
