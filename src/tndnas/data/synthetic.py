"""Synthetic datasets for timing: random images and labels of a real dataset's shape.

``synthetic-cifar10`` and ``synthetic-cifar100`` have exactly the size of CIFAR-10/100
(50,000 training and 10,000 test images of 3x32x32, 10 or 100 classes) but hold uniform random
pixels and labels, drawn from a fixed seed.  They need no files, so a benchmark can run the real
search loop at the paper's size on any machine (a GPU host with no dataset on it, say).  There
is nothing to learn in them: accuracies stay at chance, so use them for time and memory only.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tndnas.data.datasets import ImageDataset, register_dataset

SHAPES = {  # name: (classes, train images, test images, channels, side)
    "synthetic-cifar10": (10, 50_000, 10_000, 3, 32),
    "synthetic-cifar100": (100, 50_000, 10_000, 3, 32),
}


def make_synthetic(
    name: str, classes: int, n_train: int, n_test: int, channels: int, side: int, seed: int = 0
) -> ImageDataset:
    """Uniform random uint8 images and labels, the same for the same arguments."""
    gen = torch.Generator().manual_seed(seed)

    def part(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randint(0, 256, (n, channels, side, side), dtype=torch.uint8, generator=gen)
        return x, torch.randint(0, classes, (n,), generator=gen)

    (train_x, train_y), (test_x, test_y) = part(n_train), part(n_test)
    # the exact statistics of uniform integers in [0, 255], scaled to [0, 1]
    mean, std = (127.5 / 255,) * channels, ((256**2 - 1) / 12) ** 0.5 / 255
    return ImageDataset(
        name, train_x, train_y, test_x, test_y, [f"class{i}" for i in range(classes)],
        mean, (std,) * channels,
    )  # fmt: skip


def _reader(name: str):
    def read(data_dir: Path | None = None, download: bool = False) -> ImageDataset:
        return make_synthetic(name, *SHAPES[name])

    read.__doc__ = f"{name}: random images and labels of CIFAR's size (timing only)."
    return read


for _name in SHAPES:
    register_dataset(_name, _reader(_name), augment={"crop_padding": 4, "flip": True})
