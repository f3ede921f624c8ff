"""The ``imagefolder`` reader: ``train/<class>/*`` and ``test/<class>/*`` image files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from tndnas.data.datasets import DatasetError, ImageDataset, register_dataset

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def _scan(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Sorted class folders of ``root`` and ``(file, label)`` for every image below them."""
    if not root.is_dir():
        raise DatasetError(
            f"image folder {root} does not exist: an imagefolder dataset needs "
            "DIR/train/<class>/*.png and DIR/test/<class>/*.png."
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(
            f"{root} has no class folders: put each class's images in {root}/<class>/."
        )
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        images = sorted(
            p
            for p in (root / name).iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not images:
            raise DatasetError(
                f"class folder {root / name} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}): "
                "add some or remove the folder."
            )
        files += [(p, label) for p in images]
    return classes, files


def _probe(path: Path) -> tuple[str, tuple[int, int]]:
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.mode, img.size
    except Exception as e:
        raise DatasetError(f"cannot read image {path} ({e}): replace or remove it.") from e


def _decode(files: list[tuple[Path, int]], mode: str, size: tuple[int, int]) -> torch.Tensor:
    from PIL import Image

    w, h = size
    channels = 1 if mode == "L" else 3
    out = np.empty((len(files), h, w, channels), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as img:
                arr = np.asarray(img.convert(mode), dtype=np.uint8)
        except Exception as e:
            raise DatasetError(f"cannot read image {path} ({e}): replace or remove it.") from e
        out[i] = arr.reshape(h, w, channels)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _imagefolder_layout(
    data_dir: Path | None,
) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, int]], str, tuple[int, int]]:
    """Classes, train and test (file, label) lists, colour mode and size, from headers only."""
    if data_dir is None:
        raise DatasetError(
            "imagefolder needs its files: pass --data-dir DIR (data_dir=...) pointing at a "
            "folder with train/<class>/ and test/<class>/ subfolders of images."
        )
    train_classes, train_files = _scan(data_dir / "train")
    test_classes, test_files = _scan(data_dir / "test")
    if test_classes != train_classes:
        raise DatasetError(
            f"{data_dir}/test classes {test_classes} differ from {data_dir}/train classes "
            f"{train_classes}: give both the same class folders."
        )
    probes = [(path, *_probe(path)) for path, _ in train_files + test_files]
    first_path, _, size = probes[0]
    for path, _, other in probes:
        if other != size:
            raise DatasetError(
                f"images must all have the same size, but {first_path} is {size[0]}x{size[1]} and "
                f"{path} is {other[0]}x{other[1]}: resize them to one size."
            )
    if size[0] != size[1]:
        raise DatasetError(
            f"images must be square, but {first_path} is {size[0]}x{size[1]}: "
            "resize or crop them to a square size."
        )
    mode = "L" if all(m in _GRAY_MODES for _, m, _ in probes) else "RGB"
    return train_classes, train_files, test_files, mode, size


def imagefolder_shape(data_dir: str | os.PathLike | None) -> tuple[int, int, int]:
    """(channels, image side, classes) of an imagefolder dataset, read from the image headers
    without decoding any image (what ``tndnas info`` needs)."""
    root = Path(data_dir).expanduser() if data_dir is not None else None
    classes, _, _, mode, size = _imagefolder_layout(root)
    return (1 if mode == "L" else 3), size[0], len(classes)


def read_imagefolder(data_dir: Path | None, download: bool = False) -> ImageDataset:
    """Images under ``data_dir/train/<class>/`` and ``data_dir/test/<class>/``, read with Pillow.

    Classes are the sorted folder names (the same in ``train`` and ``test``).  Images are read as
    RGB, or as single-channel L when every image is grayscale, and must all share one square size.
    """
    classes, train_files, test_files, mode, size = _imagefolder_layout(data_dir)
    return ImageDataset.from_tensors(
        "imagefolder",
        _decode(train_files, mode, size),
        torch.tensor([label for _, label in train_files], dtype=torch.int64),
        _decode(test_files, mode, size),
        torch.tensor([label for _, label in test_files], dtype=torch.int64),
        classes,
    )


register_dataset("imagefolder", read_imagefolder)
