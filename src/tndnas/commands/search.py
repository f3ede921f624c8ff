"""``tndnas search``: run or resume a TND-NAS search."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..config import DEFAULT_PRESET, ConfigError, load_search_config, preset_names


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search a genotype (REINFORCE over a progressive supernet)",
        description="Run the TND-NAS search (Algorithm 2) and write a run directory.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--preset",
        default=None,
        help=f"a bundled preset: {', '.join(preset_names())} (default {DEFAULT_PRESET})",
    )
    src.add_argument("--config", default=None, help="a YAML config file (keys as in the presets)")
    src.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue an interrupted run from its last checkpoint",
    )
    p.add_argument(
        "--dataset", default=None, help="dataset name (digits, cifar10, cifar100, imagefolder)"
    )
    p.add_argument("--data-dir", default=None, help="folder holding the dataset files")
    p.add_argument("--out", default=None, help="run directory (default runs/<preset>-<time>)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set stages.2.beta=-0.8 (repeatable)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..search import search

    progress = False if args.no_progress else None
    if args.resume:
        extra = [
            f
            for f in ("dataset", "data_dir", "seed", "device", "out")
            if getattr(args, f) is not None
        ]
        if extra or args.overrides:
            raise ConfigError(
                "--resume continues a run with its saved config.yaml; drop --set/--dataset/--seed/--device/--out."
            )
        run_dir = Path(args.resume)
        cfg = (
            load_search_config(config_file=run_dir / "config.yaml")
            if (run_dir / "config.yaml").exists()
            else None
        )
        if cfg is None:
            from ..search import RunDirError

            raise RunDirError(
                f"{run_dir} is not a search run directory (no config.yaml); pass the --out folder of a run."
            )
        summary = search(cfg, run_dir, resume=True, progress=progress)
    else:
        preset = args.preset if args.preset or args.config else DEFAULT_PRESET
        overrides = list(args.overrides)
        for key, val in (
            ("dataset.name", args.dataset),
            ("dataset.data_dir", args.data_dir),
            ("seed", args.seed),
            ("device", args.device),
        ):
            if val is not None:
                overrides.append(f"{key}={val}")
        cfg = load_search_config(preset=preset, config_file=args.config, overrides=overrides)
        name = preset or Path(args.config).stem
        run_dir = (
            Path(args.out)
            if args.out
            else Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        summary = search(cfg, run_dir, progress=progress)
    print(f"genotype: {run_dir / 'genotype.json'}")
    print(f"plots:    {run_dir / 'plots'}/")
    print(
        f"final network ({cfg.target.channels} channels, {cfg.target.layers} layers): "
        f"{summary['params']:,} params (no aux head), {summary['flops']:,} FLOPs; "
        f"search took {summary['seconds_total']:.0f} s"
    )
    return 0
