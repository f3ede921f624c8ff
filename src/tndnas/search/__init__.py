"""How alpha learns and the supernet that scores it: the policy, REINFORCE with a baseline, progressive stages (Algorithm 2), the weight step and its memory plan."""

from ..runtime import CheckpointError, RunDirError
from .algorithm import Search, search
from .policy import CategoricalPolicy
from .reinforce import MovingAverageBaseline, Reinforce
from .stages import shrink_keep

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
