"""Scalarisation of accuracy and costs into one reward (paper Eqs. 9 and 10)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RewardTerm:
    """One weighted cost term ``weight * (cost / ref) ** beta``."""

    cost: str
    weight: float = 1.0
    ref: float = 1.0
    beta: float = 0.0


def scalarize(
    accuracy: float | None, costs: Mapping[str, float], terms: Sequence[RewardTerm]
) -> float:
    """The reward of one architecture.

    Eq. (9): ``R = Acc * (cost / P) ** beta`` (one term of weight 1).
    Eq. (10): ``R = Acc * sum_i w_i * (cost_i / P_i) ** beta_i`` with ``sum_i w_i = 1``.
    ``accuracy=None`` searches on the costs alone (paper Figs. 5 and 6).
    """
    s = 0.0
    for t in terms:
        s += t.weight * (costs[t.cost] / t.ref) ** t.beta
    return s if accuracy is None else accuracy * s
