"""Options that several commands share, and how they become config overrides."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path

#: What a command line's argument that starts with '-' and a digit is: a (negative) value, such
#: as '-0.1,-2' or '-4', never an option (no tndnas option starts with a digit).
NEGATIVE_NUMBER = re.compile(r"^-\.?\d")

DATASET_HELP = (
    "dataset name: digits, cifar10, cifar100, imagefolder, synthetic-cifar10, synthetic-cifar100 "
    "(random images for timing), or one registered with tndnas.data.register_dataset"
)


def add_config_source(
    p: argparse.ArgumentParser,
    presets: Sequence[str],
    default: str,
    *,
    what: str = "preset",
    resume: str | None = None,
) -> None:
    """``--preset NAME | --config FILE`` (and ``--resume RUN_DIR`` when ``resume`` is its help)."""
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--preset", default=None, help=f"a bundled {what}: {', '.join(presets)} (default {default})"
    )
    src.add_argument("--config", default=None, help="a YAML config file (keys as in the presets)")
    if resume:
        src.add_argument("--resume", default=None, metavar="RUN_DIR", help=resume)


def add_dataset_options(p: argparse.ArgumentParser) -> None:
    """``--dataset NAME`` and ``--data-dir DIR``."""
    p.add_argument("--dataset", default=None, help=DATASET_HELP)
    p.add_argument("--data-dir", default=None, help="folder holding the dataset files")


def add_run_options(
    p: argparse.ArgumentParser,
    *,
    set_help: str,
    out_help: str,
    seed_help: str | None = None,
    progress_help: str = "no progress bar",
) -> None:
    """``--seed``, ``--device``, ``--set KEY=VALUE`` (repeatable), ``--out`` and ``--no-progress``."""
    p.add_argument("--seed", type=int, default=None, help=seed_help)
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=f"{set_help} (repeatable)")  # fmt: skip
    p.add_argument("--out", default=None, type=folder_path, help=out_help)
    p.add_argument("--no-progress", action="store_true", help=progress_help)


def option_overrides(
    args: argparse.Namespace, options: Sequence[tuple[str, str]], augment_prefix: str | None = None
) -> list[str]:
    """``--set`` overrides, then ``KEY=VALUE`` for every option of ``options`` (attribute, key)
    given.  ``augment_prefix`` (``weights.`` for a search, ``""`` for a training): ``--dataset
    NAME`` also sets the data set's own augmentation (``crop_padding``, ``flip``) unless ``--set``
    names those keys, and says so in one line."""
    overrides = list(args.overrides)
    for attr, key in options:
        value = getattr(args, attr)
        if value is not None:
            # a flag's text is taken verbatim: quoted, it is never read as YAML ('#' starts no
            # comment, 'yes' stays a word); numbers stay numbers
            text = json.dumps(value) if isinstance(value, str) else value
            overrides.append(f"{key}={text}")
            if key == "dataset.name" and augment_prefix is not None:
                overrides += _dataset_augmentation(value, augment_prefix, args.overrides)
    return overrides


def _dataset_augmentation(name: str, prefix: str, given: Sequence[str]) -> list[str]:
    """The overrides of data set ``name``'s own augmentation (the keys ``given`` by --set left out)."""
    from ..data import dataset_augmentation

    augment = dataset_augmentation(name)
    if augment is None:
        print(f"--dataset {name} declares no augmentation: the config's {prefix}crop_padding and "
              f"{prefix}flip stay; set them for its images")  # fmt: skip
        return []
    named = {o.split("=", 1)[0].strip() for o in given}
    sets = [
        f"{prefix}{k}={json.dumps(v)}" for k, v in augment.items() if f"{prefix}{k}" not in named
    ]
    if sets:
        print(f"--dataset {name}: its augmentation {', '.join(sets)} (--set changes it)")
    return sets


def given_options(args: argparse.Namespace, attrs: Sequence[str]) -> list[str]:
    """The flags among ``attrs`` (and ``--set``) the user gave, spelled as on the command line."""
    given = [f"--{a.replace('_', '-')}" for a in attrs if getattr(args, a) is not None]
    return given + ["--set"] * bool(args.overrides)


def folder_path(text: str) -> str:
    """``--out``: a path as typed, never empty (an empty one would silently mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "is empty; name the folder to write, or leave --out out for the default"
        )
    return text


def positive_seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def timestamped_dir(prefix: str) -> Path:
    """``runs/<prefix>-<YYYYmmdd-HHMMSS>``: the default folder of a new run."""
    return Path("runs") / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"


def add_distributed_options(p: argparse.ArgumentParser, *, check_sync: bool = True) -> None:
    """Options that matter only under torchrun (several processes, one run)."""
    p.add_argument("--dist-timeout", type=positive_seconds, default=300.0, metavar="SECONDS",
                   help="under torchrun: how long a process waits for the others before the run "
                        "stops with an error (default 300)")  # fmt: skip
    if not check_sync:
        return
    p.add_argument("--check-sync", action="store_true",
                   help="under torchrun: compare alpha across the processes after every epoch and "
                        "stop at the first difference")  # fmt: skip
