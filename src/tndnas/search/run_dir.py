"""The files of a search run directory."""

from __future__ import annotations

import json
import shutil
import sys

from ..config.changes import check_config_unchanged
from ..run_files import SearchRunFiles
from ..runtime.checkpoint import require_keys
from ..runtime.lock import LOCK_NAME
from ..runtime.records import RunDirError, read_run_info, write_json_atomic

__all__ = ["CHECKPOINT_VERSION", "RunDir", "RunDirError"]

CHECKPOINT_VERSION = 1  # the format of a search checkpoint this code writes and reads


class RunDir(SearchRunFiles):
    """Paths inside a search run directory, and the checks before writing or resuming one."""

    def create(self, restart: bool = False) -> None:
        """Make the run directory; ``restart``: clear what a run that never reached its first
        checkpoint left (its config is written again)."""
        if restart:
            self.metrics.unlink(missing_ok=True)
            shutil.rmtree(self.alpha_dir, ignore_errors=True)
        elif self.config.exists():
            raise RunDirError(
                f"{self.root} already holds a run; continue it with `tndnas search --resume {self.root}` "
                "or choose another --out."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.alpha_dir.mkdir(exist_ok=True)

    def repair(self) -> list[str]:
        """Before a resume: write again what the run's other files hold -- ``config.yaml`` and
        ``run.json`` from the checkpoint, a finished run's ``genotype.json`` from its
        ``summary.json`` -- and return one warning per file written again."""
        said = []
        if self.root.is_dir() and not self.config.exists() and self.checkpoint.exists():
            from ..config import save_config_dict
            from ..runtime.checkpoint import load_checkpoint

            state = load_checkpoint(self.checkpoint, "cpu")  # checksummed: a sound copy
            started = state.get("config")
            if isinstance(started, dict):
                save_config_dict(started, self.config, "search", "checkpoint.pt")
                said.append("config.yaml was missing; written again from checkpoint.pt")
        if self.config.exists() and not self.run_info.exists():
            from ..config import config_to_dict, load_search_config

            cfg = load_search_config(config_file=self.config)
            write_json_atomic(self.run_info, {"status": "running", "seed": cfg.seed,
                                              "config": config_to_dict(cfg),
                                              "rebuilt": "written again on --resume; the "
                                              "environment of the run's start is lost"})  # fmt: skip
            said.append("run.json was missing; written again (the run's start environment is lost)")
        if self.summary.exists() and not self.genotype.exists():
            try:
                genotype = json.loads(self.summary.read_text())["genotype"]
            except (OSError, ValueError, KeyError, TypeError):
                genotype = None
            if isinstance(genotype, dict):
                from ..spaces import genotype_from_dict

                genotype_from_dict(genotype, f"{self.summary} genotype").to_json(self.genotype)
                said.append("genotype.json was missing; written again from summary.json")
        from ..runtime.distributed import is_main_process

        for line in said if is_main_process() else ():  # every rank repairs, rank 0 speaks
            print(f"tndnas: warning: {line}", file=sys.stderr)
        return said

    def check_resumable(self) -> None:
        # what a run stopped before its config.yaml leaves: its folder, its alpha folder, its lock
        early = {self.alpha_dir.name, LOCK_NAME}
        if self.root.is_dir() and {p.name for p in self.root.iterdir()} <= early:
            raise RunDirError(
                f"{self.root} holds no search run yet (no config.yaml: a run stopped before "
                f"writing it leaves none); start it again with the same `tndnas search ... --out {self.root}`."
            )
        if not self.config.exists():
            raise RunDirError(
                f"{self.root} is not a search run directory (no config.yaml); pass the --out folder of a run."
            )

    def started_config(self, state: dict) -> dict | None:
        """The config the run started with: the checkpoint's, or (a checkpoint written before
        it held one) run.json's."""
        if "config" in state:
            return state["config"]
        return read_run_info(self.run_info).get("config")

    def check_checkpoint(self, state: dict, config_now: dict) -> None:
        """One sentence for a checkpoint of another format or without its progress, and for a
        config.yaml edited since the run started (naming the keys)."""
        require_keys(state, ("progress",), self.checkpoint, CHECKPOINT_VERSION)
        started = self.started_config(state)
        if started is not None:
            check_config_unchanged(started, config_now, self.config)
