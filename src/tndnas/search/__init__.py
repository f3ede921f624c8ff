"""How alpha learns and the supernet that scores it: progressive stages (Algorithm 2) that run
a :mod:`tndnas.strategy` against a weight-sharing supernet, the supernet's weight step and memory
plan, the run directory."""

import sys
import types

from ..runtime import CheckpointError, RunDirError
from .algorithm import Search, search

__all__ = ["CheckpointError", "RunDirError", "Search", "search"]


class _SearchPackage(types.ModuleType):
    """This package, callable as :func:`search`: once it is imported, ``tndnas.search`` names
    the package rather than the public API's function, and ``tndnas.search(cfg, run_dir)`` must
    still run a search."""

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204 - search's signature
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _SearchPackage
