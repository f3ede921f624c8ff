"""A family on one supernet against one search per beta: time and what each member finds.

    python -m benchmarks.family_sweep --preset quick --betas -0.1,-0.5,-1.5 --seeds 0,1 [--train-epochs E]

For every seed it runs, one after the other on this machine, ``tndnas sweep --betas B`` (one
search per beta, ``--jobs 1``: one search at a time) and ``tndnas sweep --betas B
--one-supernet`` (one search, one policy per beta), each with ``--train-epochs`` (default: the
train preset's epochs), and prints per seed and beta: the found network's params (the search's
target network), its architecture-half accuracy in its supernet, its test error after training;
and the wall-clock seconds of the searches: the family's against one search (the separate
sweep's search time divided by the number of betas), the issue's target being <= 1.5x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _sweep(args: argparse.Namespace, out: Path, seed: int, family: bool) -> float:
    """Run one sweep (skipped when its table exists); its searches' wall-clock seconds."""
    cmd = [sys.executable, "-m", "tndnas.cli", "sweep", "--preset", args.preset, "--betas", args.betas,
           "--out", str(out), "--seed", str(seed), "--jobs", "1", "--no-plots"]  # fmt: skip
    cmd += ["--one-supernet"] if family else []
    cmd += [a for o in args.overrides for a in ("--set", o)]
    timing = out / "benchmark_seconds.json"
    if not timing.exists():
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        cmd_train = [*cmd, "--train-epochs", str(args.train_epochs)]  # the searches are done
        subprocess.run(cmd_train, check=True, stdout=subprocess.DEVNULL)
        timing.write_text(json.dumps({"search_wall_seconds": seconds}))
    return json.loads(timing.read_text())["search_wall_seconds"]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="quick")
    p.add_argument("--betas", default="-0.1,-0.5,-1.5")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--train-epochs", type=int, default=10)
    p.add_argument("--out", default="runs/family-sweep")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    n = len(args.betas.split(","))
    rows, ratios = [], []
    for seed in [int(s) for s in args.seeds.split(",")]:
        walls = {}
        for kind in ("separate", "family"):
            out = Path(args.out) / f"{kind}-seed{seed}"
            walls[kind] = _sweep(args, out, seed, kind == "family")
            for r in json.loads((out / "pareto.json").read_text()):
                rows.append({"seed": seed, "kind": kind, "beta": r["beta"],
                             "params_m": r.get("params"), "arch_acc": r["arch_acc"],
                             "test_error": r["test_error"]})  # fmt: skip
        ratio = walls["family"] / (walls["separate"] / n)
        ratios.append(ratio)
        print(f"seed {seed}: {n} searches {walls['separate']:.0f} s, the family "
              f"{walls['family']:.0f} s: {ratio:.2f}x one search")  # fmt: skip
    print(f"\n{'beta':>6} {'kind':>9} {'params (M)':>18} {'arch acc %':>16} {'test error %':>16}")
    for beta in sorted({r["beta"] for r in rows}, reverse=True):
        for kind in ("separate", "family"):
            mine = [r for r in rows if r["beta"] == beta and r["kind"] == kind]
            cols = [[r[c] for r in mine] for c in ("params_m", "arch_acc", "test_error")]
            cells = [f"{statistics.mean(v):.3g} ± {statistics.pstdev(v):.2g}" for v in cols]
            print(f"{beta:>6g} {kind:>9} {cells[0]:>18} {cells[1]:>16} {cells[2]:>16}")
    ordered = [
        all(a >= b for a, b in zip(ps, ps[1:]))
        for seed in {r["seed"] for r in rows}
        for ps in [
            [
                r["params_m"]
                for r in sorted(
                    (r for r in rows if r["seed"] == seed and r["kind"] == "family"),
                    key=lambda r: -r["beta"],
                )
            ]
        ]  # fmt: skip
    ]
    print(f"\nfamily / one search: {statistics.mean(ratios):.2f}x (target <= 1.5x); members' "
          f"params ordered as their beta in {sum(ordered)} of {len(ordered)} seeds")  # fmt: skip
    result = {"rows": rows, "ratios": ratios, "ordered": ordered}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
