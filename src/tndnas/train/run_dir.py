"""The files of a ``tndnas train`` run directory, and reading back what a resume continues."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..config import TrainConfig, load_train_config
from ..run_files import TrainRunFiles
from ..runtime import RunDirError
from ..space.genotype import Genotype
from ..spaces import load_genotype

__all__ = ["RUN_KIND", "TrainFiles", "read_train_run"]

RUN_KIND = "train"  # run.json "command": tells a train run directory from a search one

TrainFiles = TrainRunFiles  # the paths inside a train run directory


def read_train_run(run_dir: str | os.PathLike) -> tuple[TrainConfig, Genotype]:
    """The saved config and genotype of a train run directory (what ``--resume`` continues)."""
    f = TrainFiles(Path(run_dir))
    info: Any = None
    if f.run_info.exists():
        try:
            info = json.loads(f.run_info.read_text())
        except json.JSONDecodeError:
            info = None
    if not f.config.exists() or not isinstance(info, dict) or info.get("command") != RUN_KIND:
        raise RunDirError(
            f"{f.root} is not a train run directory (no config.yaml and run.json of "
            "`tndnas train`); pass the --out folder of a train run."
        )
    return load_train_config(config_file=f.config), load_genotype(f.genotype)
