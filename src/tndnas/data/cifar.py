"""The CIFAR-10 and CIFAR-100 readers: the official python archives, unpacked or not."""

from __future__ import annotations

import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tndnas.data.datasets import DatasetError, ImageDataset, register_dataset


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


#: the only globals a CIFAR batch refers to: numpy arrays and their dtypes, and the string
#: encoder with which Python 3 writes bytes at pickle protocol 2 (a re-pickled batch)
_CIFAR_GLOBALS = frozenset(
    {
        ("_codecs", "encode"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)


class _CifarUnpickler(pickle.Unpickler):
    """Reads the official format's types and nothing else: a file that names any other global
    (a function to call, as a crafted pickle does to run code) is refused before it runs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _CIFAR_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"it refers to {module}.{name}, which no CIFAR batch holds (not loaded)"
        )


def _unpickle(f: Any, source: str) -> Any:
    try:
        return _CifarUnpickler(f, encoding="bytes").load()
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
            "there, or add --set dataset.download=true when online."
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
            f"{layout.folder}/ folder (or {layout.archive}) under {data_dir}, or add "
            "--set dataset.download=true when online."
        )
    raise DatasetError(
        f"{layout.title} not found under {data_dir}: put {layout.archive} (or its extracted "
        f"{layout.folder}/ folder) there, or add --set dataset.download=true when online."
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


register_dataset("cifar10", read_cifar10, augment={"crop_padding": 4, "flip": True})
register_dataset("cifar100", read_cifar100, augment={"crop_padding": 4, "flip": True})
