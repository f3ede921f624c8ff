"""Datasets as on-device uint8 tensors, the search split, batched augmentation and batching."""

from __future__ import annotations

from tndnas.data import cifar, imagefolder  # noqa: F401 - their readers register themselves
from tndnas.data.augment import AugmentConfig, augment, normalize, prepare_batch
from tndnas.data.datasets import (
    DatasetError,
    ImageDataset,
    channel_stats,
    dataset_augmentation,
    dataset_names,
    load_dataset,
    register_dataset,
)
from tndnas.data.loader import BatchIterator
from tndnas.data.split import search_split
from tndnas.data.synthetic import make_synthetic

__all__ = [
    "AugmentConfig",
    "BatchIterator",
    "DatasetError",
    "ImageDataset",
    "augment",
    "channel_stats",
    "dataset_augmentation",
    "dataset_names",
    "load_dataset",
    "make_synthetic",
    "normalize",
    "prepare_batch",
    "register_dataset",
    "search_split",
]
