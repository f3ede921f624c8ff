"""A data set's image shape and class count, read with as little of it as possible."""

from __future__ import annotations

#: (colour channels, image size, classes) of the data sets whose shape is known without reading them
KNOWN_SHAPES = {"cifar10": (3, 32, 10), "cifar100": (3, 32, 100), "digits": (1, 8, 10)}


def dataset_shape(name: str, data_dir: str | None) -> tuple[int, int, int]:
    """(channels, image side, classes) of a dataset, reading as little of it as possible."""
    from .synthetic import SHAPES as SYNTHETIC

    if name in KNOWN_SHAPES:
        return KNOWN_SHAPES[name]
    if name in SYNTHETIC:
        classes, _, _, channels, side = SYNTHETIC[name]
        return channels, side, classes
    from .datasets import load_dataset
    from .imagefolder import imagefolder_shape

    if name.strip().lower() == "imagefolder":
        return imagefolder_shape(data_dir)  # headers only, no image decoded

    ds = load_dataset(name, data_dir)
    return ds.in_channels, ds.image_size, ds.num_classes
