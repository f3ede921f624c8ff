"""Candidate operations of a cell edge, and the registry that names them.

Every operation maps ``C`` channels to ``C`` channels; with ``stride=2`` it halves the
spatial size.  An operation is built by a factory ``(C, stride, affine) -> nn.Module``
looked up by name, so the search space is data: a user adds an operation with
:func:`register_op` and then names it in an op set or a genotype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .kernels import AvgPool3x3, BatchNorm2d
from .registry import Registry, UnknownNameError

OpFactory = Callable[[int, int, bool], nn.Module]


@dataclass(frozen=True)
class OpSpec:
    """A registered operation: its factory and its traits."""

    name: str
    factory: OpFactory
    colour: str | None = None  # its colour in every plot (None: a stable one from its name)
    parameter_free: bool = False  # the search supernet adds a BatchNorm after it (pools)
    order: int = 0  # registration order: the order of plot legends


class UnknownOpError(UnknownNameError):
    """An operation name that is not in the registry."""


_OPS: Registry[OpSpec] = Registry(
    "operation", "register a new one with tndnas.ops.register_op", error=UnknownOpError
)


def register_op(
    name: str,
    factory: OpFactory | None = None,
    *,
    colour: str | None = None,
    parameter_free: bool = False,
    overwrite: bool = False,
):
    """Register ``factory(C, stride, affine) -> nn.Module`` under ``name``.

    Usable as a call, ``register_op("my_op", fn)``, or as a decorator, ``@register_op("my_op")``.
    The module must keep ``C`` channels and divide the spatial size by ``stride``.
    ``colour``: the op's colour in plots (a matplotlib colour; default: one derived from the
    name). ``parameter_free``: an op without weights whose output the search supernet
    normalises with an extra BatchNorm, as DARTS does for pools.
    """

    def _add(fn: OpFactory) -> OpFactory:
        order = _OPS.get(name).order if name in _OPS else len(_OPS)
        _OPS.register(name, OpSpec(name, fn, colour, parameter_free, order), overwrite=overwrite)
        return fn

    return _add(factory) if factory is not None else _add


def op_spec(name: str) -> OpSpec:
    """The registered :class:`OpSpec` of ``name`` (an error listing the known names if none)."""
    return _OPS.get(name)


def check_op_name(name: str) -> str:
    """Return ``name`` if it is registered, else raise an error listing the known names."""
    _OPS.get(name)
    return name


def build_op(name: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    """Instantiate the operation ``name`` for ``C`` channels and the given stride."""
    return _OPS.get(name).factory(C, stride, affine)


def op_names() -> list[str]:
    """All registered operation names."""
    return _OPS.names()


# --------------------------------------------------------------------------- building blocks


class Chain(nn.Sequential):
    """``nn.Sequential`` with its ``forward`` written here.

    ``torch.compile`` of a module (``nn.Module.compile``) skips modules whose ``forward`` lives
    inside torch itself, so a plain ``nn.Sequential`` would stay eager; every multi-layer op,
    and the supernet's wrappers, derive from this class instead.  Same layers, same
    ``state_dict`` keys.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = layer(x)
        return x


class ReLUConvBN(Chain):
    """ReLU -> Conv -> BatchNorm."""

    def __init__(
        self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool = True
    ):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=padding, bias=False),
            BatchNorm2d(C_out, affine=affine),
        )


class DilConv(Chain):
    """ReLU -> dilated depthwise conv -> pointwise conv -> BatchNorm."""

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
    ):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                C_in, C_in, kernel, stride, padding, dilation=dilation, groups=C_in, bias=False
            ),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            BatchNorm2d(C_out, affine=affine),
        )


class SepConv(Chain):
    """Two stacked depthwise-separable convolutions (the DARTS ``sep_conv``)."""

    def __init__(
        self, C_in: int, C_out: int, kernel: int, stride: int, padding: int, affine: bool = True
    ):
        super().__init__(
            DilConv(C_in, C_in, kernel, stride, padding, 1, affine),
            DilConv(C_in, C_out, kernel, 1, padding, 1, affine),
        )


class Conv3x1And1x3(Chain):
    """ReLU -> 1x3 conv -> 3x1 conv -> BatchNorm (a factorised 3x3)."""

    def __init__(self, C: int, stride: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, (1, 3), stride=(1, stride), padding=(0, 1), bias=False),
            nn.Conv2d(C, C, (3, 1), stride=(stride, 1), padding=(1, 0), bias=False),
            BatchNorm2d(C, affine=affine),
        )


class Identity(nn.Module):
    """The stride-1 ``skip_connect``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` operation: a zero tensor of the output shape.

    Only the mixed forward (Eq. 1) ever calls it; the sampled-path forward and the
    evaluation network skip 'none' edges instead of computing zeros.
    """

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two offset stride-2 1x1 convs, concatenated."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        if C_out % 2:
            raise ValueError(
                f"FactorizedReduce needs an even number of output channels, got {C_out}"
            )
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = x[:, :, 1:, 1:]
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            # odd sizes: pad the shifted view so both halves have the same shape
            y = nn.functional.pad(y, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(y)], dim=1))


# --------------------------------------------------------------------------- the registry

# colours: distinct hues, families (sep, dil, conv, pools) in related colours
register_op("none", lambda C, stride, affine: Zero(stride), colour="#d9d9d9")
register_op(
    "skip_connect",
    lambda C, stride, affine: Identity() if stride == 1 else FactorizedReduce(C, C, affine),
    colour="#ff7f0e",
)
register_op(
    "sep_conv_3x3", lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine), colour="#1f77b4"
)
register_op(
    "sep_conv_5x5", lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine), colour="#17becf"
)
register_op(
    "sep_conv_7x7", lambda C, stride, affine: SepConv(C, C, 7, stride, 3, affine), colour="#393b79"
)
register_op(
    "dil_conv_3x3",
    lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
    colour="#2ca02c",
)
register_op(
    "dil_conv_5x5",
    lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
    colour="#bcbd22",
)
register_op(
    "conv_1x1", lambda C, stride, affine: ReLUConvBN(C, C, 1, stride, 0, affine), colour="#9467bd"
)
register_op(
    "conv_3x3", lambda C, stride, affine: ReLUConvBN(C, C, 3, stride, 1, affine), colour="#e377c2"
)
register_op(
    "conv_3x1_1x3", lambda C, stride, affine: Conv3x1And1x3(C, stride, affine), colour="#8c564b"
)
register_op(
    "max_pool_3x3",
    lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    colour="#d62728",
    parameter_free=True,
)
register_op(
    "max_pool_5x5",
    lambda C, stride, affine: nn.MaxPool2d(5, stride=stride, padding=2),
    colour="#ff9896",
    parameter_free=True,
)
register_op(
    "max_pool_7x7",
    lambda C, stride, affine: nn.MaxPool2d(7, stride=stride, padding=3),
    colour="#67000d",
    parameter_free=True,
)
register_op(
    "avg_pool_3x3",
    lambda C, stride, affine: AvgPool3x3(stride),
    colour="#ffd92f",
    parameter_free=True,
)  # fmt: skip


def is_parameter_free(name: str) -> bool:
    """True for ops registered ``parameter_free`` (the pools): the search supernet normalises
    their output with an extra BatchNorm."""
    return op_spec(name).parameter_free
