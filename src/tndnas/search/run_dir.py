"""The files of a search run directory."""

from __future__ import annotations

import os
from pathlib import Path

from ..runtime.records import RunDirError

__all__ = ["RunDir", "RunDirError"]


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
        self.latency_table = self.root / "latency_table.json"  # the run's copy, read on resume

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
