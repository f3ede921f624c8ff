"""Compare the two weight-training modes of the search: the paper's ``mixed`` and ``sampled``.

    python -m benchmarks.weight_modes --preset quick --train-preset quick --seeds 0,1 [--out DIR] [--set k=v ...]

For every seed and mode it runs ``tndnas search`` and then ``tndnas train`` on the genotype
found, and prints, per mode: search seconds, the argmax architecture's architecture-half
accuracy in the supernet at the end of the search, the mean accuracy of the sampled
sub-networks over the last stage's updates, the found network's params, and its test error
after training.  On a GPU run it with ``--preset paper-c10 --train-preset eval-c10``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="quick")
    p.add_argument("--train-preset", default="quick")
    p.add_argument("--train-epochs", type=int, default=None)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--out", default="runs/weight-modes")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    py = [sys.executable, "-m", "tndnas.cli"]
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for mode in ("mixed", "sampled"):
            out = Path(args.out) / f"{mode}-seed{seed}"
            if not (out / "summary.json").exists():
                cmd = [*py, "search", "--preset", args.preset, "--out", str(out), "--seed", str(seed), "--no-progress",
                       "--set", f"weights.mode={mode}"]  # fmt: skip
                for o in args.overrides:
                    cmd += ["--set", o]
                run(cmd)
            if not (out / "train" / "summary.json").exists():
                cmd = [*py, "train", "--genotype", str(out), "--preset", args.train_preset, "--out", str(out / "train"),
                       "--seed", str(seed), "--no-progress"]  # fmt: skip
                if args.train_epochs:
                    cmd += ["--epochs", str(args.train_epochs)]
                run(cmd)
            summary = json.loads((out / "summary.json").read_text())
            recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
            last_stage = max(r["stage"] for r in recs if r["kind"] == "alpha")
            alpha = [
                r
                for r in recs
                if r["kind"] == "alpha" and r["stage"] == last_stage and r["acc_mean"] is not None
            ]
            epochs = [r for r in recs if r["kind"] == "epoch"]
            trained = json.loads((out / "train" / "summary.json").read_text())
            rows.append({
                "mode": mode, "seed": seed, "search_s": summary["seconds_total"],
                "argmax_arch_acc": epochs[-1]["arch_acc_argmax"],
                "sampled_acc_last_stage": statistics.mean(r["acc_mean"] for r in alpha) if alpha else None,
                "params": summary["params"], "test_error": trained["test_error"],
            })  # fmt: skip
    print(
        f"{'mode':8} {'seed':>4} {'search s':>9} {'argmax acc%':>12} {'sampled acc%':>13} {'params':>10} {'test err%':>9}"
    )
    for r in rows:
        sampled = (
            "-"
            if r["sampled_acc_last_stage"] is None
            else f"{100 * r['sampled_acc_last_stage']:.1f}"
        )
        print(f"{r['mode']:8} {r['seed']:>4} {r['search_s']:>9.0f} {100 * r['argmax_arch_acc']:>12.1f} {sampled:>13} "
              f"{r['params']:>10,} {r['test_error']:>9.2f}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return {"rows": rows}


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
