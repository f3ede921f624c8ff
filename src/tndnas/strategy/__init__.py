"""Search strategies behind one ask/tell interface (:class:`Strategy`): TND-NAS's policy with
REINFORCE (:class:`PolicyStrategy`, Eqs. 4-11), random search and regularised evolution. The
supernet search and ``tndnas bench-tabular`` run the same strategy code; only what measures an
architecture (a supernet's weights, a table) differs."""

from .base import Path, Strategy, Told, paths_tensor, reward_of
from .evolution import EvolutionStrategy
from .policy import CategoricalPolicy, mean_entropy
from .random_search import RandomStrategy
from .reinforce import MovingAverageBaseline, Reinforce
from .tnd import PolicyStrategy, shrink_keep

__all__ = [
    "CategoricalPolicy",
    "EvolutionStrategy",
    "MovingAverageBaseline",
    "Path",
    "PolicyStrategy",
    "RandomStrategy",
    "Reinforce",
    "Strategy",
    "Told",
    "mean_entropy",
    "paths_tensor",
    "reward_of",
    "shrink_keep",
]
