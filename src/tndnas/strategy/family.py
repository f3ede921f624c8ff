"""A family of policies on one set of candidates: one :class:`PolicyStrategy` per reward (one
per beta, or per budget P), asked together and each learning from every member's samples.

Member k's REINFORCE step (Eq. 8) uses all the family's samples g with importance weights
pi_k(g) / q(g), q the mixture of the members' policies that drew them (the balance heuristic),
clipped at :data:`CLIP` and normalised to mean 1: a measurement one member paid for serves the
others too, in proportion to how likely they were to draw it themselves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .base import Path, Strategy, Told, paths_tensor, reward_of
from .policy import CategoricalPolicy, mean_entropy
from .tnd import PolicyStrategy, shrink_keep

#: the largest importance weight a sample gets (bounds the variance a rare sample adds)
CLIP = 5.0


class MixturePolicy:
    """The family's members as one distribution: each edge's op probabilities averaged over the
    members (what the family's samples are drawn from), read-only.  The supernet's mixed weight
    step uses these weights (Eq. 1 with the mixture in place of one policy's softmax(alpha))."""

    def __init__(self, members: Sequence[CategoricalPolicy]):
        self.members = list(members)

    def probs(self) -> dict[str, torch.Tensor]:
        each = [m.probs() for m in self.members]
        return {ct: torch.stack([p[ct] for p in each]).mean(0) for ct in each[0]}

    @property
    def alpha(self) -> dict[str, torch.Tensor]:
        """log of the mixture's probabilities: an alpha whose softmax is the mixture."""
        return {ct: torch.log(p.clamp_min(1e-30)) for ct, p in self.probs().items()}

    def argmax(self) -> dict[str, torch.Tensor]:
        return {ct: p.argmax(dim=-1) for ct, p in self.probs().items()}

    def entropy(self) -> torch.Tensor:
        """Mean entropy per edge (nats) of the mixture."""
        return mean_entropy(self.alpha)

    def state_dict(self) -> dict:
        return {ct: a.clone() for ct, a in self.alpha.items()}


class FamilyStrategy(Strategy):
    """``members``: one policy per reward, all over the same candidates (their ``samples`` each
    per :meth:`ask`)."""

    def __init__(self, members: Sequence[PolicyStrategy], clip: float = CLIP):
        if not members:
            raise ValueError("a family needs at least one member")
        self.members = list(members)
        self.clip = clip
        self.turn = 0  # the member whose policy draws the next single path (:meth:`sample`)

    @property
    def policy(self) -> MixturePolicy:
        """The members' mixture (:class:`MixturePolicy`)."""
        return MixturePolicy([m.policy for m in self.members])

    @property
    def policies(self) -> list[CategoricalPolicy]:
        return [m.policy for m in self.members]

    def ask(self) -> list[Path]:
        return [p for m in self.members for p in m.ask()]

    def sample(self, m: int) -> list[Path]:
        """``m`` architectures from the mixture: the members draw in turn, one each."""
        out = []
        for _ in range(m):
            out += self.members[self.turn % len(self.members)].sample(1)
            self.turn += 1
        return out

    def weights(self, paths: Sequence[Path]) -> torch.Tensor:
        """(members x samples) importance weights of ``paths`` for each member."""
        g = paths_tensor(paths)
        logp = torch.stack([m.policy.log_prob(g) for m in self.members])
        logq = torch.logsumexp(logp, 0) - math.log(len(self.members))
        w = torch.exp(logp - logq).clamp(max=self.clip)
        return w * w.shape[1] / w.sum(1, keepdim=True)

    def tell(
        self,
        paths: Sequence[Path],
        accuracies: Sequence[float] | None,
        costs: Sequence[Mapping[str, float] | None],
    ) -> Told:
        g, w = paths_tensor(paths), self.weights(paths)
        rewards, baselines = [], []
        for k, m in enumerate(self.members):
            r = torch.tensor(
                [reward_of(None if accuracies is None else float(accuracies[i]), c, m.terms)
                 for i, c in enumerate(costs)],
                dtype=torch.float32,
            )  # fmt: skip
            baselines.append(m.reinforce.step(g, r, w[k]))
            rewards.append(r)
        mean_baseline = sum(baselines) / len(baselines)  # each member's, averaged for the log
        return Told(torch.stack(rewards), mean_baseline, {"baselines": baselines, "weights": w})

    def best(self) -> Path:
        return self.members[0].best()

    def bests(self) -> list[Path]:
        """Each member's argmax architecture."""
        return [m.best() for m in self.members]

    def shrink(self, drops: Mapping[str, int]) -> dict[str, list[list[int]]]:
        """Eq. (11) for the family: on every edge, keep the candidates whose largest probability
        over the members is highest (no member loses the op it prefers most)."""
        probs = [m.policy.probs() for m in self.members]
        return {
            ct: shrink_keep(torch.stack([p[ct] for p in probs]).amax(0), drops.get(ct, 0))
            for ct in probs[0]
        }

    def sizes(self) -> dict[str, list[int]]:
        return self.members[0].sizes()

    def state_dict(self) -> dict[str, Any]:
        return {"members": [m.state_dict() for m in self.members], "turn": self.turn}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for m, s in zip(self.members, state["members"], strict=True):
            m.load_state_dict(s)
        self.turn = int(state.get("turn", 0))
