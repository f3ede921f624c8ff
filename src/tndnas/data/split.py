"""The search split: training images divided into a weight half and an architecture half."""

from __future__ import annotations

import torch


def search_split(n: int, seed: int, fraction: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``range(n)`` at random into weight and architecture indices.

    Parameters
    ----------
    n : int
        Number of training images (at least 2).
    seed : int
        Seed of the permutation; the same seed always gives the same split.
    fraction : float
        Share of the images in the weight half, ``floor(n * fraction)`` clamped so that both
        halves hold at least one image.

    Returns
    -------
    (weight_idx, arch_idx) : tuple of int64 CPU tensors
        Disjoint, together covering ``0 .. n-1``.
    """
    if n < 2:
        raise ValueError(f"search_split needs at least 2 images, got n={n}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"search_split fraction must lie in (0, 1), got {fraction}")
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator, dtype=torch.int64)
    n_weight = min(max(int(n * fraction), 1), n - 1)
    return order[:n_weight], order[n_weight:]
