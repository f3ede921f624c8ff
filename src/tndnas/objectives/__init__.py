"""What is measured: costs of an architecture (params, FLOPs, latency, user-registered ones) and the reward."""

from .cost_table import Cost, CostTable
from .costs import (
    CostContext,
    CostSpec,
    cost_label,
    cost_names,
    genotype_costs,
    get_cost,
    register_cost,
)
from .latency import LatencyTable, LatencyTableError
from .reward import RewardError, RewardTerm, scalarize

__all__ = [
    "Cost",
    "CostContext",
    "CostSpec",
    "cost_label",
    "genotype_costs",
    "CostTable",
    "LatencyTable",
    "LatencyTableError",
    "RewardError",
    "RewardTerm",
    "cost_names",
    "get_cost",
    "register_cost",
    "scalarize",
]
