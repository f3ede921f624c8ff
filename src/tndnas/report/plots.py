"""Plots of a search run directory (PNG, written to ``<run_dir>/plots/``).

Reads what the search writes:

* ``metrics.jsonl`` (see :mod:`tndnas.report.metrics`), records by ``kind``:

  - ``"alpha"`` (one per alpha update): stage, epoch, step, update, reward_mean, reward_max,
    baseline, acc_max, acc_mean (0..1), entropy (nats), costs_mean (every cost of the run by
    name, each in its unit: params in M, flops in MFLOPs, latency_ms, ...) and every few
    updates argmax_acc;
  - ``"epoch"``: stage, epoch, train_loss, train_acc, arch_acc_supernet, arch_acc_argmax
    (null while pretraining), seconds, peak_memory_mb, lr;
  - ``"stage"``: stage, seconds, costs (of the derived architecture), genotype.

* ``alpha/stage{k}_epoch{e:03d}.json``: raw alpha (edges x K) and the op names on each edge,
  per cell type.
* ``genotype.json`` (or, for a run that has not finished, the last ``genotype_stage{k}.json``).

:func:`plot_run` draws every plot the data allows and skips the others; a plot that fails
is reported with a warning and never stops the rest.  Command line:
``python -m tndnas.report.plots RUN_DIR``.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..run_files import SearchRunFiles
from ..spaces import genotype_from_dict, load_genotype, space_of
from .alpha_plots import plot_alpha_stage, plot_argmax_ops
from .metric_plots import plot_accuracy, plot_cost, plot_entropy, plot_epochs, plot_reward
from .metrics import read_metrics
from .plot_common import (
    DPI,
    STAGE_LINE,
    X_UPDATES,
    _dedupe,
    edge_labels,
    load_alpha_snapshots,
    op_colour,
    softmax_rows,
)

__all__ = [
    "DPI",
    "STAGE_LINE",
    "X_UPDATES",
    "edge_labels",
    "load_alpha_snapshots",
    "main",
    "op_colour",
    "plot_accuracy",
    "plot_alpha_stage",
    "plot_argmax_ops",
    "plot_cost",
    "plot_entropy",
    "plot_epochs",
    "plot_reward",
    "plot_run",
    "softmax_rows",
]


# --------------------------------------------------------------------------- genotype


def _final_genotype(run_dir: Path, stage_records: list[dict]):
    """genotype.json, else the last genotype_stage{k}.json, else the last stage record's."""
    files = SearchRunFiles(run_dir)
    path = files.genotype
    if path.exists():
        return load_genotype(path)
    staged = []
    for p in run_dir.glob("genotype_stage*.json"):
        m = re.fullmatch(r"genotype_stage(\d+)\.json", p.name)
        if m:
            staged.append((int(m.group(1)), p))
    if staged:
        return load_genotype(max(staged)[1])
    for r in reversed(stage_records):
        if isinstance(r.get("genotype"), dict):
            return genotype_from_dict(r["genotype"], where="metrics stage record")
    return None


# --------------------------------------------------------------------------- entry point


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw every plot of a run directory that its data allows into ``<run_dir>/plots``.

    Returns the paths written.  Missing optional data (alpha files, genotype, argmax
    accuracies, ...) only skips the plots that need it; a plot that fails is reported with
    a warning and the others are still drawn.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: not a directory; pass a search run directory")
    files = SearchRunFiles(run_dir)
    out = files.plots
    out.mkdir(parents=True, exist_ok=True)
    records = read_metrics(files.metrics)
    alpha = _dedupe([r for r in records if r.get("kind") == "alpha"], "update")
    epochs = _dedupe([r for r in records if r.get("kind") == "epoch"], "epoch")
    stages = [r for r in records if r.get("kind") == "stage"]
    snaps = load_alpha_snapshots(files.alpha_dir)

    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("accuracy", lambda: plot_accuracy(alpha, out / "accuracy.png")),
        ("cost", lambda: plot_cost(alpha, stages, out / "cost.png")),
        ("reward", lambda: plot_reward(alpha, out / "reward.png")),
        ("entropy", lambda: plot_entropy(alpha, out / "entropy.png")),
        ("epochs", lambda: plot_epochs(epochs, out / "epochs.png")),
    ]
    cell_types = dict.fromkeys(ct for s in snaps for ct, v in s.items() if isinstance(v, dict))
    for ct in cell_types:
        jobs.append(
            (
                f"argmax_ops_{ct}",
                lambda ct=ct: plot_argmax_ops(snaps, ct, out / f"argmax_ops_{ct}.png"),
            )
        )
    last_of_stage: dict[int, dict] = {}
    for s in snaps:
        last_of_stage[s["stage"]] = s  # sorted by (stage, epoch): the last one wins
    for k, snap in sorted(last_of_stage.items()):
        jobs.append(
            (
                f"alpha_stage{k}",
                lambda snap=snap, k=k: plot_alpha_stage(snap, out / f"alpha_stage{k}.png"),
            )
        )

    def cells():
        geno = _final_genotype(run_dir, stages)
        if geno is None:
            return None
        return space_of(geno).draw(geno, out)

    jobs.append(("cell diagrams", cells))

    written: list[Path] = []
    for name, job in jobs:
        try:
            result = job()
        except Exception as err:  # noqa: BLE001 - one bad plot must not stop the others
            warnings.warn(f"plot '{name}' skipped: {type(err).__name__}: {err}", stacklevel=2)
            continue
        if result is None:
            continue
        written.extend(result if isinstance(result, list) else [result])
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m tndnas.report.plots RUN_DIR", file=sys.stderr)
        return 2
    for p in plot_run(argv[0]):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
