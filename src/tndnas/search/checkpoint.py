"""Atomic checkpoints: written to a temporary file, then renamed over the old one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read; the message names the file and what to do."""


def save_atomic(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True``; a missing or corrupt file raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"no checkpoint at {path}; the run never finished an epoch, start it again without --resume."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise CheckpointError(
            f"checkpoint {path} is unreadable ({type(err).__name__}); it is corrupt or not a tndnas checkpoint: "
            "restore it from a backup or start the run again."
        ) from None
