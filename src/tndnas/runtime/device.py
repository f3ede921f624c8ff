"""The compute device of a run, its peak memory and the memory still available to it."""

from __future__ import annotations

import resource
from pathlib import Path

import torch

from ..config import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device '{name}' was asked for but CUDA is not available here; use --device cpu or auto."
        )
    return dev


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def _stat(path: str, key: str) -> int:
    """A counter of a cgroup ``memory.stat`` file (0 when absent)."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def available_memory_bytes(device: torch.device) -> int | None:
    """Memory this process can still take on ``device``, in bytes; None when it cannot be told.

    CUDA: free device memory plus what PyTorch's allocator holds but does not use.  CPU: the
    kernel's MemAvailable, lowered to the cgroup limit left (containers) when there is one,
    reclaimable page cache counted as available.
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type != "cpu":
        return None
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    for folder, limit_file, usage_file, stat_key in (
        ("/sys/fs/cgroup", "memory.max", "memory.current", "inactive_file"),  # cgroup v2
        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
    ):  # fmt: skip
        limit, usage = _read_int(f"{folder}/{limit_file}"), _read_int(f"{folder}/{usage_file}")
        if limit is not None and usage is not None and limit < 2**60:
            # the usage counts page cache the kernel can reclaim (e.g. dataset files just read)
            reclaimable = _stat(f"{folder}/memory.stat", stat_key)
            left = max(limit - usage + reclaimable, 0)
            available = left if available is None else min(available, left)
            break
    return available
