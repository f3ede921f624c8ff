"""Search strategies behind one ask/tell interface (:class:`Strategy`): TND-NAS's policy with
REINFORCE (:class:`PolicyStrategy`, Eqs. 4-11), random search, regularised evolution, and
Optuna's NSGA-II and multi-objective TPE (:class:`OptunaStrategy`, optional). The
supernet search and ``tndnas bench-tabular`` run the same strategy code; only what measures an
architecture (a supernet's weights, a table) differs."""

from .base import Path, Strategy, Told, paths_tensor, reward_of
from .evolution import EvolutionStrategy
from .family import FamilyStrategy
from .optuna_samplers import SAMPLERS, OptunaStrategy, optuna_available
from .policy import CategoricalPolicy, mean_entropy
from .random_search import RandomStrategy
from .reinforce import MovingAverageBaseline, Reinforce, policy_lr
from .tnd import PolicyStrategy, shrink_keep

__all__ = [
    "CategoricalPolicy",
    "EvolutionStrategy",
    "FamilyStrategy",
    "OptunaStrategy",
    "MovingAverageBaseline",
    "Path",
    "PolicyStrategy",
    "RandomStrategy",
    "SAMPLERS",
    "Reinforce",
    "policy_lr",
    "Strategy",
    "Told",
    "mean_entropy",
    "optuna_available",
    "paths_tensor",
    "reward_of",
    "shrink_keep",
]
