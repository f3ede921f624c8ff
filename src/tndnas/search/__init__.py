"""How alpha learns: the policy, REINFORCE with a baseline, progressive stages (Algorithm 2)."""

from .algorithm import Search, search, shrink_keep
from .checkpoint import CheckpointError
from .policy import CategoricalPolicy
from .reinforce import MovingAverageBaseline, Reinforce
from .run_dir import RunDirError

__all__ = [
    "CategoricalPolicy",
    "CheckpointError",
    "MovingAverageBaseline",
    "Reinforce",
    "RunDirError",
    "Search",
    "search",
    "shrink_keep",
]
