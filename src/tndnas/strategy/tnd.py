"""TND-NAS's strategy: a categorical policy over every edge's candidates (Eqs. 4-5), trained by
REINFORCE with a baseline (Eq. 8) on the reward of Eq. (9)/(10), shrunk at a stage's end by
dropping each edge's least likely candidates (Eq. 11)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..config import PolicyConfig
from ..objectives import RewardTerm
from .base import Path, Strategy, Told, paths_tensor, reward_of
from .policy import CategoricalPolicy
from .reinforce import Reinforce


def shrink_keep(probs: torch.Tensor, n_drop: int) -> list[list[int]]:
    """Eq. (11): per edge, the indices that survive dropping the ``n_drop`` lowest p."""
    keep = probs.shape[1] - n_drop
    order = torch.argsort(probs, dim=1, descending=True, stable=True)
    return [sorted(row[:keep].tolist()) for row in order]


class PolicyStrategy(Strategy):
    """A fresh, near-uniform policy over ``num_ops[cell_type]`` candidates on each of
    ``num_edges`` edges (``init``: the generator of alpha's initial values), sampling
    ``samples`` architectures per :meth:`ask` from ``generator``, stepped by REINFORCE with the
    settings of ``cfg`` (a config's ``policy`` section) on the reward of ``terms``; ``updates``:
    the stage's number of updates, which sets the learning rate under ``lr: auto``."""

    def __init__(
        self,
        num_ops: Mapping[str, int],
        num_edges: int,
        cfg: PolicyConfig,
        terms: Sequence[RewardTerm],
        *,
        init: torch.Generator,
        generator: torch.Generator,
        samples: int | None = None,
        updates: int | None = None,
    ):
        self.policy = CategoricalPolicy(num_ops, num_edges, init)
        self.reinforce = Reinforce.from_config(self.policy, cfg, updates)
        self.generator = generator
        self.samples = samples or cfg.samples
        self.terms = list(terms)

    @property
    def policies(self) -> list[CategoricalPolicy]:
        """The policy, as a list of one (a family has one per member)."""
        return [self.policy]

    def sample(self, m: int) -> list[Path]:
        """``m`` architectures drawn from the policy (Eq. 5)."""
        g = self.policy.sample(m, self.generator)
        return [{ct: g[ct][i].tolist() for ct in g} for i in range(m)]

    def ask(self) -> list[Path]:
        return self.sample(self.samples)

    def tell(
        self,
        paths: Sequence[Path],
        accuracies: Sequence[float] | None,
        costs: Sequence[Mapping[str, float] | None],
    ) -> Told:
        rewards = torch.tensor(
            [
                reward_of(None if accuracies is None else float(accuracies[i]), c, self.terms)
                for i, c in enumerate(costs)
            ],
            dtype=torch.float32,
        )
        baseline = self.reinforce.step(paths_tensor(paths), rewards)
        return Told(rewards, baseline)

    def best(self) -> Path:
        return {ct: v.tolist() for ct, v in self.policy.argmax().items()}

    def shrink(self, drops: Mapping[str, int]) -> dict[str, list[list[int]]]:
        return {ct: shrink_keep(p, drops.get(ct, 0)) for ct, p in self.policy.probs().items()}

    def sizes(self) -> dict[str, list[int]]:
        return {ct: [a.shape[1]] * a.shape[0] for ct, a in self.policy.alpha.items()}

    def state_dict(self) -> dict[str, Any]:
        # the keys a search checkpoint has always used for these three
        return {
            "alpha": self.policy.state_dict(),
            "reinforce": self.reinforce.state_dict(),
            "gen_policy": self.generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.policy.load_state_dict(state["alpha"])
        self.reinforce.load_state_dict(state["reinforce"])
        self.generator.set_state(state["gen_policy"])
