"""REINFORCE with a moving-average baseline on alpha (paper Eq. 8)."""

from __future__ import annotations

import torch

from ..space.genotype import CELL_TYPES
from .policy import CategoricalPolicy


class MovingAverageBaseline:
    """b: an exponential moving average of the mean rewards of *previous* updates.

    The first update, having no previous reward, uses its own batch mean.
    """

    def __init__(self, decay: float):
        self.decay = decay
        self.value: float | None = None

    def current(self, rewards: torch.Tensor) -> float:
        return float(rewards.mean()) if self.value is None else self.value

    def update(self, rewards: torch.Tensor) -> None:
        mean = float(rewards.mean())
        self.value = (
            mean if self.value is None else self.decay * self.value + (1 - self.decay) * mean
        )

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"]


class Reinforce:
    """One Adam step on -mean_m((R_m - b) log pi(g_m)) - entropy_weight * H, Eq. (8)."""

    def __init__(
        self,
        policy: CategoricalPolicy,
        lr: float,
        betas: tuple[float, float],
        weight_decay: float,
        grad_clip: float,
        baseline_decay: float,
        entropy_weight: float = 0.0,
    ):
        self.policy = policy
        self.params = [policy.alpha[ct] for ct in CELL_TYPES]
        self.optimizer = torch.optim.Adam(
            self.params, lr=lr, betas=betas, weight_decay=weight_decay
        )
        self.grad_clip = grad_clip
        self.entropy_weight = entropy_weight
        self.baseline = MovingAverageBaseline(baseline_decay)

    def step(self, samples: dict[str, torch.Tensor], rewards: torch.Tensor) -> float:
        """Update alpha from M sampled architectures and their rewards; returns the baseline used."""
        b = self.baseline.current(rewards)
        advantage = (rewards - b) / rewards.numel()
        ascent = self.policy.log_prob_grad(samples, advantage)
        if self.entropy_weight:
            ent = self.policy.entropy_grad()
            n_edges = sum(a.shape[0] for a in self.params)
            ascent = {ct: ascent[ct] + self.entropy_weight * ent[ct] / n_edges for ct in CELL_TYPES}
        for ct, a in zip(CELL_TYPES, self.params):
            a.grad = -ascent[ct]  # Adam minimises the negative objective
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.baseline.update(rewards)
        return b

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "baseline": self.baseline.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline.load_state_dict(state["baseline"])
