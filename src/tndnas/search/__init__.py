"""How alpha learns and the supernet that scores it: progressive stages (Algorithm 2) that run
a :mod:`tndnas.strategy` against a weight-sharing supernet, the supernet's weight step and memory
plan, the run directory."""

from ..runtime import CheckpointError, RunDirError
from .algorithm import Search, search

__all__ = ["CheckpointError", "RunDirError", "Search", "search"]
