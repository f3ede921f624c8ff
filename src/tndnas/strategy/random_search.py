"""Random search as a strategy: every architecture drawn uniformly, nothing learnt."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import torch

from .base import Path, Strategy, Told


class RandomStrategy(Strategy):
    """``samples`` uniform architectures per :meth:`ask` over ``sizes`` (per cell type, each
    edge's number of candidates), drawn from ``rng``; :meth:`best` is the best told so far."""

    def __init__(self, sizes: Mapping[str, Sequence[int]], rng: random.Random, samples: int = 1):
        self._sizes = {ct: list(v) for ct, v in sizes.items()}
        self.rng, self.samples = rng, samples
        self._best: tuple[float, Path] | None = None

    def draw(self) -> Path:
        """One uniform architecture."""
        return {ct: [self.rng.randrange(k) for k in edges] for ct, edges in self._sizes.items()}

    def ask(self) -> list[Path]:
        return [self.draw() for _ in range(self.samples)]

    def tell(
        self,
        paths: Sequence[Path],
        accuracies: Sequence[float] | None,
        costs: Sequence[Mapping[str, float] | None],
    ) -> Told:
        for i, p in enumerate(paths):
            acc = 0.0 if accuracies is None else float(accuracies[i])
            if costs[i] is not None and (self._best is None or acc > self._best[0]):
                self._best = (acc, p)
        return Told(torch.zeros(len(paths)))

    def best(self) -> Path:
        return self._best[1] if self._best else self.draw()

    def sizes(self) -> dict[str, list[int]]:
        return {ct: list(v) for ct, v in self._sizes.items()}
