"""Weight-sharing searches of the NAS-Bench-201 space, scored by the benchmark's table.

    python -m benchmarks.nb201_search --preset nb201-c10-cpu --seeds 3 --table FILE.csv
                                      [--data-dir DIR] [--kendall-cells 100] [--kendall-images 1024]
                                      [--out DIR] [--json OUT] [--curve-every E] [--recalibrate B]
                                      [--top-check K]
                                      [--set KEY=VALUE ...]

Runs one search per seed (the preset as it is, plus ``--set``), looks the found cell up in the
table (its CIFAR-10 test accuracy after 200 epochs, and its rank), and measures how well the
final supernet ranks cells: the Kendall tau between the accuracy of ``--kendall-cells`` random
cells in the supernet (sampled path, BatchNorm on batch statistics, on ``--kendall-images``
architecture-half images) and their table accuracy.  Prints the mean ± std over seeds beside the
published anchors of weight-sharing methods in this space.  ``--curve-every E``: the same tau
every E epochs while the supernet trains, against the search's seconds so far (the checks' own
time left out), to see what more training would buy.  ``--recalibrate B``: the final tau
again with each cell's BatchNorm running statistics re-estimated on B batches of weight-half
images and the cell scored in eval mode, against the batch statistics the search scores with.
``--top-check K``: the best of the policy's K most probable cells by supernet accuracy (on twice
``--kendall-images`` images) against its argmax, and the supernet's Kendall tau among the table's
100 best cells.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau

from tndnas.config import load_search_config
from tndnas.data import BatchIterator
from tndnas.search.algorithm import Search
from tndnas.search.scoring import score_paths
from tndnas.spaces.nb201 import NB201_OPS
from tndnas.spaces.nb201.table import read_nb201_table

OBJECTIVE = "CIFAR10TestAccuracy200Epochs"
#: CIFAR-10 test accuracy (%) of the cell each weight-sharing method finds (NAS-Bench-201 paper).
ANCHORS = {"DARTS-V1/V2": "54.30", "ENAS": "53.89 ± 0.58", "RSPS": "84.07 ± 3.61",
           "SETN": "87.64", "GDAS": "93.61 ± 0.09", "best cell": "94.37"}  # fmt: skip


class _KeepLastStage(Search):
    """The search, keeping its last stage's state (supernet and policy) for the ranking check;
    with ``curve`` set, the table's Kendall tau every ``curve["every"]`` epochs as it trains."""

    curve: dict | None = None

    def evaluate(self, s):  # noqa: ANN001 - a StageState
        self.last_stage = s
        c = self.curve
        if c is not None:
            c["epochs"] = c.get("epochs", 0) + 1
            if c["epochs"] % c["every"] == 0:  # minutes of the search itself, not of this check
                t = time.perf_counter()
                seconds = t - c["start"] - c["spent"]
                rank = supernet_ranking(self, c["table"], c["cells"], c["images"], c["seed"])
                c["spent"] += time.perf_counter() - t
                c["points"].append({"epoch": c["epochs"], "seconds": round(seconds, 2),
                                    "tau": round(rank["kendall_tau"], 4)})  # fmt: skip
                print(json.dumps({"seed": c["seed"], **c["points"][-1]}), flush=True)
        return super().evaluate(s)


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b of two equally long lists (0 where either list is constant)."""
    tau = kendalltau(a, b).statistic
    return 0.0 if math.isnan(tau) else float(tau)


def _images(search: _KeepLastStage, idx: torch.Tensor, batch: int, drop_last: bool) -> list:
    """Training images ``idx`` in order, unaugmented, in batches of ``batch``."""
    return list(BatchIterator(search.data.train_x, search.data.train_y, batch, mean=search.data.mean,
                              std=search.data.std, augment=None, shuffle=False, drop_last=drop_last,
                              indices=idx, generator=torch.Generator().manual_seed(0)))  # fmt: skip


@torch.no_grad()
def supernet_ranking(
    search: _KeepLastStage, table, cells: int, images: int, seed: int, recalibrate: int = 0
) -> dict:
    """Accuracy of ``cells`` random cells in the final supernet against their table accuracy.

    ``recalibrate`` > 0: before each cell is scored, its BatchNorm running statistics are
    re-estimated on that many batches of 64 weight-half images through its own path, and it is
    scored on them (eval mode) instead of on each batch's own statistics (the search's way)."""
    s = getattr(search, "last_stage", None)
    if s is None:
        raise SystemExit("the search ran no epoch here (a finished run?): nothing to rank with")
    cands = s.supernet.candidates["normal"]  # the last stage's candidates, in its supernet
    if any(len(c) != len(NB201_OPS) for c in cands):
        raise SystemExit("the ranking check needs every op on every edge of the last stage")
    rng = random.Random(seed)
    picked = rng.sample(sorted(table.index), cells)
    idx = search.arch_idx[:images]
    batches = _images(search, idx, 256, drop_last=False)
    calibration = (
        _images(search, search.weight_idx[: 64 * recalibrate], 64, drop_last=True)
        if recalibrate
        else []
    )
    if recalibrate and not calibration:
        raise SystemExit("--recalibrate needs at least 64 weight-half images")
    net = s.supernet
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, {k: v.clone() for k, v in m.named_buffers()}) for m in bns]
    was_training = net.training
    in_supernet = []
    try:
        for ops in picked:
            path = {"normal": [cands[e].index(op) for e, op in enumerate(ops)]}
            if recalibrate:  # the path's own running statistics, then eval mode
                for m in bns:
                    m.reset_running_stats()
                    m.momentum = None  # a cumulative average over the calibration batches
                net.train()
                for x, _ in calibration:
                    net.forward_path(x, path)
                net.eval()
                correct = sum(
                    float((net.forward_path(x, path).argmax(1) == y).sum()) for x, y in batches
                )
            else:
                correct = sum(float(score_paths(net, x, y, [path])[0]) * len(y) for x, y in batches)
            in_supernet.append(100.0 * correct / sum(len(y) for _, y in batches))
    finally:  # the supernet as it was: buffers, momentum, mode
        for m, (momentum, buffers) in zip(bns, saved):
            m.momentum = momentum
            for k, v in m.named_buffers():
                v.copy_(buffers[k])
        net.train(was_training)
    truth = [table.columns[OBJECTIVE][table.row(ops)] for ops in picked]
    return {"kendall_tau": kendall_tau(in_supernet, truth), "cells": cells, "images": len(idx)}


@torch.no_grad()
def top_check(search: _KeepLastStage, table, k: int, images: int) -> dict:
    """What the final supernet can tell apart at the top, and whether it could pick the final
    cell better than the policy's argmax.

    Scores (sampled path, batch statistics, ``images`` architecture-half images) the policy's
    ``k`` most probable cells and the table's 100 best, and returns: the table accuracy of the
    cell the supernet scores highest among the ``k`` most probable (``best_of_k``; the first of
    them is the argmax), the supernet's mean accuracy of the table's 100 best cells and of 100
    random ones, and its Kendall tau against the table among those 100 best."""
    s = search.last_stage
    cands = s.supernet.candidates["normal"]
    logp = torch.log(s.policy.probs()["normal"])  # (edges, candidates), in candidate order
    acc = table.columns[OBJECTIVE]
    cells = sorted(table.index)
    by_policy = sorted(
        cells, key=lambda ops: -sum(float(logp[e, cands[e].index(o)]) for e, o in enumerate(ops))
    )[:k]
    best = sorted(cells, key=lambda ops: -acc[table.row(ops)])[:100]
    others = random.Random(search.cfg.seed).sample(cells, 100)
    batches = _images(search, search.arch_idx[-images:], 256, drop_last=False)
    total = sum(len(y) for _, y in batches)

    def in_supernet(group: list) -> list[float]:
        scores = torch.zeros(len(group))
        for i in range(0, len(group), 10):  # 10 paths per forward share their common prefix
            paths = [
                {"normal": [cands[e].index(o) for e, o in enumerate(ops)]}
                for ops in group[i : i + 10]
            ]
            for x, y in batches:
                scores[i : i + len(paths)] += score_paths(s.supernet, x, y, paths).cpu() * len(y)
        return (100.0 * scores / total).tolist()

    mine, top, rand = in_supernet(by_policy), in_supernet(best), in_supernet(others)
    picked = {}
    for n in sorted({1, 5, 10, 20, k} & set(range(1, k + 1))):
        i = max(range(n), key=lambda j: mine[j])
        picked[str(n)] = acc[table.row(by_policy[i])]
    return {"best_of_k": picked, "top100_in_supernet": statistics.fmean(top),
            "random100_in_supernet": statistics.fmean(rand),
            "top100_tau": kendall_tau(top, [acc[table.row(ops)] for ops in best]),
            "top_check_images": total}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="nb201-c10-cpu")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument(
        "--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1"
    )
    p.add_argument("--table", required=True)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--kendall-cells", type=int, default=100)
    p.add_argument("--kendall-images", type=int, default=1024)
    p.add_argument("--out", default="runs/nb201-search")
    p.add_argument("--json", default=None)
    p.add_argument("--recalibrate", type=int, default=0, metavar="B",
                   help="also the tau with each cell's BatchNorm statistics re-estimated on B batches "
                   "of 64 weight-half images (0: not measured)")  # fmt: skip
    p.add_argument("--curve-every", type=int, default=0, metavar="E",
                   help="also the table's tau every E epochs while the supernet trains (0: only at the end)")  # fmt: skip
    p.add_argument("--top-check", type=int, default=0, metavar="K",
                   help="also the best of the policy's K most probable cells by supernet accuracy, and "
                   "the supernet's ranking among the table's 100 best cells (0: not measured)")  # fmt: skip
    p.add_argument("--set", dest="overrides", action="append", default=[])
    args = p.parse_args(argv)
    table = read_nb201_table(args.table)
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        sets = [f"seed={seed}", *args.overrides]
        sets += [f"dataset.data_dir={args.data_dir}"] if args.data_dir else []
        cfg = load_search_config(preset=args.preset, overrides=sets)
        t = time.perf_counter()
        search = _KeepLastStage(cfg, Path(args.out) / f"seed{seed}", progress=False, plots=False)
        if args.curve_every:
            search.curve = {"every": args.curve_every, "table": table, "cells": args.kendall_cells,
                            "images": args.kendall_images, "seed": seed, "start": t, "spent": 0.0,
                            "points": []}  # fmt: skip
        summary = search.run()
        seconds = time.perf_counter() - t - (search.curve["spent"] if search.curve else 0.0)
        from tndnas.spaces import load_genotype

        geno = load_genotype(Path(args.out) / f"seed{seed}")
        row = table.row(geno.ops)
        rank = supernet_ranking(search, table, args.kendall_cells, args.kendall_images, seed)
        if args.recalibrate:  # the same cells, BatchNorm statistics re-estimated per cell
            again = supernet_ranking(search, table, args.kendall_cells, args.kendall_images, seed,
                                     recalibrate=args.recalibrate)  # fmt: skip
            rank["kendall_tau_recalibrated"] = again["kendall_tau"]
        if args.top_check:  # what the supernet tells apart among the best cells
            rank["top_check"] = top_check(search, table, args.top_check, 2 * args.kendall_images)
        runs.append({"seed": seed, "cell": geno.cell_string(), "index": row,
                     "test_accuracy": table.columns[OBJECTIVE][row], "rank": table.rank(OBJECTIVE, geno.ops),
                     "search_seconds": seconds, "summary_seconds": summary["seconds_total"], **rank,
                     # the search's own check, without the table: two halves of the architecture data
                     "halves_tau": summary["stages"][-1]["ranking_tau"],
                     "weight_free_share": summary["stages"][-1]["weight_free_share"],
                     **({"curve": search.curve["points"]} if search.curve else {})})  # fmt: skip
        print(json.dumps(runs[-1]), flush=True)
    accs = [r["test_accuracy"] for r in runs]
    taus = [r["kendall_tau"] for r in runs]
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0  # noqa: E731
    res = {"preset": args.preset, "overrides": args.overrides, "runs": runs,
           "test_accuracy": {"mean": statistics.fmean(accs), "std": sd(accs)},
           "kendall_tau": {"mean": statistics.fmean(taus), "std": sd(taus)}, "anchors": ANCHORS}  # fmt: skip
    print(f"{args.preset}, {len(runs)} seeds: found cells' CIFAR-10 test accuracy "
          f"{res['test_accuracy']['mean']:.2f} ± {res['test_accuracy']['std']:.2f} %, Kendall tau "
          f"{res['kendall_tau']['mean']:.3f} ± {res['kendall_tau']['std']:.3f} "
          f"({args.kendall_cells} random cells); search {statistics.fmean(r['search_seconds'] for r in runs):.0f} s each")  # fmt: skip
    print("published: " + ", ".join(f"{k} {v}" for k, v in ANCHORS.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
