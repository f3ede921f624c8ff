"""Scoring sampled architectures on a batch of the architecture half."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .op_graphs import OpGraphs


@contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Evaluate with BatchNorm on the batch's own statistics, leaving running statistics untouched.

    Dropout and drop-path are off (eval mode); every BatchNorm normalises with the current
    batch (a sub-network's statistics differ from the supernet's running ones) and neither its
    running mean/var nor its batch counter change.
    """
    modules = list(model.modules())
    modes = [m.training for m in modules]
    bns = [m for m in modules if isinstance(m, _BatchNorm)]
    tracking = [m.track_running_stats for m in bns]
    for m in modules:  # model.eval() without its recursion (a supernet has thousands of modules)
        m.__dict__["training"] = False
    for m in bns:
        m.training = True
        m.track_running_stats = False
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):  # every module's own mode back, as it was
            m.__dict__["training"] = mode
        for m, track in zip(bns, tracking):
            m.track_running_stats = track


@torch.no_grad()
def score_paths(
    supernet: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    paths: Sequence[Mapping[str, Sequence[int]]],
    amp: bool = False,
    graphs: OpGraphs | None = None,
) -> torch.Tensor:
    """Top-1 accuracy of each sampled path on one batch (a tensor on the batch's device).

    ``amp``: bf16 autocast (CUDA).  ``graphs``: replay the multi-kernel ops from CUDA graphs.
    """
    with (
        batch_statistics(supernet),
        torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp),
    ):
        if graphs is None:
            logits = supernet.forward_paths(x, paths)  # the paths' common prefix computed once
        else:
            graphs.check()
            logits = supernet.forward_paths(x, paths, graphs)
    return torch.stack([(out.argmax(1) == y).float().mean() for out in logits])
