"""Atomic, checksummed checkpoints: written to a temporary file, then renamed over the old
one; a dict is saved with a digest of its contents (``"checksum"``) that loading verifies, so a
flipped bit on disk or in a copy is refused instead of continuing a different run."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic_write import atomic_file
from ..errors import TndnasError
from .records import first_line


class CheckpointError(TndnasError, RuntimeError):
    """A checkpoint that cannot be read; the message names the file and what to do."""


CHECKSUM_KEY = "checksum"


def _digest(obj: Any, h: Any) -> None:
    """Feed ``obj`` (what ``torch.load(weights_only=True)`` gives back: dicts, lists, tensors,
    numbers, strings) into the hash ``h``, in an order that does not depend on the file."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu").contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for k in sorted(obj, key=repr):
            _digest(k, h)
            _digest(obj[k], h)
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__[0]}{len(obj)}".encode())
        for v in obj:
            _digest(v, h)
    else:
        h.update(f"{type(obj).__name__}:{obj!r};".encode())


def checksum(obj: dict) -> str:
    """SHA-256 of a checkpoint's contents (every key but the checksum itself)."""
    h = hashlib.sha256()
    _digest({k: v for k, v in obj.items() if k != CHECKSUM_KEY}, h)
    return h.hexdigest()


def save_atomic(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``; a
    dict is saved with its :func:`checksum`."""
    path = Path(path)
    if isinstance(obj, dict):
        obj = {**obj, CHECKSUM_KEY: checksum(obj)}
    try:
        with atomic_file(path, "wb", fsync=True) as f:
            torch.save(obj, f)
    except RuntimeError as err:
        if not isinstance(err, CheckpointError):
            # torch's writer reports a full disk as an internal RuntimeError
            raise CheckpointError(
                f"cannot write {path} ({first_line(err)[:120]}); check that its disk has free space "
                "and run the command again (with --resume to continue)."
            ) from None
        raise


def read_verified(
    path: str | os.PathLike, map_location: str | torch.device, what: str, fix: str
) -> Any:
    """``torch.load(weights_only=True)`` of the ``what`` at ``path``, its checksum verified (a
    file saved before checksums were written has none to verify); an unreadable or damaged file
    raises :class:`CheckpointError` whose sentence ends with ``fix``."""
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise CheckpointError(
            f"{what} {path} is unreadable ({type(err).__name__}); it is corrupt or not a tndnas "
            f"{what}: {fix}"
        ) from None
    if isinstance(obj, dict) and CHECKSUM_KEY in obj and obj[CHECKSUM_KEY] != checksum(obj):
        raise CheckpointError(
            f"{what} {path} fails its checksum: its contents changed after it was written (a "
            f"damaged disk or copy), and using it would continue from wrong numbers; {fix}"
        )
    return obj


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True`` and verify the checksum; a missing, corrupt or damaged
    file raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"no checkpoint at {path}; the run never finished an epoch, start it again without --resume."
        )
    fix = (
        "restore it from a backup, or delete it and run --resume to start the run again "
        "from its config.yaml."
    )
    state = read_verified(path, map_location, "checkpoint", fix)
    if not isinstance(state, dict):
        raise CheckpointError(
            f"checkpoint {path} is not a tndnas checkpoint (no dict inside); {fix}"
        )
    return state


def require_keys(state: dict, keys: tuple[str, ...], path: str | os.PathLike, version: int) -> None:
    """Refuse, in one sentence, a checkpoint of another format version or one that lacks ``keys``."""
    saved = state.get("version")
    if isinstance(saved, int) and saved > version:
        raise CheckpointError(
            f"checkpoint {path} has format version {saved}, newer than this tndnas reads "
            f"({version}); resume it with the tndnas version that wrote it (run.json names it)."
        )
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(repr(k) for k in missing)}; it is damaged or "
            "not a checkpoint of this kind of run: restore it from a backup, or delete it and "
            "run --resume to start the run again from its config.yaml."
        )


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
