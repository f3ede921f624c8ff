"""The files of a search run directory, and the environment record every run keeps."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch


class RunDirError(RuntimeError):
    """A run directory that cannot be used as asked; the message says what to do."""


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and device of this process (recorded with every run)."""
    import numpy

    from .. import __version__

    env = {
        "tndnas": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "cpu_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    return env


class RunDir:
    """Paths inside a run directory."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.metrics = self.root / "metrics.jsonl"
        self.checkpoint = self.root / "checkpoint.pt"
        self.summary = self.root / "summary.json"
        self.genotype = self.root / "genotype.json"
        self.run_info = self.root / "run.json"
        self.alpha_dir = self.root / "alpha"
        self.plots = self.root / "plots"

    def alpha_file(self, stage: int, epoch: int) -> Path:
        return self.alpha_dir / f"stage{stage}_epoch{epoch:03d}.json"

    def stage_genotype(self, stage: int) -> Path:
        return self.root / f"genotype_stage{stage}.json"

    def create(self) -> None:
        if self.config.exists():
            raise RunDirError(
                f"{self.root} already holds a run; continue it with `tndnas search --resume {self.root}` "
                "or choose another --out."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.alpha_dir.mkdir(exist_ok=True)

    def check_resumable(self) -> None:
        if not self.config.exists():
            raise RunDirError(
                f"{self.root} is not a search run directory (no config.yaml); pass the --out folder of a run."
            )
