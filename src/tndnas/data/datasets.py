"""Image datasets held as uint8 tensors, their readers, and the registry that names them.

A reader is a function ``(data_dir: Path | None, download: bool) -> ImageDataset``; the built-in
ones are ``digits`` (scikit-learn's bundled 8x8 digits, needs no files), ``cifar10``,
``cifar100`` (the official python archives) and ``imagefolder`` (``train/<class>/*`` and
``test/<class>/*``).  Add one with :func:`register_dataset` and load any with
:func:`load_dataset`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tndnas.naming import unknown_name

Reader = Callable[[Path | None, bool], "ImageDataset"]

_READERS: dict[str, Reader] = {}


class DatasetError(RuntimeError):
    """A dataset that cannot be found or read; the message names the problem and the fix."""


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


def register_dataset(name: str, reader: Reader, *, overwrite: bool = False) -> None:
    """Register ``reader(data_dir, download) -> ImageDataset`` under ``name`` (case-insensitive)."""
    key = _key(name)
    if key in _READERS and not overwrite:
        raise ValueError(
            f"dataset '{key}' is already registered; pass overwrite=True to replace it"
        )
    _READERS[key] = reader


def dataset_names() -> list[str]:
    """All registered dataset names."""
    return sorted(_READERS)


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
    if key not in _READERS:
        raise DatasetError(
            unknown_name(
                "dataset", name, _READERS, "register a new one with tndnas.data.register_dataset"
            )
        )
    root = Path(data_dir).expanduser() if data_dir is not None else None
    return _READERS[key](root, download)


# --------------------------------------------------------------------------- digits


def read_digits(data_dir: Path | None = None, download: bool = False) -> ImageDataset:
    """scikit-learn's bundled 8x8 digits: 1437 train / 360 test images, fixed split (seed 0)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)  # (1797, 8, 8), values 0..16
    x = np.rint(images * 255.0 / 16.0).clip(0, 255).astype(np.uint8)[:, None]
    y = np.asarray(bunch.target, dtype=np.int64)
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


# --------------------------------------------------------------------------- CIFAR


@dataclass(frozen=True)
class _CifarLayout:
    title: str  # "CIFAR-10"
    key: str  # key into download.ARCHIVES
    folder: str  # extracted folder name
    archive: str  # archive file name
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    label_key: str
    names_key: str

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.train, *self.test, self.meta)


CIFAR10 = _CifarLayout(
    "CIFAR-10",
    "cifar10",
    "cifar-10-batches-py",
    "cifar-10-python.tar.gz",
    tuple(f"data_batch_{i}" for i in range(1, 6)),
    ("test_batch",),
    "batches.meta",
    "labels",
    "label_names",
)
CIFAR100 = _CifarLayout(
    "CIFAR-100",
    "cifar100",
    "cifar-100-python",
    "cifar-100-python.tar.gz",
    ("train",),
    ("test",),
    "meta",
    "fine_labels",
    "fine_label_names",
)


def _field(obj: Any, key: str, source: str) -> Any:
    """``obj[b'key']`` or ``obj['key']`` (pickles from Python 2 and 3 differ)."""
    if isinstance(obj, dict):
        for k in (key.encode(), key):
            if k in obj:
                return obj[k]
    raise DatasetError(f"{source} has no '{key}' entry: the file is corrupt; replace it.")


def _unpickle(f: Any, source: str) -> Any:
    try:
        return pickle.load(f, encoding="bytes")
    except Exception as e:  # any unpickling failure means a bad file
        raise DatasetError(f"cannot read {source} ({e}): the file is corrupt; replace it.") from e


def _batch(obj: Any, label_key: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(_field(obj, "data", source), dtype=np.uint8)
    labels = np.asarray(_field(obj, label_key, source), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DatasetError(
            f"{source} holds data of shape {data.shape} with {len(labels)} labels, not "
            "(N, 3072) with N labels: the file is corrupt; replace it."
        )
    return data.reshape(-1, 3, 32, 32), labels


def _names(obj: Any, key: str, source: str) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in _field(obj, key, source)]


def _read_cifar_objects(layout: _CifarLayout, folder: Path | None, archive: Path | None) -> dict:
    """Unpickle every file of ``layout`` from an extracted folder or straight from the archive."""
    objects: dict[str, Any] = {}
    if folder is not None:
        for name in layout.files:
            path = folder / name
            try:
                with open(path, "rb") as f:
                    objects[name] = _unpickle(f, str(path))
            except OSError as e:
                raise DatasetError(f"cannot read {path} ({e}): replace the file.") from e
        return objects
    assert archive is not None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:  # one pass: seeking backwards in a gzip stream re-reads it
                base = os.path.basename(member.name)
                if member.isfile() and base in layout.files and base not in objects:
                    f = tar.extractfile(member)
                    objects[base] = _unpickle(f, f"{archive}:{member.name}")
    except DatasetError:
        raise
    except Exception as e:  # tarfile, gzip and zlib errors all mean a bad archive
        raise DatasetError(
            f"cannot read {archive} ({e}): the archive is corrupt; delete it and put a good copy "
            "there, or pass --download when online."
        ) from e
    missing = [n for n in layout.files if n not in objects]
    if missing:
        raise DatasetError(
            f"{archive} lacks {', '.join(missing)}: it is not the {layout.title} python archive; "
            f"replace it with {layout.archive}."
        )
    return objects


def _locate_cifar(
    layout: _CifarLayout, data_dir: Path | None, download: bool
) -> tuple[Path | None, Path | None]:
    """Return ``(folder, None)`` or ``(None, archive)``, downloading the archive if asked."""
    if data_dir is None:
        raise DatasetError(
            f"{layout.title} needs its files: pass --data-dir DIR (data_dir=...) pointing at "
            f"a folder holding {layout.archive} or its extracted {layout.folder}/ folder."
        )
    for folder in (data_dir / layout.folder, data_dir):
        if all((folder / n).is_file() for n in layout.files):
            return folder, None
    archive = data_dir / layout.archive
    if archive.is_file():
        return None, archive
    if download:
        from tndnas.data import download as downloader

        return None, downloader.download_archive(downloader.ARCHIVES[layout.key], data_dir)
    partial = data_dir / layout.folder
    if partial.is_dir():
        missing = [n for n in layout.files if not (partial / n).is_file()]
        raise DatasetError(
            f"{layout.title} folder {partial} lacks {', '.join(missing)}: put the complete "
            f"{layout.folder}/ folder (or {layout.archive}) under {data_dir}, or pass --download "
            "when online."
        )
    raise DatasetError(
        f"{layout.title} not found under {data_dir}: put {layout.archive} (or its extracted "
        f"{layout.folder}/ folder) there, or pass --download when online."
    )


def _read_cifar(layout: _CifarLayout, data_dir: Path | None, download: bool) -> ImageDataset:
    folder, archive = _locate_cifar(layout, data_dir, download)
    objects = _read_cifar_objects(layout, folder, archive)
    where = str(folder or archive)

    def part(names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        batches = [_batch(objects[n], layout.label_key, f"{where}/{n}") for n in names]
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)

    train_x, train_y = part(layout.train)
    test_x, test_y = part(layout.test)
    classes = _names(objects[layout.meta], layout.names_key, f"{where}/{layout.meta}")
    return ImageDataset.from_tensors(layout.key, train_x, train_y, test_x, test_y, classes)


def read_cifar10(data_dir: Path | None, download: bool = False) -> ImageDataset:
    """CIFAR-10 from ``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz`` in ``data_dir``.

    The archive is read in place, without extracting it.  Its files are pickles, which can run
    code when loaded: only read copies from the official address (``download=True`` checks md5).
    """
    return _read_cifar(CIFAR10, data_dir, download)


def read_cifar100(data_dir: Path | None, download: bool = False) -> ImageDataset:
    """CIFAR-100 (fine labels) from ``cifar-100-python/`` or ``cifar-100-python.tar.gz``."""
    return _read_cifar(CIFAR100, data_dir, download)


# --------------------------------------------------------------------------- image folders

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


register_dataset("digits", read_digits)
register_dataset("cifar10", read_cifar10)
register_dataset("cifar100", read_cifar100)
register_dataset("imagefolder", read_imagefolder)
