"""One SGD step on the supernet weights (Eq. 3), in the paper's mixed mode or a sampled mode."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def pdarts_skip_dropout(
    start: float, epoch: int, epochs: int, pretrain: int, decay: float
) -> float:
    """P-DARTS's dropout after skip_connect, as its authors (and TND-NAS's) ran it.

    During the weight-only epochs it falls linearly, ``start * (epochs - epoch - 1) / epochs``;
    from the first epoch with alpha updates it restarts at ``start`` and decays exponentially,
    ``start * exp(-decay * (epoch - pretrain))`` (their ``scale_factor`` is 0.2).
    """
    if epoch < pretrain:
        return start * (epochs - epoch - 1) / epochs
    return start * math.exp(-decay * (epoch - pretrain))


def constant_skip_dropout(
    start: float, epoch: int, epochs: int, pretrain: int, decay: float
) -> float:
    """The stage's rate in every epoch."""
    return start


#: ``weights.skip_dropout_schedule``: name -> rate(start, epoch, epochs, pretrain_epochs, decay).
SKIP_DROPOUT_SCHEDULES: dict[str, Callable[[float, int, int, int, float], float]] = {
    "pdarts": pdarts_skip_dropout,
    "constant": constant_skip_dropout,
}


class SupernetForward(nn.Module):
    """A supernet's two forwards as one ``forward`` -- mixed (``weights``) or one sampled path
    (``path``) -- so that DistributedDataParallel, which wraps ``forward`` only, can run both."""

    def __init__(self, supernet: nn.Module):
        super().__init__()
        self.supernet = supernet

    def forward(
        self,
        x: torch.Tensor,
        weights: Mapping[str, torch.Tensor] | None = None,
        path: Mapping[str, list[int]] | None = None,
    ) -> torch.Tensor:
        return self.supernet(x, weights) if path is None else self.supernet.forward_path(x, path)


def uniform_path(
    candidates: Mapping[str, Sequence[Sequence[str]]], generator: torch.Generator
) -> dict[str, list[int]]:
    """One path drawn uniformly (``weights.mode: uniform``): on every edge each candidate op
    equally likely, drawn from ``generator`` (the same on every process of a run)."""
    return {
        ct: [int(torch.randint(len(ops), (), generator=generator)) for ops in edges]
        for ct, edges in candidates.items()
    }


def weight_step(
    supernet: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    grad_clip: float,
    *,
    weights: Mapping[str, torch.Tensor] | None = None,
    path: Mapping[str, list[int]] | None = None,
    amp: bool = False,
    params: Sequence[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy step on a batch of the weight half.

    ``weights`` given: the mixed forward of Eq. (1) with those (detached) op weights -- the
    paper's mode.  ``path`` given: only that path runs and learns (``sampled`` and ``uniform`` modes).
    ``amp``: bf16 autocast of the forward (CUDA).  ``params``: the supernet's parameters, listed
    once by the caller (listing them walks every module).  Returns the loss and the number of
    correct predictions, as tensors (no host sync).
    """
    # eval() and train() walk thousands of modules: only when needed; a wrapper's own flag
    # does not see an eval() of the supernet inside it, so the supernet's is asked
    inner = supernet.module.supernet if isinstance(supernet, DistributedDataParallel) else supernet
    if not inner.training or not supernet.training:
        supernet.train()
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        if path is None:
            logits = supernet(x, weights)
        elif isinstance(supernet, DistributedDataParallel):  # its forward takes the path
            logits = supernet(x, path=path)
        else:
            logits = supernet.forward_path(x, path)
        loss = nn.functional.cross_entropy(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(supernet.parameters() if params is None else params, grad_clip)
    optimizer.step()
    return loss.detach(), (logits.detach().argmax(1) == y).sum()
