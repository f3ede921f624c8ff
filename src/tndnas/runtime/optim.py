"""What the search's weight step and the final training share: the cosine learning-rate
schedule, setting an optimizer's rate, and the check that stops a diverged run."""

from __future__ import annotations

import math

import torch

from ..config import ConfigError


def cosine_lr(base: float, floor: float, epoch: int, epochs: int) -> float:
    """Cosine annealing from ``base`` to ``floor`` over ``epochs`` (value for ``epoch``)."""
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * epoch / max(1, epochs)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate to ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


class DivergedError(ConfigError):
    """Training whose loss is no longer a number: one sentence names where and what to change."""


def check_finite_loss(loss: float, where: str, lr_key: str, lr: float) -> None:
    """Stop, before anything of the epoch is written, when the epoch's mean loss is NaN or
    infinite: the weights diverged, and every number after it would be meaningless."""
    if not math.isfinite(loss):
        raise DivergedError(
            f"the weights diverged in {where} (training loss {loss}); lower {lr_key} (now {lr:g}) "
            "or clip the gradients harder, and start a new run with another --out."
        )
