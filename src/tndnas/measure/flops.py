"""Exact parameter and FLOP counts of a module, and the costs of one final network.

FLOPs here are floating-point operations, 2 per multiply-add, as ``torch.utils.flop_counter``
counts them (convolutions and matrix products; element-wise ops, pooling and BatchNorm are
free); :meth:`Cost.macs` gives the multiply-adds that several other tools call "FLOPs".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..kernels import reference_kernels


@dataclass(frozen=True)
class Cost:
    """Exact costs of one evaluation network.

    ``params``: parameters without the auxiliary head; ``params_with_aux``: with it
    (equal when the table has no head); ``flops``: FLOPs of one inference forward
    of one image (2 per multiply-add; convolutions and linear layers).
    """

    params: int
    params_with_aux: int
    flops: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates (FLOPs / 2) -- what thop/ptflops report under the name 'FLOPs'."""
        return self.flops // 2


def measure_params_flops(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """(parameters, FLOPs of one inference forward on an input of ``shape``) of ``module``."""
    params = sum(p.numel() for p in module.parameters())
    module.eval()
    with torch.no_grad(), reference_kernels(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(*shape))
    return params, int(counter.get_total_flops())


def count_parameters(module: nn.Module, exclude_auxiliary: bool = True) -> int:
    """Exact integer parameter count; by default without the auxiliary head (the reported size)."""
    total = sum(p.numel() for p in module.parameters())
    if exclude_auxiliary and getattr(module, "auxiliary_head", None) is not None:
        total -= sum(p.numel() for p in module.auxiliary_head.parameters())
    return total


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs (2 per multiply-add) of one inference forward, counted by ``torch.utils.flop_counter``.

    Counts convolutions and matrix products; element-wise ops, pooling and BatchNorm are free.
    """
    was_training = module.training
    module.eval()
    try:
        param = next(module.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        x = torch.zeros(*input_shape, device=device)
        with torch.no_grad(), reference_kernels(), FlopCounterMode(display=False) as counter:
            module(x)
        return int(counter.get_total_flops())
    finally:
        module.train(was_training)
