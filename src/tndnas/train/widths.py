"""One genotype trained at several initial widths: a model family from one searched cell.

``tndnas train --widths 16,24,36`` trains the genotype once per width into ``OUT/c<width>``
(each a whole training run directory) and writes ``OUT/widths.json``: per width the network's
size, FLOPs and test error.  Running the same command again continues it: finished widths
are read, interrupted ones resumed from their checkpoints, missing ones started.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import ConfigError, TrainConfig, config_to_dict
from ..config.changes import RESUMABLE_CHANGES, config_changes
from ..runtime import write_json_atomic
from ..spaces.base import Genotype
from .run import read_train_run, train_network

__all__ = ["parse_widths", "train_widths", "width_dir"]


def parse_widths(text: str) -> list[int]:
    """``"16,24,36"`` -> ``[16, 24, 36]``; anything else is one sentence naming the flag."""
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        widths = []
    if not widths or any(w < 1 or w > 4096 for w in widths):
        raise ConfigError(
            f"--widths={text!r} is not a comma-separated list of widths from 1 to 4096; "
            "e.g. --widths 16,24,36."
        )
    if len(set(widths)) != len(widths):
        raise ConfigError(f"--widths={text!r} names a width twice; give each width once.")
    return widths


def width_dir(out: str | os.PathLike, width: int) -> Path:
    return Path(out) / f"c{width}"


def _check_same_run(run: Path, cfg: TrainConfig, genotype: Genotype) -> None:
    saved_cfg, saved_genotype = read_train_run(run)
    changes = [
        k
        for k, _, _ in config_changes(config_to_dict(saved_cfg), config_to_dict(cfg))
        if k not in RESUMABLE_CHANGES
    ]
    if saved_genotype != genotype:
        changes.insert(0, "the genotype")
    if changes:
        raise ConfigError(
            f"{run} holds a training of another configuration ({', '.join(changes[:4])} "
            "differ); run the same command as before to continue it, or choose another --out."
        )


def train_widths(
    cfg: TrainConfig,
    genotype: Genotype,
    widths: Sequence[int],
    out: str | os.PathLike,
    *,
    train: Callable[..., dict] = train_network,
    **kwargs: Any,
) -> list[dict]:
    """Train ``genotype`` at each of ``widths`` (``cfg`` with ``channels`` replaced) into
    ``out/c<width>``; returns and writes (``out/widths.json``) one row per width."""
    rows = []
    for width in widths:
        run = width_dir(out, width)
        wcfg = dataclasses.replace(cfg, channels=width)
        resume = (run / "config.yaml").exists()
        if resume:
            _check_same_run(run, wcfg, genotype)
        # the family's table compares each width with the searched size instead
        summary = train(wcfg, genotype, run, resume=resume, size_warning=False, **kwargs)
        rows.append(
            {
                "channels": width,
                "layers": wcfg.layers,
                "run": run.name,
                "params": summary["params"],
                "flops": summary["flops"],
                "test_error": summary["test_error"],
                "best_test_error": summary["best_test_error"],
                "params_ratio_to_searched": (summary.get("searched_target") or {}).get(
                    "params_ratio"
                ),
            }
        )
        write_json_atomic(Path(out) / "widths.json", {"units": _UNITS, "widths": rows})
    return rows


_UNITS = {
    "params": "parameters of the evaluation network at that width, without the auxiliary head",
    "flops": "floating-point operations of one image's inference (2 per multiply-add)",
    "test_error": "% of the test set misclassified by the final weights",
    "params_ratio_to_searched": "params over those of the network the search's reward measured",
}
