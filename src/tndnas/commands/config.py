"""``tndnas config show``: print a resolved configuration with every key's meaning."""

from __future__ import annotations

import argparse

from ..config import (
    DEFAULT_PRESET,
    DEFAULT_TRAIN_PRESET,
    load_search_config,
    load_train_config,
    preset_names,
    train_preset_names,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="show a resolved configuration with every key's meaning",
        description="Print the configuration a preset, a YAML file and --set overrides resolve "
        "to, as YAML with each key's meaning in a comment above it; the output is itself a valid "
        "--config file.",
    )
    p.add_argument("action", choices=["show"], help="show: print the resolved configuration")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--preset",
        default=None,
        help=f"a search preset: {', '.join(preset_names())} (default {DEFAULT_PRESET}); with "
        f"--train a train preset: {', '.join(train_preset_names())}",
    )
    src.add_argument("--config", default=None, help="a YAML config file")
    p.add_argument("--train", action="store_true", help="a train configuration (tndnas train)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one key, e.g. stages.0.epochs=5 (repeatable)")  # fmt: skip
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..config.reference import commented_yaml

    default = DEFAULT_TRAIN_PRESET if args.train else DEFAULT_PRESET
    preset = args.preset if args.preset or args.config else default
    load = load_train_config if args.train else load_search_config
    cfg = load(preset=preset, config_file=args.config, overrides=args.overrides)
    source = f"preset {preset}" if preset else f"file {args.config}"
    if args.overrides:
        source += " with " + " ".join(args.overrides)
    what = "train" if args.train else "search"
    print(commented_yaml(cfg, f"tndnas {what} configuration from {source}"), end="")
    return 0
