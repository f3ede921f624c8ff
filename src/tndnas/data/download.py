"""Optional download of the CIFAR archives, verified by md5.

Nothing here runs unless a caller asks with ``download=True``; any failure becomes a
:class:`~tndnas.data.datasets.DatasetError` that says which file to put where by hand.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tndnas.data.datasets import DatasetError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Archive:
    """A downloadable file: its name on disk, its official address and its md5 checksum."""

    filename: str
    url: str
    md5: str


ARCHIVES: dict[str, Archive] = {
    "cifar10": Archive(
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
    ),
    "cifar100": Archive(
        "cifar-100-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
    ),
}


def fetch(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Stream ``url`` into the file ``dest`` (raises on any network or disk error)."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    """Hex md5 digest of the file at ``path``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download_archive(archive: Archive, data_dir: Path) -> Path:
    """Download ``archive`` into ``data_dir``, check its md5 and return its path.

    The file is written as ``<name>.part`` and renamed only once its checksum matches, so an
    interrupted or corrupt download never leaves a file that looks complete.
    """
    data_dir = Path(data_dir)
    dest = data_dir / archive.filename
    part = dest.with_name(dest.name + ".part")
    by_hand = f"put {archive.filename} (from {archive.url}) in {data_dir} by hand"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        log.info("downloading %s to %s", archive.url, dest)
        fetch(archive.url, part)
    except Exception as e:  # URLError, timeouts, HTTP and disk errors alike
        part.unlink(missing_ok=True)
        raise DatasetError(f"could not download {archive.url} ({e}): {by_hand}.") from e
    got = md5sum(part)
    if got != archive.md5:
        part.unlink(missing_ok=True)
        raise DatasetError(
            f"downloaded {archive.filename} has md5 {got}, expected {archive.md5}: the download "
            f"is corrupt or incomplete; try again, or {by_hand}."
        )
    part.replace(dest)
    return dest
