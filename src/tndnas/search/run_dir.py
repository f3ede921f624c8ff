"""The files of a search run directory."""

from __future__ import annotations

from ..run_files import SearchRunFiles
from ..runtime.records import RunDirError

__all__ = ["RunDir", "RunDirError"]


class RunDir(SearchRunFiles):
    """Paths inside a search run directory, and the checks before writing or resuming one."""

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
