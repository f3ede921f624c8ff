"""Regularised evolution (aging) as a strategy: a population of random architectures; each
child is the fittest of a tournament mutated on one edge; the oldest leaves as it joins."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping, Sequence

import torch

from ..objectives import RewardTerm
from .base import Path, Strategy, Told, reward_of

#: population size and tournament size of regularised evolution
POPULATION = 20
TOURNAMENT = 5


class EvolutionStrategy(Strategy):
    """One architecture per :meth:`ask`: uniform while the population fills, then a mutated
    tournament winner. Fitness is the reward of ``terms`` (Eq. 9/10; the accuracy alone without
    terms), as TND-NAS rewards its samples."""

    def __init__(
        self,
        sizes: Mapping[str, Sequence[int]],
        rng: random.Random,
        terms: Sequence[RewardTerm] = (),
        population: int = POPULATION,
        tournament: int = TOURNAMENT,
    ):
        self._sizes = {ct: list(v) for ct, v in sizes.items()}
        self.rng, self.terms = rng, list(terms)
        self.size, self.tournament = population, tournament
        self.population: deque[tuple[Path, float]] = deque()

    def ask(self) -> list[Path]:
        if len(self.population) < self.size:
            return [{ct: [self.rng.randrange(k) for k in e] for ct, e in self._sizes.items()}]
        entrants = self.rng.sample(
            list(self.population), min(self.tournament, len(self.population))
        )
        parent = max(entrants, key=lambda p: p[1])[0]
        child = {ct: list(v) for ct, v in parent.items()}
        # one edge of one cell type gets another op
        slots = [(ct, e) for ct, edges in self._sizes.items() for e, k in enumerate(edges) if k > 1]
        ct, e = slots[self.rng.randrange(len(slots))]
        child[ct][e] = self.rng.choice([o for o in range(self._sizes[ct][e]) if o != parent[ct][e]])
        return [child]

    def tell(
        self,
        paths: Sequence[Path],
        accuracies: Sequence[float] | None,
        costs: Sequence[Mapping[str, float] | None],
    ) -> Told:
        rewards = []
        for i, p in enumerate(paths):
            acc = None if accuracies is None else float(accuracies[i])
            r = reward_of(acc, costs[i], self.terms)
            rewards.append(r)
            self.population.append((p, r))
            if len(self.population) > self.size:
                self.population.popleft()
        return Told(torch.tensor(rewards, dtype=torch.float32))

    def best(self) -> Path:
        return max(self.population, key=lambda p: p[1])[0]

    def sizes(self) -> dict[str, list[int]]:
        return {ct: list(v) for ct, v in self._sizes.items()}
