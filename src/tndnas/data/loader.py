"""Mini-batches drawn from uint8 images that already live on the compute device."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from tndnas.data.augment import AugmentConfig, prepare_batch


class BatchIterator:
    """Shuffled mini-batches over (x uint8, y) held on the compute device; one pass = one epoch.

    Each batch indexes the on-device uint8 tensor, then :func:`prepare_batch` normalises and
    augments it, so no data crosses the host-device boundary after the dataset is moved.

    Parameters
    ----------
    x, y : torch.Tensor
        uint8 images ``(N, C, H, W)`` and int64 labels ``(N,)``; ``y`` is moved to ``x.device``.
    batch_size : int
        Images per batch.
    mean, std : sequence of float or tensor
        Per-channel normalisation statistics in ``[0, 1]`` units.
    augment : AugmentConfig or None
        Augmentation of every batch; None for none (evaluation).
    generator : torch.Generator
        Source of the shuffle order and of the augmentation randomness; best on ``x.device``.
    shuffle : bool
        Draw a fresh random order each epoch; otherwise keep the order of ``indices``.
    drop_last : bool
        Drop the last, incomplete batch.  A subset smaller than ``batch_size`` still yields one
        batch holding all of it rather than nothing (tiny test configurations rely on this).
    indices : torch.Tensor or None
        Restrict to these rows of ``x`` (e.g. one half of :func:`search_split`).
    memory_format : torch.memory_format
        Layout of the yielded images (``torch.channels_last`` for a channels-last network).
    dtype : torch.dtype
        Floating type of the yielded images.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        *,
        mean: Sequence[float] | torch.Tensor,
        std: Sequence[float] | torch.Tensor,
        augment: AugmentConfig | None,
        generator: torch.Generator,
        shuffle: bool = True,
        drop_last: bool = True,
        indices: torch.Tensor | None = None,
        dtype: torch.dtype = torch.float32,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        if x.dtype != torch.uint8 or x.dim() != 4:
            raise TypeError(
                f"x must be a uint8 (N, C, H, W) tensor, got {x.dtype} {tuple(x.shape)}"
            )
        if y.dim() != 1 or len(y) != len(x):
            raise ValueError(f"y must hold one label per image ({len(x)}), got {tuple(y.shape)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        device = x.device
        self.x = x
        self.y = y.to(device=device, dtype=torch.int64)
        if indices is None:
            indices = torch.arange(len(x), device=device)
        self.indices = torch.as_tensor(indices, dtype=torch.int64).to(device).reshape(-1)
        if len(self.indices) == 0:
            raise ValueError("BatchIterator needs at least one image, got an empty index set")
        self.batch_size = int(batch_size)
        # Statistics are moved to the device once, not per batch.
        self.mean = torch.as_tensor(mean, dtype=torch.float32).to(device)
        self.std = torch.as_tensor(std, dtype=torch.float32).to(device)
        self.augment = augment
        self.generator = generator
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.dtype = dtype
        self.memory_format = memory_format

    def __len__(self) -> int:
        """Batches per epoch."""
        n = len(self.indices)
        if self.drop_last:
            return max(n // self.batch_size, 1)
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.indices
        n = len(order)
        if self.shuffle:
            perm = torch.randperm(n, generator=self.generator, device=self.generator.device)
            order = order[perm.to(order.device)]
        size = min(self.batch_size, n)  # a subset smaller than one batch is one whole batch
        for b in range(len(self)):
            rows = order[b * size : (b + 1) * size]
            xb = prepare_batch(
                self.x[rows], self.mean, self.std, self.augment, self.generator, self.dtype
            )
            if self.memory_format is not torch.contiguous_format:
                xb = xb.contiguous(memory_format=self.memory_format)
            yield xb, self.y[rows]
