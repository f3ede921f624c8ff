"""The interface every search strategy follows: ask for architectures, tell what they scored.

An architecture is a :data:`Path`: per cell type, per edge, the index of the chosen op among
that edge's candidates. A strategy never sees a network or a table: whoever runs it (the
supernet search, :mod:`tndnas.search`, or ``tndnas bench-tabular``,
:mod:`tndnas.tabular_benchmark`) measures the accuracy and the costs of what it asked for and
tells it. So one strategy's code runs unchanged against a supernet and against a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..objectives import RewardTerm, scalarize

#: one architecture: ``path[cell_type][edge]`` is the index of its op among the edge's candidates
Path = dict[str, list[int]]


@dataclass
class Told:
    """What a strategy made of the scores it was told: each architecture's reward (Eq. 9/10;
    0 for one that cannot be built) and the baseline its update used (None: no update)."""

    rewards: torch.Tensor
    baseline: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def reward_of(
    accuracy: float | None, costs: Mapping[str, float] | None, terms: Sequence[RewardTerm]
) -> float:
    """Eq. (9)/(10) of one architecture: its accuracy (a fraction; None: the reward ignores
    accuracy) times the cost terms; 0 when its costs are None (it cannot be built)."""
    if costs is None:
        return 0.0
    return scalarize(accuracy, costs, terms)


def paths_tensor(paths: Sequence[Mapping[str, Sequence[int]]]) -> dict[str, torch.Tensor]:
    """Paths as ``{cell_type: (len(paths) x edges) int64}``, as a policy samples them."""
    return {
        ct: torch.tensor([list(p[ct]) for p in paths], dtype=torch.int64).reshape(len(paths), -1)
        for ct in paths[0]
    }


class Strategy:
    """Propose architectures (:meth:`ask`), learn from their scores (:meth:`tell`), name the
    best one so far (:meth:`best`) and, at a stage's end, keep the candidates worth keeping
    (:meth:`shrink`, Eq. 11)."""

    def ask(self) -> list[Path]:
        """The next architectures to score."""
        raise NotImplementedError

    def tell(
        self,
        paths: Sequence[Path],
        accuracies: Sequence[float] | None,
        costs: Sequence[Mapping[str, float] | None],
    ) -> Told:
        """Learn from ``paths``' accuracies (fractions; None: the reward ignores them) and
        costs (None for an architecture that cannot be built)."""
        raise NotImplementedError

    def best(self) -> Path:
        """The architecture the strategy would answer with now."""
        raise NotImplementedError

    def shrink(self, drops: Mapping[str, int]) -> dict[str, list[list[int]]]:
        """Per cell type and edge, the candidate indices kept when ``drops[cell_type]`` are
        dropped from every edge (Eq. 11); a strategy with no preference keeps the first ones."""
        sizes = self.sizes()
        return {
            ct: [list(range(k - drops.get(ct, 0))) for k in edges] for ct, edges in sizes.items()
        }

    def sizes(self) -> dict[str, list[int]]:
        """Per cell type, each edge's number of candidates."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass
