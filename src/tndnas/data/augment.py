"""Batched data augmentation on the batch's own device: random crop, horizontal flip, cutout.

Every operation works on a whole ``(N, C, H, W)`` batch with tensor ops (no per-image Python
loop) and draws its random numbers from the given ``torch.Generator`` on that generator's
device, so one generator seed always gives the same output.

The training pipeline follows DARTS: random crop with 4 pixels of black (raw value 0) padding,
random horizontal flip, normalisation, then cutout, which zeroes a square in normalised space.
:func:`prepare_batch` pads with the normalised value of raw black, which is exactly what padding
the uint8 image with 0 and then normalising gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

Stats = Sequence[float] | torch.Tensor


@dataclass
class AugmentConfig:
    """Which augmentations to apply.

    Attributes
    ----------
    crop_padding : int
        Random crop back to the original size after padding every side by this many pixels
        (0 = off).
    flip : bool
        Random horizontal flip with probability 1/2.
    cutout : int
        Side of the cutout square in pixels (0 = off).  As in DARTS the centre is uniform over
        the image and the square is clipped at the borders; it is applied after normalisation,
        so the square holds zeros in normalised space.  The square spans rows
        ``cy - cutout // 2`` to ``cy - cutout // 2 + cutout - 1`` (DARTS for even sizes).
    """

    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0

    def __post_init__(self) -> None:
        if self.crop_padding < 0 or self.cutout < 0:
            raise ValueError(
                f"crop_padding and cutout must be >= 0, got {self.crop_padding} and {self.cutout}"
            )


def _channel_view(values: Stats, x: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=torch.float32, device=x.device).reshape(-1)
    if t.numel() not in (1, x.shape[1]):
        raise ValueError(f"need 1 or {x.shape[1]} per-channel values, got {t.numel()}")
    return t.view(1, -1, 1, 1)


def normalize(
    x_uint8: torch.Tensor, mean: Stats, std: Stats, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Map a uint8 ``(N, C, H, W)`` batch to ``(x / 255 - mean) / std`` in ``dtype``.

    The arithmetic runs in float32 whatever ``dtype`` is; ``mean`` and ``std`` are per channel.
    """
    if x_uint8.dtype != torch.uint8 or x_uint8.dim() != 4:
        raise TypeError(
            f"normalize expects a uint8 (N, C, H, W) batch, got {x_uint8.dtype} "
            f"of shape {tuple(x_uint8.shape)}"
        )
    x = x_uint8.to(torch.float32).div_(255.0)
    x = x.sub_(_channel_view(mean, x)).div_(_channel_view(std, x))
    return x if dtype == torch.float32 else x.to(dtype)


def _randint(
    high: int, n: int, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """``n`` integers in ``[0, high)`` drawn on the generator's device, returned on ``device``."""
    source = generator.device if generator is not None else device
    return torch.randint(0, high, (n,), generator=generator, device=source).to(device)


def _rand(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    source = generator.device if generator is not None else device
    return torch.rand(n, generator=generator, device=source).to(device)


def random_crop(
    x: torch.Tensor,
    padding: int,
    generator: torch.Generator | None,
    fill: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """Pad every side by ``padding`` pixels of ``fill`` and crop back to ``H x W`` at random.

    Each sample gets its own offset.  ``fill`` is a scalar or one value per channel.  Implemented
    with two ``gather`` calls and a mask instead of materialising the padded batch.
    """
    if padding == 0:
        return x
    n, c, h, w = x.shape
    dev = x.device
    top = _randint(2 * padding + 1, n, generator, dev) - padding  # source row of output row 0
    left = _randint(2 * padding + 1, n, generator, dev) - padding
    rows = top[:, None] + torch.arange(h, device=dev)  # (N, H)
    cols = left[:, None] + torch.arange(w, device=dev)  # (N, W)
    row_ok = (rows >= 0) & (rows < h)
    col_ok = (cols >= 0) & (cols < w)
    out = x.gather(2, rows.clamp(0, h - 1)[:, None, :, None].expand(n, c, h, w))
    out = out.gather(3, cols.clamp(0, w - 1)[:, None, None, :].expand(n, c, h, w))
    inside = row_ok[:, None, :, None] & col_ok[:, None, None, :]
    fill_t = torch.as_tensor(fill, dtype=x.dtype, device=dev)
    if fill_t.dim() == 1:
        fill_t = fill_t.view(1, -1, 1, 1)
    return torch.where(inside, out, fill_t)


def random_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Flip each sample left-right with probability 1/2."""
    flip = _rand(x.shape[0], generator, x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int, generator: torch.Generator | None) -> torch.Tensor:
    """Zero a ``length x length`` square per sample, centre uniform, clipped at the borders."""
    if length == 0:
        return x
    n, _, h, w = x.shape
    dev = x.device
    y0 = _randint(h, n, generator, dev) - length // 2
    x0 = _randint(w, n, generator, dev) - length // 2
    rows = torch.arange(h, device=dev)
    cols = torch.arange(w, device=dev)
    in_rows = (rows >= y0[:, None]) & (rows < y0[:, None] + length)  # (N, H)
    in_cols = (cols >= x0[:, None]) & (cols < x0[:, None] + length)  # (N, W)
    square = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    return x.masked_fill(square, 0.0)


def augment(
    x: torch.Tensor,
    cfg: AugmentConfig,
    generator: torch.Generator | None,
    *,
    fill: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """Random crop, flip and cutout of a float normalised batch, as ``cfg`` enables them.

    ``fill`` is the crop padding value (scalar or per channel); the default 0 pads with the mean
    colour.  :func:`prepare_batch` passes the normalised value of black instead.
    """
    x = random_crop(x, cfg.crop_padding, generator, fill)
    if cfg.flip:
        x = random_flip(x, generator)
    return cutout(x, cfg.cutout, generator)


def prepare_batch(
    x_uint8: torch.Tensor,
    mean: Stats,
    std: Stats,
    cfg: AugmentConfig | None,
    generator: torch.Generator | None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Normalise a uint8 batch, then augment it (``cfg=None``: no augmentation).

    Crop padding is raw black: the padded pixels equal ``normalize`` of a uint8 0, exactly as if
    the uint8 image had been padded with zeros before normalising (the DARTS pipeline).
    """
    x = normalize(x_uint8, mean, std, dtype)
    if cfg is None:
        return x
    black = normalize(x_uint8.new_zeros(1, x_uint8.shape[1], 1, 1), mean, std, dtype).view(-1)
    return augment(x, cfg, generator, fill=black)
