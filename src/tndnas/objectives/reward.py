"""Scalarisation of accuracy and costs into one reward (paper Eqs. 9 and 10)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RewardTerm:
    """One weighted cost term ``weight * (cost / ref) ** beta``.

    ``beta_below``: the exponent used instead while ``cost <= ref`` (None: ``beta`` throughout,
    as Eqs. 9 and 10).  ``beta_below=0`` with ``beta < 0`` turns ``ref`` into a budget: an
    architecture within it is rewarded by its accuracy alone, one above it is penalised (the
    hard constraint of MnasNet's reward).
    """

    cost: str
    weight: float = 1.0
    ref: float = 1.0
    beta: float = 0.0
    beta_below: float | None = None

    def factor(self, cost: float) -> float:
        """``(cost / ref) ** exponent``, the exponent chosen by which side of ``ref`` cost is."""
        below = self.beta_below is not None and cost <= self.ref
        return (cost / self.ref) ** (self.beta_below if below else self.beta)


def scalarize(
    accuracy: float | None, costs: Mapping[str, float], terms: Sequence[RewardTerm]
) -> float:
    """The reward of one architecture.

    Eq. (9): ``R = Acc * (cost / P) ** beta`` (one term of weight 1).
    Eq. (10): ``R = Acc * sum_i w_i * (cost_i / P_i) ** beta_i`` with ``sum_i w_i = 1``.
    No terms: ``R = Acc``.
    ``accuracy=None`` searches on the costs alone (paper Figs. 5 and 6).  A term with
    ``beta_below`` uses that exponent while its cost is within P (:meth:`RewardTerm.factor`).
    """
    if not terms:
        if accuracy is None:
            raise ValueError("a reward without accuracy needs at least one cost term")
        return accuracy
    s = 0.0
    for t in terms:
        s += t.weight * t.factor(costs[t.cost])
    return s if accuracy is None else accuracy * s
