"""The files of a search run directory."""

from __future__ import annotations

import shutil

from ..run_files import SearchRunFiles
from ..runtime.records import RunDirError

__all__ = ["RunDir", "RunDirError"]


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

    def check_resumable(self) -> None:
        if not self.config.exists():
            raise RunDirError(
                f"{self.root} is not a search run directory (no config.yaml); pass the --out folder of a run."
            )
