"""``tndnas train``: train a genotype from scratch (evaluation protocol) or resume that training."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import DEFAULT_TRAIN_PRESET, ConfigError, load_train_config, train_preset_names
from ..run_files import TrainRunFiles
from ..runtime.distributed import is_main_process
from .options import (
    add_config_source,
    add_dataset_options,
    add_distributed_options,
    add_run_options,
    given_options,
    option_overrides,
    timestamped_dir,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a genotype from scratch and report its test error",
        description="Train the evaluation network of a genotype from scratch (the DARTS / "
        "P-DARTS protocol) and write a run directory with its weights and test error.",
    )
    p.add_argument(
        "--genotype",
        default=None,
        metavar="G",
        help="a genotype JSON file, a search run directory or a bundled name (e.g. darts-v2)",
    )
    add_config_source(p, train_preset_names(), DEFAULT_TRAIN_PRESET, what="train preset",
                      resume="continue an interrupted training from its last checkpoint")  # fmt: skip
    add_dataset_options(p)
    p.add_argument("--channels", type=int, default=None, help="initial cell width C")
    p.add_argument("--layers", type=int, default=None, help="number of cells")
    p.add_argument("--epochs", type=int, default=None)
    add_run_options(p, set_help="override a config key, e.g. --set cutout=0",
                    out_help="run directory (default runs/train-<preset>-<time>)")  # fmt: skip
    add_distributed_options(p, check_sync=False)
    p.set_defaults(run=run, reads_runs=("genotype",))  # their plug-ins are imported first


_OPTIONS = (
    ("dataset", "dataset.name"),
    ("data_dir", "dataset.data_dir"),
    ("channels", "channels"),
    ("layers", "layers"),
    ("epochs", "epochs"),
    ("seed", "seed"),
    ("device", "device"),
)


def run(args: argparse.Namespace) -> int:
    from ..spaces import load_genotype
    from ..train.evaluate import read_train_run, train_network

    progress = False if args.no_progress else None
    if args.resume:
        given = given_options(args, [attr for attr, _ in _OPTIONS] + ["genotype", "out"])
        if given:
            raise ConfigError(
                "--resume continues a run with its saved config.yaml and genotype.json; "
                f"drop {', '.join(given)}."
            )
        run_dir = Path(args.resume)
        cfg, genotype = read_train_run(run_dir)
    else:
        if args.genotype is None:
            raise ConfigError(
                "tndnas train needs --genotype G (a JSON file, a search run directory or a "
                "bundled name such as darts-v2), or --resume RUN_DIR."
            )
        genotype = load_genotype(args.genotype)
        preset = args.preset if args.preset or args.config else DEFAULT_TRAIN_PRESET
        overrides = option_overrides(args, _OPTIONS)
        cfg = load_train_config(preset=preset, config_file=args.config, overrides=overrides)
        name = preset or Path(args.config).stem
        run_dir = Path(args.out) if args.out else timestamped_dir(f"train-{name}")
    try:
        summary = train_network(cfg, genotype, run_dir, resume=bool(args.resume),
                                progress=progress, dist_timeout=args.dist_timeout)  # fmt: skip
    except KeyboardInterrupt:
        if TrainRunFiles(run_dir).config.exists():
            print(f"continue with: tndnas train --resume {run_dir}", file=sys.stderr)
        raise
    if not is_main_process():  # under torchrun, rank 0 speaks for the run
        return 0
    print(f"summary: {run_dir / 'summary.json'}")
    print(f"weights: {run_dir / 'weights_last.pt'} (best test accuracy: weights_best.pt)")

    def pct(v: float | None) -> str:  # None: its record is missing from a damaged metrics.jsonl
        return "unknown" if v is None else f"{v:.2f}%"

    print(
        f"test error {pct(summary['test_error'])} after {summary['epochs']} epochs "
        f"(best {pct(summary['best_test_error'])} at epoch {summary['best_epoch'] + 1}); "
        f"{summary['params']:,} params (no aux head), {summary['flops']:,} FLOPs; "
        f"{summary['seconds']:.0f} s on {summary['device']}"
    )
    return 0
