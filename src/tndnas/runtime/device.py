"""The compute device of a run, its peak memory and the memory still available to it."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import ConfigError


def resolve_device(name: str) -> torch.device:
    """The device ``name`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``, ...) names, once
    this build of torch on this machine is known to run a tensor on it; one sentence
    (:class:`ConfigError`) naming what can be used otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"device '{name}' is not a device name; use auto, cpu, cuda or cuda:N (or another "
            "device type this build of torch supports, such as mps)."
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device '{name}' was asked for but CUDA is not available here; use --device cpu or auto."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ConfigError(
                f"device '{name}' does not exist: this machine has {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}."
            )
    if dev.type not in ("cpu", "cuda"):  # mps, xpu, ...: does this build run a tensor there?
        try:
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError) as err:
            why = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
            raise ConfigError(
                f"device '{name}' cannot be used by this build of torch here ({why}); use "
                "--device cpu or auto."
            ) from None
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


MEMORY_SHARE_ENV = "TNDNAS_MEMORY_SHARE"


@dataclass(frozen=True)
class MemoryShare:
    """This process shares its device's memory with other jobs of one sweep.

    ``processes``: how many of the sweep's jobs run at once on this device (this one included);
    ``pool_bytes``: the memory the sweep found available when it started, to be divided among
    them (None: the device's total memory, as on a GPU the sweep has to itself); ``devices``:
    how many devices (GPUs) the sweep spreads its jobs over.  ``tndnas sweep`` sets it for every
    job it launches, as ``TNDNAS_MEMORY_SHARE=PROCESSES[:[POOL_BYTES][:DEVICES]]``.
    """

    processes: int
    pool_bytes: int | None = None
    devices: int = 1

    def encode(self) -> str:
        pool = "" if self.pool_bytes is None else str(self.pool_bytes)
        return f"{self.processes}:{pool}:{self.devices}"

    def bytes_each(self, device: torch.device) -> int | None:
        """One job's share of the pool, in bytes; None when the pool cannot be told."""
        pool = self.pool_bytes
        if pool is None and device.type == "cuda":
            pool = torch.cuda.mem_get_info(device)[1]
        return None if pool is None else pool // self.processes


def memory_share() -> MemoryShare | None:
    """The :class:`MemoryShare` a sweep gave this process, or None when it runs on its own."""
    text = os.environ.get(MEMORY_SHARE_ENV, "").strip()
    if not text:
        return None
    jobs, pool, devices, *rest = [*text.split(":"), "", ""]
    if (
        not jobs.isdigit()
        or int(jobs) < 1
        or (pool and not pool.isdigit())
        or (devices and (not devices.isdigit() or int(devices) < 1))
        or any(rest)
    ):
        raise ConfigError(
            f"{MEMORY_SHARE_ENV}={text!r} is malformed; it is PROCESSES[:[POOL_BYTES][:DEVICES]] "
            "(set by tndnas sweep for its jobs), so unset it."
        )
    return MemoryShare(int(jobs), int(pool) if pool else None, int(devices) if devices else 1)
