"""Every file name of a run directory, in one place: search runs, train runs and sweeps.

The layout is documented in ``docs/run-directory.md``.  This module imports nothing from
tndnas, so every layer (the genotype loader, the search, the training, the sweep, the
commands) can name a run's files from here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "GENOTYPE_FILE",
    "METRICS_FILE",
    "PLOTS_DIR",
    "RUN_INFO_FILE",
    "SUMMARY_FILE",
    "SearchRunFiles",
    "SweepFiles",
    "TrainRunFiles",
]

CONFIG_FILE = "config.yaml"  # the resolved config of the run
RUN_INFO_FILE = "run.json"  # seed, versions, device, command line
METRICS_FILE = "metrics.jsonl"  # one JSON record per alpha update / epoch / stage
CHECKPOINT_FILE = "checkpoint.pt"  # everything a resume needs
SUMMARY_FILE = "summary.json"  # written when the run has finished
GENOTYPE_FILE = "genotype.json"  # the searched (or trained) architecture
PLOTS_DIR = "plots"


class _Files:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    @property
    def config(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def run_info(self) -> Path:
        return self.root / RUN_INFO_FILE

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def checkpoint(self) -> Path:
        return self.root / CHECKPOINT_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    @property
    def genotype(self) -> Path:
        return self.root / GENOTYPE_FILE

    @property
    def plots(self) -> Path:
        return self.root / PLOTS_DIR


class SearchRunFiles(_Files):
    """The files of a ``tndnas search`` run directory."""

    @property
    def alpha_dir(self) -> Path:
        return self.root / "alpha"

    @property
    def latency_table(self) -> Path:
        """The run's copy of its latency table, read on resume."""
        return self.root / "latency_table.json"

    def alpha_file(self, stage: int, epoch: int) -> Path:
        return self.alpha_dir / f"stage{stage}_epoch{epoch:03d}.json"

    def stage_genotype(self, stage: int) -> Path:
        return self.root / f"genotype_stage{stage}.json"

    @property
    def members_dir(self) -> Path:
        """A family search's members (``family.betas``), one folder each."""
        return self.root / "members"

    def member(self, name: str) -> SearchRunFiles:
        """The folder of member ``name`` of a family search: its config.yaml, genotypes and
        summary.json, as a search of its own writes them (``tndnas train --genotype`` takes it)."""
        return SearchRunFiles(self.members_dir / name)


class TrainRunFiles(_Files):
    """The files of a ``tndnas train`` run directory."""

    @property
    def weights_last(self) -> Path:
        return self.root / "weights_last.pt"

    @property
    def weights_best(self) -> Path:
        return self.root / "weights_best.pt"

    @property
    def learning_curve(self) -> Path:
        return self.plots / "learning_curve.png"


class SweepFiles(_Files):
    """The files of a ``tndnas sweep`` output folder: the plan, the Pareto table and plots, and
    per job a search run directory, its log, and optionally its training."""

    @property
    def plan(self) -> Path:
        return self.root / "sweep.json"

    @property
    def pareto_csv(self) -> Path:
        return self.root / "pareto.csv"

    @property
    def pareto_json(self) -> Path:
        return self.root / "pareto.json"

    @property
    def pareto_png(self) -> Path:
        return self.root / "pareto.png"

    @property
    def pareto_test_png(self) -> Path:
        return self.root / "pareto_test.png"

    @staticmethod
    def job_log(job_dir: Path) -> Path:
        return job_dir.with_name(job_dir.name + ".log")

    @staticmethod
    def job_train(job_dir: Path) -> Path:
        return job_dir / "train"

    @staticmethod
    def job_train_partial(job_dir: Path) -> Path:
        return job_dir / "train.partial"
