"""What search and training runs share: device choice, memory figures, atomic checkpoints and
records.  Imports nothing of tndnas but ``config``; ``search`` and ``train`` build on it."""

from .checkpoint import CheckpointError, check_resume_device, load_checkpoint, save_atomic
from .device import (
    MEMORY_SHARE_ENV,
    MemoryShare,
    available_memory_bytes,
    memory_share,
    peak_memory_mb,
    resolve_device,
)
from .records import RunDirError, environment, write_json_atomic

__all__ = [
    "CheckpointError",
    "MEMORY_SHARE_ENV",
    "MemoryShare",
    "memory_share",
    "available_memory_bytes",
    "RunDirError",
    "check_resume_device",
    "environment",
    "load_checkpoint",
    "peak_memory_mb",
    "resolve_device",
    "save_atomic",
    "write_json_atomic",
]
