"""REINFORCE with a moving-average baseline on alpha (paper Eq. 8)."""

from __future__ import annotations

import math

import torch

from ..config import PolicyConfig
from .policy import CategoricalPolicy

BASELINE_MODES = ("previous", "current", "leave_one_out")


class MovingAverageBaseline:
    """b of Eq. (8): an exponential moving average of mean rewards, ``b <- d*b + (1-d)*mean(R)``.

    ``mode="previous"`` (the paper): b averages the rewards of *previous* updates only; the first
    update, having none, uses its own batch mean.  ``mode="current"`` (the authors' code): b
    starts at 0 and takes the current batch into the average *before* it is used; with
    ``decay=0.05`` this is their ``b += 0.95 * (mean - b)``.  ``mode="leave_one_out"``: each
    sample's baseline is the mean reward of the *other* M - 1 samples of the same update (they
    were scored on the same batch by the same weights), so neither the batch's difficulty nor
    the weights' progress since earlier updates enters R - b, and b stays independent of the
    sample it is subtracted from (no bias).  The moving average is still kept, for the record.
    """

    def __init__(self, decay: float, mode: str = "previous"):
        if mode not in BASELINE_MODES:
            raise ValueError(f"baseline mode must be one of {BASELINE_MODES}, got {mode!r}")
        self.decay = decay
        self.mode = mode
        self.value: float | None = None if mode == "previous" else 0.0

    def _averaged(self, rewards: torch.Tensor) -> float:
        mean = float(rewards.mean())
        return mean if self.value is None else self.decay * self.value + (1 - self.decay) * mean

    def current(self, rewards: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """The baseline of each of this update's ``rewards`` (M,); ``weights``: the samples'
        importance weights (the leave-one-out mean is then the weighted mean of the others)."""
        if self.mode == "leave_one_out":
            m = rewards.numel()
            if m < 2:  # no other sample: no advantage, no step
                return rewards.clone()
            if weights is not None:
                others = (weights.sum() - weights).clamp_min(1e-12)
                return ((weights * rewards).sum() - weights * rewards) / others
            return (rewards.sum() - rewards) / (m - 1)
        if self.mode == "current":
            b = self._averaged(rewards)
        else:
            b = float(rewards.mean()) if self.value is None else self.value
        return torch.full_like(rewards, b)

    def update(self, rewards: torch.Tensor) -> None:
        """Fold this update's rewards into the average (after they were used)."""
        self.value = self._averaged(rewards)

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"]


def policy_lr(cfg: PolicyConfig, updates: int | None) -> float:
    """The Adam learning rate of alpha for a stage of ``updates`` alpha updates: ``cfg.lr``, or
    with ``lr: auto`` the budget rule ``noise_walk / sqrt(updates)``.  On pure noise Adam turns
    every update into a step of about its learning rate in a random direction, so alpha wanders
    by about ``lr * sqrt(updates)`` over a stage: the rule holds that walk fixed, so a pure-noise
    control stays as flat in a search of 3 updates as in one of 2,000, while a real signal, which
    moves alpha by about ``lr * updates`` times its strength, is followed further the more updates
    a stage has."""
    if not isinstance(cfg.lr, str):
        return float(cfg.lr)
    if updates is None:
        raise ValueError("policy.lr: auto needs the stage's number of alpha updates")
    return cfg.noise_walk / math.sqrt(max(updates, 1))


class Reinforce:
    """One Adam step on -mean_m((R_m - b) log pi(g_m)) - entropy_weight * H, Eq. (8).

    ``decoupled_weight_decay``: AdamW instead of Adam's L2 term.  Adam's coupled decay adds
    ``weight_decay * alpha`` to a gradient whose size is that of the rewards, so a reward far
    below 1 is swamped by it; AdamW shrinks alpha apart from the gradient.
    ``normalize_advantage``: divide R - b by the M rewards' standard deviation, so the step does
    not depend on the rewards' scale (all rewards equal, or M = 1: no step).
    """

    def __init__(
        self,
        policy: CategoricalPolicy,
        lr: float,
        betas: tuple[float, float],
        weight_decay: float,
        grad_clip: float,
        baseline_decay: float,
        entropy_weight: float = 0.0,
        baseline_mode: str = "previous",
        *,
        decoupled_weight_decay: bool = False,
        normalize_advantage: bool = False,
    ):
        self.policy = policy
        self.cell_types = list(policy.alpha)
        self.params = [policy.alpha[ct] for ct in self.cell_types]
        adam = torch.optim.AdamW if decoupled_weight_decay else torch.optim.Adam
        self.optimizer = adam(self.params, lr=lr, betas=betas, weight_decay=weight_decay)
        self.normalize_advantage = normalize_advantage
        self.grad_clip = grad_clip
        self.entropy_weight = entropy_weight
        self.baseline = MovingAverageBaseline(baseline_decay, baseline_mode)

    @classmethod
    def from_config(
        cls, policy: CategoricalPolicy, cfg: PolicyConfig, updates: int | None = None
    ) -> Reinforce:
        """REINFORCE on ``policy`` with the settings of a config's ``policy`` section, for a
        stage of ``updates`` alpha updates (:func:`policy_lr`)."""
        return cls(
            policy, policy_lr(cfg, updates), tuple(cfg.betas), cfg.weight_decay, cfg.grad_clip, cfg.baseline_decay,
            cfg.entropy_weight, cfg.baseline,
            decoupled_weight_decay=cfg.weight_decay_mode == "decoupled",
            normalize_advantage=cfg.normalize_advantage,
        )  # fmt: skip

    def step(
        self,
        samples: dict[str, torch.Tensor],
        rewards: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> float:
        """Update alpha from M sampled architectures and their rewards; returns the baseline used
        (the mean of the M samples' baselines). ``weights``: importance weights of samples drawn
        by another policy (mean 1; none: every sample is this policy's own)."""
        b = self.baseline.current(rewards, weights)
        advantage = rewards - b if weights is None else weights * (rewards - b)
        if self.normalize_advantage:  # equal rewards (or M = 1): no step, not a division by ~0
            std = rewards.std(correction=0)
            advantage = torch.where(std > 1e-12, advantage / std.clamp_min(1e-12), 0.0)
        advantage = advantage / rewards.numel()
        ascent = self.policy.log_prob_grad(samples, advantage)
        if self.entropy_weight:
            ent = self.policy.entropy_grad()
            n_edges = sum(a.shape[0] for a in self.params)
            ascent = {
                ct: ascent[ct] + self.entropy_weight * ent[ct] / n_edges for ct in self.cell_types
            }
        for ct, a in zip(self.cell_types, self.params):
            a.grad = -ascent[ct]  # Adam minimises the negative objective
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.baseline.update(rewards)
        return float(b.mean())

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "baseline": self.baseline.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline.load_state_dict(state["baseline"])
