"""The files of a ``tndnas train`` run directory, and reading back what a resume continues."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import TrainConfig, config_to_dict, load_train_config
from ..config.changes import check_config_unchanged
from ..run_files import TrainRunFiles
from ..runtime import RunDirError
from ..runtime.checkpoint import require_keys
from ..runtime.records import read_run_info
from ..spaces import genotype_from_dict, load_genotype
from ..spaces.base import Genotype
from .weights import genotype_difference

__all__ = [
    "CHECKPOINT_VERSION",
    "RUN_KIND",
    "TrainFiles",
    "check_train_resume",
    "read_train_run",
    "repair_train_run",
]

CHECKPOINT_VERSION = 1  # the format of a train checkpoint this code writes and reads
#: what a train checkpoint holds besides its random states
CHECKPOINT_KEYS = ("epoch", "best_acc", "best_epoch", "seconds", "metrics_lines", "model",
                   "optimizer", "gen_data")  # fmt: skip

RUN_KIND = "train"  # run.json "command": tells a train run directory from a search one

TrainFiles = TrainRunFiles  # the paths inside a train run directory


def repair_train_run(run_dir: str | os.PathLike) -> list[str]:
    """Before a resume: write again ``config.yaml``, ``genotype.json`` and ``run.json`` from the
    checkpoint when they are missing; one warning per file written again (rank 0 prints)."""
    import sys

    from ..config import save_config_dict
    from ..runtime.checkpoint import load_checkpoint
    from ..runtime.distributed import is_main_process
    from ..runtime.records import write_json_atomic

    f = TrainFiles(Path(run_dir))
    missing = [p for p in (f.config, f.genotype, f.run_info) if not p.exists()]
    if not missing or not f.checkpoint.exists():
        return []
    state = load_checkpoint(f.checkpoint, "cpu")  # checksummed: a sound copy
    started, genotype = state.get("config"), state.get("genotype")
    if not isinstance(started, dict) or not isinstance(genotype, dict):
        return []
    said = []
    if not f.config.exists():
        save_config_dict(started, f.config, "train", "checkpoint.pt")
        said.append("config.yaml was missing; written again from checkpoint.pt")
    if not f.genotype.exists():
        genotype_from_dict(genotype, f"{f.checkpoint} genotype").to_json(f.genotype)
        said.append("genotype.json was missing; written again from checkpoint.pt")
    if not f.run_info.exists():
        write_json_atomic(f.run_info, {"command": RUN_KIND, "status": "running",
                                       "seed": started.get("seed"), "config": started,
                                       "genotype": genotype,
                                       "rebuilt": "written again on --resume; the environment "
                                       "of the run's start is lost"})  # fmt: skip
        said.append("run.json was missing; written again (the run's start environment is lost)")
    for line in said if is_main_process() else ():
        print(f"tndnas: warning: {line}", file=sys.stderr)
    return said


def read_train_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, Genotype]:
    """The saved config and genotype of a train run directory (what ``--resume`` continues)."""
    f = TrainFiles(Path(run_dir))
    info = read_run_info(f.run_info)
    if info.get("command") == RUN_KIND and not f.config.exists():
        raise RunDirError(
            f"{f.root} holds no train run yet (no config.yaml: a run stopped before writing it "
            f"leaves none); start it again with the same `tndnas train ... --out {f.root}`."
        )
    if not f.config.exists() or info.get("command") != RUN_KIND:
        raise RunDirError(
            f"{f.root} is not a train run directory (no config.yaml and run.json of "
            "`tndnas train`); pass the --out folder of a train run."
        )
    return load_train_config(config_file=f.config), load_genotype(f.genotype)


def check_train_resume(
    run_dir: str | os.PathLike, cfg: TrainConfig, genotype: Genotype, ckpt: dict | None
) -> None:
    """Before a resume continues: the checkpoint (when there is one) of this format with all its
    keys, and config.yaml and genotype.json as the run started (the checkpoint's record of them,
    else run.json's); each difference is one sentence naming what changed."""
    f = TrainFiles(Path(run_dir))
    if ckpt is not None:
        require_keys(ckpt, CHECKPOINT_KEYS, f.checkpoint, CHECKPOINT_VERSION)
    info = read_run_info(f.run_info)
    started = ckpt if ckpt is not None and "config" in ckpt else info
    if isinstance(started.get("config"), dict):
        check_config_unchanged(started["config"], config_to_dict(cfg), f.config)
    if isinstance(started.get("genotype"), dict):
        diff = genotype_difference(
            genotype_from_dict(started["genotype"], str(f.run_info)), genotype
        )
        if diff:
            raise RunDirError(
                f"{f.genotype} was edited after the run started ({diff}); put the genotype the run "
                "started with back, or start a new run with another --out."
            )
