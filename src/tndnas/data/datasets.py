"""Image datasets held as uint8 tensors, their readers, and the registry that names them.

A reader is a function ``(data_dir: Path | None, download: bool) -> ImageDataset``; the built-in
ones are ``digits`` (here: scikit-learn's bundled 8x8 digits, needs no files), ``cifar10``,
``cifar100`` (:mod:`tndnas.data.cifar`) and ``imagefolder`` (:mod:`tndnas.data.imagefolder`).
Add one with :func:`register_dataset` (each reader module registers its own) and load any with
:func:`load_dataset`.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import TndnasError
from ..registry import Registry

Reader = Callable[[Path | None, bool], "ImageDataset"]


class DatasetError(TndnasError, RuntimeError):
    """A dataset that cannot be found or read; the message names the problem and the fix."""


_READERS: Registry[Reader] = Registry(
    "dataset", "register a new one with tndnas.data.register_dataset", error=DatasetError
)


# --------------------------------------------------------------------------- the dataset


@dataclass(eq=False, repr=False)
class ImageDataset:
    """A train/test image classification dataset held as tensors.

    Attributes
    ----------
    name : str
        Registry name of the dataset.
    train_x, test_x : torch.Tensor
        ``uint8`` images, shape ``(N, C, H, W)``.
    train_y, test_y : torch.Tensor
        ``int64`` labels in ``[0, num_classes)``, shape ``(N,)``.
    classes : list[str]
        Class names, indexed by label.
    mean, std : tuple[float, ...]
        Per-channel mean and (population) standard deviation of ``train_x`` in ``[0, 1]`` units.
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        self.classes = [str(c) for c in self.classes]
        self.mean = tuple(float(m) for m in self.mean)
        self.std = tuple(float(s) for s in self.std)
        for part in ("train", "test"):
            x, y = getattr(self, f"{part}_x"), getattr(self, f"{part}_y")
            if x.dtype != torch.uint8 or x.dim() != 4:
                raise DatasetError(
                    f"dataset '{self.name}': {part}_x must be a uint8 (N, C, H, W) tensor, "
                    f"got {x.dtype} of shape {tuple(x.shape)}; fix its reader."
                )
            if y.dtype != torch.int64 or y.dim() != 1 or len(y) != len(x):
                raise DatasetError(
                    f"dataset '{self.name}': {part}_y must be an int64 vector with one label per "
                    f"image ({len(x)}), got {y.dtype} of shape {tuple(y.shape)}; fix its reader."
                )
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
                raise DatasetError(
                    f"dataset '{self.name}': {part} labels must lie in [0, {len(self.classes)}) "
                    f"for {len(self.classes)} classes; fix its reader or its class list."
                )
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            raise DatasetError(
                f"dataset '{self.name}': train images {tuple(self.train_x.shape[1:])} and test "
                f"images {tuple(self.test_x.shape[1:])} differ in shape; make them match."
            )
        if not len(self.mean) == len(self.std) == self.in_channels:
            raise DatasetError(
                f"dataset '{self.name}': mean and std need one value per channel "
                f"({self.in_channels}); build it with ImageDataset.from_tensors."
            )

    @classmethod
    def from_tensors(
        cls,
        name: str,
        train_x: torch.Tensor,
        train_y: torch.Tensor,
        test_x: torch.Tensor,
        test_y: torch.Tensor,
        classes: Iterable[str],
    ) -> ImageDataset:
        """Build a dataset, computing ``mean`` and ``std`` from ``train_x``."""
        mean, std = channel_stats(train_x)
        return cls(name, train_x, train_y, test_x, test_y, list(classes), mean, std)

    @property
    def in_channels(self) -> int:
        """Number of image channels ``C``."""
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        """Image side ``H`` (images are square)."""
        return int(self.train_x.shape[2])

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    def to(self, device: torch.device | str) -> ImageDataset:
        """A copy whose tensors live on ``device``."""
        return dataclasses.replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )

    def resized(self, size: int) -> ImageDataset:
        """A copy whose images are ``size`` pixels square, shrunk by area averaging (rounded back
        to uint8; mean and std computed again); ``size`` at most the images' own side."""
        if not 1 <= size <= self.image_size:
            raise DatasetError(
                f"cannot resize dataset '{self.name}' of {self.image_size}-pixel images to {size} "
                f"pixels; choose a size from 1 to {self.image_size}."
            )
        if size == self.image_size:
            return self

        def shrink(x: torch.Tensor) -> torch.Tensor:
            out = [
                torch.nn.functional.interpolate(part.float(), size=(size, size), mode="area")
                .round_()
                .to(torch.uint8)
                for part in x.split(4096)  # bounded memory on large datasets
            ]
            return torch.cat(out) if out else x[:, :, :size, :size]

        return ImageDataset.from_tensors(
            self.name, shrink(self.train_x), self.train_y, shrink(self.test_x), self.test_y,
            self.classes,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.train_x)}, "
            f"test={len(self.test_x)}, shape={tuple(self.train_x.shape[1:])}, "
            f"classes={self.num_classes}, device={self.train_x.device})"
        )


def channel_stats(
    x: torch.Tensor, chunk: int = 4096
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of a uint8 ``(N, C, H, W)`` tensor, in ``[0, 1]`` units.

    Accumulates in float64 over chunks of ``chunk`` images so large datasets need little memory.
    A constant channel gets std ``1e-6`` instead of 0, so normalising never divides by zero.
    """
    if x.dim() != 4 or len(x) == 0:
        raise DatasetError(
            f"cannot compute channel statistics of a tensor of shape {tuple(x.shape)}: "
            "pass a non-empty (N, C, H, W) image tensor."
        )
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    total_sq = torch.zeros(x.shape[1], dtype=torch.float64)
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk].to(torch.float64).div_(255.0)
        total += part.sum(dim=(0, 2, 3)).cpu()
        total_sq += part.square().sum(dim=(0, 2, 3)).cpu()
    count = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    var = (total_sq / count - mean.square()).clamp_min(0.0)
    std = var.sqrt().clamp_min(1e-6)
    return tuple(mean.tolist()), tuple(std.tolist())


# --------------------------------------------------------------------------- the registry


def _key(name: str) -> str:
    return name.strip().lower()


#: each data set's own augmentation, ``{"crop_padding": pixels, "flip": bool}``: what
#: ``--dataset NAME`` sets unless ``--set`` names the keys (a preset's are its own data set's)
_AUGMENTATION: dict[str, dict[str, Any]] = {}


def register_dataset(
    name: str,
    reader: Reader,
    *,
    overwrite: bool = False,
    augment: Mapping[str, Any] | None = None,
) -> None:
    """Register ``reader(data_dir, download) -> ImageDataset`` under ``name`` (case-insensitive);
    ``augment``: the data set's own ``crop_padding`` (pixels of random-crop padding) and ``flip``
    (random horizontal flips), set by ``--dataset NAME`` (none given: the config's stay)."""
    key = _key(name)
    _READERS.register(key, reader, overwrite=overwrite)
    if augment is not None:
        unknown = set(augment) - {"crop_padding", "flip"}
        if unknown:
            raise ValueError(f"augment keys {sorted(unknown)} are not crop_padding or flip")
        _AUGMENTATION[key] = dict(augment)
    else:
        _AUGMENTATION.pop(key, None)


def dataset_augmentation(name: str) -> dict[str, Any] | None:
    """The augmentation registered with data set ``name`` (None: none declared)."""
    return _AUGMENTATION.get(_key(name))


def dataset_names() -> list[str]:
    """All registered dataset names."""
    return _READERS.names()


def load_dataset(
    name: str, data_dir: str | os.PathLike | None = None, download: bool = False
) -> ImageDataset:
    """Load the dataset registered as ``name``.

    Parameters
    ----------
    name : str
        A name from :func:`dataset_names` (case-insensitive).
    data_dir : path or None
        Where the dataset's files are; ignored by datasets that need none (``digits``).
    download : bool
        Fetch missing files from the official address (CIFAR only).
    """
    key = _key(name)
    reader = _READERS.get(key)
    root = Path(data_dir).expanduser() if data_dir is not None else None
    ds = reader(root, download)
    if ds.num_classes < 2:
        where = f" in {root}" if root is not None else ""
        raise DatasetError(
            f"dataset '{name}'{where} has {ds.num_classes} class{'' if ds.num_classes == 1 else 'es'}; a classifier needs at least "
            "two (an ImageFolder has one sub-folder of images per class)."
        )
    return ds


# --------------------------------------------------------------------------- digits


def read_digits(data_dir: Path | None = None, download: bool = False) -> ImageDataset:
    """scikit-learn's bundled 8x8 digits: 1437 train / 360 test images, fixed split (seed 0)."""
    images, labels = _digits_arrays()
    x = np.rint(images * 255.0 / 16.0).clip(0, 255).astype(np.uint8)[:, None]
    y = labels.astype(np.int64)
    order = np.random.RandomState(0).permutation(len(x))
    n_test = math.ceil(0.2 * len(x))
    train, test = order[:-n_test], order[-n_test:]
    return ImageDataset.from_tensors(
        "digits",
        torch.from_numpy(x[train]),
        torch.from_numpy(y[train]),
        torch.from_numpy(x[test]),
        torch.from_numpy(y[test]),
        [str(i) for i in range(10)],
    )


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) of values 0..16, labels) as ``sklearn.datasets.load_digits`` gives
    them, read from the package's data file without importing scikit-learn (seconds per process)."""
    spec = importlib.util.find_spec("sklearn")  # locates the package, runs none of it
    roots = spec.submodule_search_locations if spec is not None else None
    csv = Path(roots[0], "datasets", "data", "digits.csv.gz") if roots else None
    if csv is None or not csv.is_file():  # another layout: ask scikit-learn itself
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return np.asarray(bunch.images, dtype=np.float64), np.asarray(bunch.target)
    with gzip.open(csv, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)


register_dataset("digits", read_digits, augment={"crop_padding": 1, "flip": False})
