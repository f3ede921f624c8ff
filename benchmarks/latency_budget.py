"""Do latency budgets hold?  A latency table of the quick preset's target network, then one
search per budget P with the latency as a hard budget (``beta_below: 0``), and the found
network timed end to end against P.

    python -m benchmarks.latency_budget [--preset quick] [--budgets 0.8,1.0,1.2] [--json OUT]

Budgets are given as fractions of the median predicted latency of random networks, so they
bind on any machine.  Every search is the preset's own (its stages, epochs and policy), with
each stage's cost terms replaced by ``{cost: latency_ms, ref: P, beta: --beta, beta_below: 0}``.
The found networks are timed whole together at the end, as ``tndnas latency-table`` times its
networks (interleaved over 10 rounds, ``--time`` seconds each, drift-corrected).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tndnas.config import load_search_config
from tndnas.objectives.latency_check import time_networks
from tndnas.search.stages import search_space, space_ops
from tndnas.spaces import load_genotype
from tndnas.spaces.darts.latency import DartsLatencyTable


def _tndnas(*argv: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tndnas", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise SystemExit(f"tndnas {argv[0]} failed: {lines[-1] if lines else proc.returncode}")


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="quick")
    p.add_argument("--budgets", default="0.8,1.0,1.2",
                   help="budgets P as fractions of the median predicted latency of random networks")  # fmt: skip
    p.add_argument("--beta", type=float, default=-2.0, help="the exponent above the budget")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--table-flags", default="", help="further latency-table flags, space-separated")
    p.add_argument(
        "--time",
        type=float,
        default=1.0,
        help="seconds of runs per found network (spread over 10 rounds)",
    )
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    sets = [a for s in args.overrides for a in ("--set", s)]
    cfg = load_search_config(preset=args.preset, overrides=args.overrides)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        table_path = Path(tmp) / "table.json"
        _tndnas("latency-table", "--preset", args.preset, *sets, "--check", "0", "--out", str(table_path),
                *args.table_flags.split())  # fmt: skip
        table = DartsLatencyTable.load(table_path)
        space = search_space(cfg)
        ops = {ct: list(v) for ct, v in space_ops(cfg).items()}
        typical = statistics.median(
            table.latency_ms(g) for g in space.random_genotypes(ops, table.macro, 30, seed=7)
        )
        found = []
        for fraction in (float(f) for f in args.budgets.split(",")):
            budget = fraction * typical
            term = f"{{cost: latency_ms, ref: {budget:.6g}, beta: {args.beta}, beta_below: 0.0}}"
            stages = [f"stages.{k}.costs=[{term}]" for k in range(len(cfg.stages))]
            run = Path(tmp) / f"run-{fraction}"
            _tndnas("search", "--preset", args.preset, *sets, *[a for s in stages for a in ("--set", s)],
                    "--set", f"reward.latency_table={table_path}", "--no-progress", "--no-plots", "--out", str(run))  # fmt: skip
            found.append((fraction, budget, load_genotype(run / "genotype.json")))
        # the found networks timed whole together, as latency-table times its networks
        timing = time_networks(table, [g for *_, g in found], args.time)
        for (fraction, budget, genotype), measured in zip(found, timing.measured_ms(), strict=True):
            predicted = table.latency_ms(genotype)
            rows.append({"budget_ms": budget, "fraction_of_typical": fraction, "predicted_ms": predicted,
                         "measured_ms": measured, "measured_over_budget": measured / budget,
                         "within_budget": measured <= budget})  # fmt: skip
            print(f"budget {budget:.2f} ms ({fraction:.2f} x typical): found network predicted "
                  f"{predicted:.2f} ms, measured {measured:.2f} ms = {measured / budget:.2f} x the budget "
                  f"({'within' if measured <= budget else 'OVER'})", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
