"""Faster CPU kernels for two layers the small supernets of a CPU search spend their time in.

A CPU search trains supernets of 8-16 channels in channels-last memory format, where two of
torch's kernels are slow for so few channels (``benchmarks/op_kernels.py`` measures them):

* :class:`AvgPool3x3` -- average pooling as a depthwise convolution of ones;
* :class:`BatchNorm2d` -- batch statistics as two matrix-vector products.

Both are drop-in subclasses of the torch layers (same parameters, buffers and ``state_dict``
keys, ``isinstance`` still true), compute the same numbers to float rounding, and run torch's
own kernel everywhere else: on a GPU, on tensors of fewer than
:data:`MIN_VALUES_PER_CHANNEL` values per channel, under autocast, while tracing or compiling
(ONNX, TorchScript, ``torch.compile``) and inside :func:`reference_kernels` (FLOP counting:
pooling counts as pooling).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

_REFERENCE = threading.local()

#: below this many channels :class:`BatchNorm2d` computes its own batch statistics on the CPU
#: (measured: at 8 channels 2-3x faster than torch's channels-last kernel, at 16 slower)
FEW_CHANNELS = 16
#: below this many values per channel (batch x height x width) both layers run torch's kernel:
#: on small tensors a few more calls cost more than a faster kernel saves (measured: 64 images of
#: 8x8 pixels pool at 0.9x; the digits presets' tensors, all below it, keep torch's numbers)
MIN_VALUES_PER_CHANNEL = 16384
#: from this many channels on, channels-last inputs pool with torch's kernel (measured: ours 0.8-0.9x
#: there; below it, and in the contiguous format at every width, ours is the faster)
POOL_CHANNELS_LAST_FROM = 32


@contextmanager
def reference_kernels() -> Iterator[None]:
    """Inside this block every layer of this module runs torch's own kernel, so that a FLOP
    count sees pooling as pooling (free) and an export writes an ``AveragePool`` node; tracing
    (ONNX, TorchScript) does so without it."""
    before = getattr(_REFERENCE, "on", False)
    _REFERENCE.on = True
    try:
        yield
    finally:
        _REFERENCE.on = before


def _own_kernel(x: torch.Tensor) -> bool:
    """Whether this module's CPU kernels may run on ``x`` here: a large enough batch of float32
    images on the CPU, outside autocast, tracing, compiling and :func:`reference_kernels`."""
    return (
        x.device.type == "cpu"
        and x.dim() == 4
        and x.dtype == torch.float32
        and x.numel() >= MIN_VALUES_PER_CHANNEL * x.shape[1]
        and not torch.is_autocast_enabled("cpu")
        and not torch.jit.is_tracing()
        and not torch.compiler.is_compiling()
        and not getattr(_REFERENCE, "on", False)
    )


class AvgPool3x3(nn.AvgPool2d):
    """3x3 average pooling of the window's pixels inside the image (``count_include_pad=False``).

    On the CPU it runs as a depthwise convolution with a kernel of ones, divided by each
    window's pixel count: the same numbers as ``nn.AvgPool2d`` (to float rounding), 2-4x
    faster forward at the 8-16 channels of a CPU search's supernet and 4-8x in the contiguous
    format at any width; channels-last inputs of :data:`POOL_CHANNELS_LAST_FROM` channels or
    more pool with torch's kernel.
    """

    def __init__(self, stride: int = 1):
        super().__init__(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _own_kernel(x) or (
            x.shape[1] >= POOL_CHANNELS_LAST_FROM
            and x.is_contiguous(memory_format=torch.channels_last)
        ):
            return super().forward(x)
        ones = x.new_ones(x.shape[1], 1, 3, 3)
        total = F.conv2d(x, ones, stride=self.stride, padding=1, groups=x.shape[1])
        count = F.conv2d(x.new_ones(1, 1, *x.shape[2:]), ones[:1], stride=self.stride, padding=1)
        return total / count


def _rows(x: torch.Tensor) -> torch.Tensor:
    """A channels-last ``(N, C, H, W)`` tensor as the ``(N*H*W, C)`` matrix it is in memory."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def _channel_sums(x: torch.Tensor) -> torch.Tensor:
    """Per-channel sums of a channels-last tensor: one matrix-vector product."""
    rows = _rows(x)
    return (rows.new_ones(1, rows.shape[0]) @ rows).view(-1)


class _BatchStatisticsNorm(torch.autograd.Function):
    """Batch normalisation on the batch's statistics, for channels-last inputs: mean and
    variance from matrix-vector products over the input less one of its pixels per channel (a
    pivot near the mean: no cancellation when the mean is large against the spread), one fused
    multiply-add out; the backward pass is the closed form (per channel ``dx = k*dy + b*x + c``)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):  # noqa: ANN001, ANN205 - autograd's signature
        C = x.shape[1]
        n = x.numel() // C
        pivot = x[:1, :, :1, :1]
        xs = x - pivot  # channels-last, as x
        shifted_mean = _channel_sums(xs) / n
        var = (_channel_sums(xs * xs) / n - shifted_mean * shifted_mean).clamp_min(0)
        mean = pivot.view(C) + shifted_mean
        rstd = torch.rsqrt(var + eps)
        scale = rstd if weight is None else rstd * weight
        shift = -mean * scale if bias is None else bias - mean * scale
        ctx.save_for_backward(xs, shifted_mean, rstd, weight)
        ctx.mark_non_differentiable(mean, var)
        y = torch.addcmul(shift.view(1, C, 1, 1), x, scale.view(1, C, 1, 1))
        return y, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, _dmean, _dvar):  # noqa: ANN001, ANN205
        xs, shifted_mean, rstd, weight = ctx.saved_tensors  # x - pivot and its mean
        C = xs.shape[1]
        n = xs.numel() // C
        dy = dy.contiguous(memory_format=torch.channels_last)
        sum_dy = _channel_sums(dy)
        sum_dy_xhat = (_channel_sums(dy * xs) - shifted_mean * sum_dy) * rstd
        k = rstd if weight is None else rstd * weight
        b = -k * rstd * sum_dy_xhat / n
        c = -k * sum_dy / n - b * shifted_mean
        dx = torch.addcmul(torch.addcmul(c.view(1, C, 1, 1), xs, b.view(1, C, 1, 1)),
                           dy, k.view(1, C, 1, 1))  # fmt: skip
        dw = sum_dy_xhat if ctx.needs_input_grad[1] else None
        db = sum_dy if ctx.needs_input_grad[2] else None
        return dx, dw, db, None


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d``, with the batch statistics of a channels-last float32 input of fewer
    than :data:`FEW_CHANNELS` channels computed by this module on the CPU (torch's kernel for
    that layout is 2-3x slower at 8 channels).  Running statistics follow torch's rule
    (momentum, or a cumulative average when ``momentum`` is None; the unbiased variance);
    normalising with running statistics (eval mode) is torch's kernel, as is everything else.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        if not (
            batch_stats
            and x.shape[1] < FEW_CHANNELS
            and x.is_contiguous(memory_format=torch.channels_last)
            and _own_kernel(x)
        ):
            return super().forward(x)
        y, mean, var = _BatchStatisticsNorm.apply(x, self.weight, self.bias, self.eps)
        if (
            self.training
            and self.track_running_stats
            and self.running_mean is not None
            and self.num_batches_tracked is not None
        ):
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                if self.momentum is None:  # a cumulative moving average
                    factor = 1.0 / float(self.num_batches_tracked)
                else:
                    factor = self.momentum
                n = x.numel() // x.shape[1]
                self.running_mean.lerp_(mean, factor)
                self.running_var.lerp_(var * (n / (n - 1)), factor)
        return y
