"""What is measured: costs of an architecture (params, FLOPs, user-registered ones) and the reward."""

from .cost_table import Cost, CostTable
from .costs import CostContext, CostSpec, cost_names, get_cost, register_cost
from .reward import RewardTerm, scalarize

__all__ = [
    "Cost",
    "CostContext",
    "CostSpec",
    "CostTable",
    "RewardTerm",
    "cost_names",
    "get_cost",
    "register_cost",
    "scalarize",
]
