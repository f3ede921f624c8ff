"""Atomic checkpoints: written to a temporary file, then renamed over the old one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .records import first_line


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
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, RuntimeError) and not isinstance(err, CheckpointError):
            # torch's writer reports a full disk as an internal RuntimeError
            raise CheckpointError(
                f"cannot write {path} ({first_line(err)[:120]}); check that its disk has free space "
                "and run the command again (with --resume to continue)."
            ) from None
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


def check_resume_device(
    ckpt: dict, device: torch.device, path: str | os.PathLike, generator_state: str | None = None
) -> None:
    """Refuse to continue a checkpoint on another kind of device than the one that wrote it.

    Generator states differ between CPU and CUDA, so such a resume could not continue the run's
    random streams.  ``ckpt["device_type"]`` names the writer's device; for a checkpoint written
    before it was recorded, the size of the generator state ``ckpt[generator_state]`` tells.
    """
    saved = ckpt.get("device_type")
    if saved is None and generator_state is not None and generator_state in ckpt:
        probe = torch.Generator(device=device).get_state()
        if ckpt[generator_state].numel() != probe.numel():
            saved = "cuda" if device.type == "cpu" else "cpu"
    if saved is not None and saved != device.type:
        raise CheckpointError(
            f"{path} was written by a run on {saved} and cannot continue on {device.type} (random "
            f"number streams differ between devices); resume it on a {saved} machine, or set "
            f"'device: {saved}' in the run's config.yaml."
        )
