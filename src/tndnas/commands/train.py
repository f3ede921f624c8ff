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
    p.add_argument(
        "--widths",
        default=None,
        metavar="C1,C2,...",
        help="train the genotype at each initial width (a model family from one cell, e.g. "
        "16,24,36), one run folder per width in --out (c16, c24, ...) and widths.json; the "
        "same command again continues unfinished widths",
    )
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
    from ..train.run import read_train_run, train_network
    from ..train.run_dir import repair_train_run

    progress = False if args.no_progress else None
    if args.widths is not None:
        return _run_widths(args, progress)
    if args.resume:
        given = given_options(args, [attr for attr, _ in _OPTIONS] + ["genotype", "out"])
        if given:
            raise ConfigError(
                "--resume continues a run with its saved config.yaml and genotype.json; "
                f"drop {', '.join(given)}."
            )
        run_dir = Path(args.resume)
        repair_train_run(run_dir)  # files the checkpoint holds, written again
        cfg, genotype = read_train_run(run_dir)
    else:
        if args.genotype is None:
            raise ConfigError(
                "train needs --genotype G (a JSON file, a search run directory or a bundled "
                "name such as darts-v2), or --resume RUN_DIR."
            )
        genotype = load_genotype(args.genotype)
        preset = args.preset if args.preset or args.config else DEFAULT_TRAIN_PRESET
        overrides = option_overrides(args, _OPTIONS, augment_prefix="")
        overrides = [*searched_size(genotype, overrides), *overrides]
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
    _print_summary(run_dir, summary)
    return 0


def searched_size(genotype, overrides: list[str]) -> list[str]:  # noqa: ANN001 - a Genotype
    """The overrides that train the network a search's reward measured (``channels``,
    ``layers`` of the genotype's recorded target) unless ``overrides`` (``--channels``,
    ``--layers``, ``--set``) name them; says so in one line."""
    from ..train.target_size import searched_target

    target = searched_target(genotype)
    given = {o.split("=", 1)[0].strip() for o in overrides}
    size = [f"{k}={target[k]}" for k in ("channels", "layers") if target and k not in given]
    if len(size) == 2:
        print(f"training the network the search costed: {target['channels']} channels x "
              f"{target['layers']} cells (--channels, --layers train another size)")  # fmt: skip
    elif size:
        print(f"training at the search's {size[0].replace('=', ' = ')} (its target network's; "
              "--channels, --layers train another size)")  # fmt: skip
    return size


def _print_summary(run_dir: Path, summary: dict) -> None:
    print(f"summary: {run_dir / 'summary.json'}")
    print(f"weights: {run_dir / 'weights_last.pt'} (best test accuracy: weights_best.pt)")

    def pct(v: float | None) -> str:  # None: its record is missing from a damaged metrics.jsonl
        return "unknown" if v is None else f"{v:.2f}%"

    print(
        f"test error {pct(summary['test_error'])} after {summary['epochs']} epochs "
        f"(best {pct(summary['best_test_error'])} at epoch {summary['best_epoch']}, counted from 0); "
        f"{summary['params']:,} params (no aux head), {summary['flops']:,} FLOPs; "
        f"{summary['seconds']:.0f} s on {summary['device']}"
    )


def _run_widths(args: argparse.Namespace, progress: bool | None) -> int:
    """``--widths``: the genotype trained at each width, then the family's table."""
    from ..spaces import load_genotype
    from ..train.widths import parse_widths, train_widths

    if args.resume or args.channels is not None:
        flag = "--resume" if args.resume else "--channels"
        raise ConfigError(
            f"--widths sets the width of each run, so it takes no {flag}; to continue a "
            "family, run the same --widths command with the same --out again."
        )
    widths = parse_widths(args.widths)
    if args.genotype is None:
        raise ConfigError("--widths needs --genotype G (a JSON file, a search run directory "
                          "or a bundled name such as darts-v2).")  # fmt: skip
    genotype = load_genotype(args.genotype)
    preset = args.preset if args.preset or args.config else DEFAULT_TRAIN_PRESET
    overrides = option_overrides(args, _OPTIONS, augment_prefix="")
    # the widths are given; the depth is the search's unless --layers says otherwise
    overrides = [*searched_size(genotype, [*overrides, "channels="]), *overrides]
    cfg = load_train_config(preset=preset, config_file=args.config, overrides=overrides)
    name = preset or Path(args.config).stem
    out = Path(args.out) if args.out else timestamped_dir(f"train-{name}-widths")
    rows = train_widths(cfg, genotype, widths, out, progress=progress,
                        dist_timeout=args.dist_timeout)  # fmt: skip
    if not is_main_process():
        return 0
    print(f"family: {out / 'widths.json'} (one training run per width: {out}/c<width>)")
    print(f"  {'width':>5} {'cells':>5} {'params':>12} {'FLOPs':>15} {'test err':>9}  vs searched")
    for r in rows:
        err = "unknown" if r["test_error"] is None else f"{r['test_error']:.2f}%"
        ratio = r["params_ratio_to_searched"]
        vs = "-" if ratio is None else f"{ratio:.2f}x params"
        print(f"  {r['channels']:>5} {r['layers']:>5} {r['params']:>12,} {r['flops']:>15,} "
              f"{err:>9}  {vs}")  # fmt: skip
    return 0
