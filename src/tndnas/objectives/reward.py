"""Scalarisation of accuracy and costs into one reward (paper Eqs. 9 and 10)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config import ConfigError

#: ln of the largest factor a reward term may reach (e^50 ~ 5e21): far beyond any useful
#: reward, far below where float arithmetic on rewards (means, baselines, Adam) breaks down
MAX_LOG_FACTOR = 50.0


class RewardError(ConfigError):
    """A reward that cannot be computed: a cost that is zero, negative or not a number, or a
    factor (cost / P) ** beta too large to be a reward."""


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

    def exponent(self, cost: float) -> float:
        """The exponent for ``cost``: ``beta_below`` within ``ref`` when set, else ``beta``."""
        below = self.beta_below is not None and cost <= self.ref
        return self.beta_below if below else self.beta

    def log_factor(self, cost: float) -> float:
        """``exponent * ln(cost / ref)``, the factor's logarithm; a one-sentence
        :class:`RewardError` for a cost that is not a positive finite number."""
        if not (isinstance(cost, (int, float)) and math.isfinite(cost) and cost > 0):
            if self.exponent(cost) == 0:
                return 0.0
            raise RewardError(
                f"the cost '{self.cost}' of an architecture is {cost!r}, but a reward term "
                f"(cost / P) ** beta needs a positive cost (P = {self.ref:g}, beta = "
                f"{self.exponent(cost):g}); check the cost's table or leave it out of the reward."
            )
        return self.exponent(cost) * math.log(cost / self.ref)

    def factor(self, cost: float) -> float:
        """``(cost / ref) ** exponent``, computed in log space: a factor beyond what a float
        holds is a one-sentence :class:`RewardError`, not an overflow."""
        lf = self.log_factor(cost)
        if lf > MAX_LOG_FACTOR:
            raise RewardError(
                f"(cost / P) ** beta of the cost '{self.cost}' is e^{lf:.0f} for a cost of "
                f"{cost:g} (P = {self.ref:g}, beta = {self.exponent(cost):g}): too large to "
                "be a reward; choose P near the space's costs (tndnas info shows them) or a "
                "beta nearer 0."
            )
        return math.exp(lf)


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
