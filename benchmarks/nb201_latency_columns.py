"""Latency columns for ``tndnas bench-tabular``: this machine's predicted inference latency of
every NAS-Bench-201 cell's published CIFAR-10 network (16 channels, 5 cells per stage, 32x32),
from a latency table measured here, written as a CSV keyed by cell string.

    python -m benchmarks.nb201_latency_columns --batch 1 --out lat_b1.csv [--threads 2]
    tndnas bench-tabular --table nats_tss_test_acc_200ep.csv --cost params+lat_b1.csv:latency_ms

Each batch size (or thread count, or backend) is another device for the benchmark: the pieces
of the network weigh differently on each, so the cells rank differently.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import time

import torch

from tndnas.spaces.nb201 import NB201_OPS, PUBLISHED_CIFAR10, Nb201Genotype, Nb201LatencyTable


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=1, help="images per forward (default 1)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads while timing")
    ap.add_argument("--min-time", type=float, default=0.05, help="seconds per piece (default 0.05)")
    ap.add_argument("--rounds", type=int, default=3, help="measurement rounds (default 3)")
    ap.add_argument("--out", required=True, help="the CSV to write")
    ap.add_argument("--column", default="latency_ms", help="the latency column's name")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    table = Nb201LatencyTable(PUBLISHED_CIFAR10, batch_size=args.batch, threads=args.threads,
                              min_run_time=args.min_time)  # fmt: skip
    table.measure_space({"normal": list(NB201_OPS)}, rounds=args.rounds)
    measured = time.perf_counter() - start
    rows = []
    for cell in itertools.product(NB201_OPS, repeat=6):
        g = Nb201Genotype(cell)
        rows.append((g.cell_string(), table.latency_ms(g)))
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ArchitectureString", args.column])
        w.writerows((s, f"{ms:.6f}") for s, ms in rows)
    values = sorted(ms for _, ms in rows)
    report = {
        "out": args.out, "batch": args.batch, "threads": table.threads, "pieces": len(table.pieces),
        "measure_s": round(measured, 1), "cells": len(rows), "ms_min": round(values[0], 4),
        "ms_median": round(values[len(values) // 2], 4), "ms_max": round(values[-1], 4),
        "torch": torch.__version__,
    }  # fmt: skip
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
