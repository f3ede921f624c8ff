"""How well latency tables predict whole networks, as users count it: the share of random
networks predicted within 10 % of their measured latency, the rank correlation, the median and
worst predicted/measured ratio -- with and without calibration, per backend and batch size.

    python -m benchmarks.latency_accuracy [--preset paper-c10] [--backends torch,onnxruntime]
        [--batches 1,8] [--calibrate 10] [--check 30] [--threads N] [--json OUT]

Each setting runs ``tndnas latency-table`` as a user would (its defaults: three rounds of
pieces; the calibration's and the check's networks timed whole together, interleaved over 10
rounds, 1 s of runs each, corrected by a reference workload for the machine's drift) in a
process of its own, with ``--check-json``; the uncalibrated figures are the same networks'
plain sums of pieces, the uncorrected ones the same timings without the reference's
correction.  Run it on an idle machine: the figures are about the machine's noise as much as
about the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def run_setting(preset: str, backend: str, batch: int, calibrate: int, check: int,
                threads: int | None, extra: list[str], folder: Path) -> dict:  # fmt: skip
    table, figures = folder / f"{backend}-{batch}.json", folder / f"{backend}-{batch}-check.json"
    cmd = [sys.executable, "-m", "tndnas", "latency-table", "--preset", preset, "--backend", backend,
           "--batch", str(batch), "--calibrate", str(calibrate), "--check", str(check),
           "--check-json", str(figures), "--out", str(table), *extra]  # fmt: skip
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return {
            "backend": backend,
            "batch": batch,
            "error": lines[-1] if lines else f"status {proc.returncode}",
        }
    check = json.loads(figures.read_text())
    data = json.loads(table.read_text())
    cal = data.get("calibration") or {"scale": 1.0, "offset_ms": 0.0}
    # the same networks' plain sums: undo the calibration
    raw = [(n["predicted_ms"] - cal["offset_ms"]) / cal["scale"] for n in check["networks"]]
    measured = [n["measured_ms"] for n in check["networks"]]
    raw_ratios = [p / m for p, m in zip(raw, measured, strict=True)]
    return {
        "backend": backend,
        "batch": batch,
        "calibration": data.get("calibration"),
        "within_10pct": check["within_10pct"],
        "rank_correlation": check["rank_correlation"],
        "median_ratio": check["median_predicted_over_measured"],
        "worst_ratio": check["worst_predicted_over_measured"],
        "repeat_rank_correlation": check["repeat_rank_correlation"],
        "repeat_within_10pct": check.get("repeat_within_10pct"),
        "flops_rank_correlation": check["flops_rank_correlation"],
        "uncorrected_within_10pct": check.get("uncorrected_within_10pct"),
        "uncorrected_rank_correlation": check.get("uncorrected_rank_correlation"),
        "uncalibrated_within_10pct": sum(abs(r - 1) <= 0.1 for r in raw_ratios) / len(raw_ratios),
        "uncalibrated_median_ratio": sorted(raw_ratios)[len(raw_ratios) // 2],
        "measured_ms_range": [min(measured), max(measured)],
        "networks": len(measured),
        "output": proc.stdout.strip().splitlines(),  # what the user saw
        "check": check,  # every network's predicted and measured latency
    }


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="paper-c10")
    p.add_argument("--backends", default="torch,onnxruntime")
    p.add_argument("--batches", default="1,8")
    p.add_argument("--calibrate", type=int, default=10)
    p.add_argument("--check", type=int, default=30)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--extra", default="", help="further latency-table flags, space-separated")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    extra = [a for s in args.overrides for a in ("--set", s)] + args.extra.split()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                row = run_setting(args.preset, backend, batch, args.calibrate, args.check,
                                  args.threads, extra, Path(tmp))  # fmt: skip
                rows.append(row)
                if "error" in row:
                    print(f"{backend:12} batch {batch:3}: failed: {row['error']}", flush=True)
                    continue
                print(f"{backend:12} batch {batch:3}: {row['within_10pct']:.0%} within 10 % "
                      f"(plain sum: {row['uncalibrated_within_10pct']:.0%}), rank correlation "
                      f"{row['rank_correlation']:.2f} (two measurements: {row['repeat_within_10pct']:.0%} within 10 %, "
                      f"rank correlation {row['repeat_rank_correlation']:.2f}; FLOPs: "
                      f"{row['flops_rank_correlation']:.2f}), predicted/measured median {row['median_ratio']:.2f} "
                      f"worst {row['worst_ratio']:.2f} (plain sum: median {row['uncalibrated_median_ratio']:.2f}); "
                      f"without the drift correction {row['uncorrected_within_10pct']:.0%} within 10 %, rank correlation "
                      f"{row['uncorrected_rank_correlation']:.2f}; "
                      f"{row['networks']} networks of {row['measured_ms_range'][0]:.1f}-{row['measured_ms_range'][1]:.1f} ms",
                      flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
