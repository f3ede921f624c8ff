"""What the reward is made of: the registered costs of an architecture (params, FLOPs, latency,
user-registered ones), each looked up through its search space, and the reward that scalarizes
them with the accuracy (Eqs. 5-10)."""

from .costs import (
    CostContext,
    CostSpec,
    cost_label,
    cost_names,
    genotype_costs,
    get_cost,
    register_cost,
)
from .reward import RewardError, RewardTerm, scalarize

__all__ = [
    "CostContext",
    "CostSpec",
    "RewardError",
    "RewardTerm",
    "cost_label",
    "cost_names",
    "genotype_costs",
    "get_cost",
    "register_cost",
    "scalarize",
]
