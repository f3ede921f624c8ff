"""One SGD step and one test-accuracy pass of a final network (the training protocol of Table V)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ..data import BatchIterator


def _autocast(enabled: bool, device: torch.device) -> contextlib.AbstractContextManager:
    if enabled:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    auxiliary_weight: float,
    grad_clip: float,
    amp: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on ``CE(logits) + auxiliary_weight * CE(aux_logits)``.

    Returns the main cross-entropy (the auxiliary term excluded) and the number of correct
    predictions, as tensors (no host sync).
    """
    model.train()
    with _autocast(amp, x.device):
        logits, aux = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        total = loss
        if aux is not None and auxiliary_weight > 0:
            total = loss + auxiliary_weight * nn.functional.cross_entropy(aux, y)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss.detach().float(), (logits.detach().argmax(1) == y).sum()


@torch.no_grad()
def evaluate(
    model: nn.Module, batches: BatchIterator, *, amp: bool, channels_last: bool
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (0..1) of ``model`` in eval mode over ``batches``."""
    model.eval()
    device = batches.x.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen = 0
    for x, y in batches:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(amp, device):
            logits, _ = model(x)
        loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
    return float(loss_sum) / max(seen, 1), float(correct) / max(seen, 1)
