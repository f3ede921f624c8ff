"""Several processes, one run: ``torch.distributed`` as ``torchrun`` starts it.

``torchrun --nproc_per_node N -m tndnas search|train ...`` starts N processes (ranks) with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in their
environment; :func:`join_world` reads them and joins the process group (NCCL on GPUs, gloo on
the CPU), each rank on its own GPU (``cuda:LOCAL_RANK``).  Without those variables a run is one
process and nothing here does anything.

Every collective a run makes goes through :class:`World`, so a rank that dies or hangs ends the
others with one sentence (:class:`DistributedError`) after at most ``timeout_s`` seconds,
instead of leaving them waiting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

import torch
from torch import nn

from ..config import ConfigError
from .records import first_line

__all__ = [
    "DistributedError",
    "PeerLostError",
    "World",
    "check_world_size",
    "is_main_process",
    "join_world",
    "leave_now",
]

#: exceptions of torch.distributed and its backends when a peer is gone or late
_PEER_WORDS = (
    "gloo",
    "nccl",
    "connection",
    "timed out",
    "timeout",
    "socket",
    "peer",
    "broken pipe",
)


class DistributedError(ConfigError):
    """A multi-process run whose processes disagree, or one of which stopped."""


class PeerLostError(DistributedError):
    """Another process of the run is gone (killed, out of memory, its node lost) or silent
    for longer than the timeout.  The process group is broken: the process that got this should
    leave with :func:`leave_now`, not through the interpreter's normal exit, whose clean-up of
    the broken group can abort (a C++ ``terminate``) or hang."""


def leave_now(code: int) -> NoReturn:
    """End this process at once with ``code`` after flushing its output: what a process whose
    peers are lost does instead of the interpreter's exit (see :class:`PeerLostError`)."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


@dataclass
class World:
    """This process's place among the run's processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None
    timeout_s: float = 300.0
    #: the command that continues the run (set once its folder exists), named when a peer is lost
    resume_command: str | None = None

    @property
    def main(self) -> bool:
        """Whether this process writes the run's files (rank 0)."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def describe(self) -> dict[str, Any]:
        """What a run records of its processes (``run.json``)."""
        return {"world_size": self.size, "backend": self.backend}

    def close(self) -> None:
        """Leave the process group at the end of the run: every process first waits for the
        others (none tears the group down while a peer still talks to it), then the group is
        destroyed.  Drop the run's DistributedDataParallel wrappers before calling this."""
        if self.active and torch.distributed.is_initialized():
            self.barrier("the end of the run")
            torch.distributed.destroy_process_group()

    # ------------------------------------------------------------------ collectives
    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Turn a lost or late peer during ``what`` into one :class:`PeerLostError`."""
        try:
            yield
        except DistributedError:
            raise
        except (RuntimeError, OSError) as err:
            text = re.sub(r"^\[[^\]]*\]\s*", "", first_line(err)).split(". ")[
                0
            ]  # gloo's source path off
            if not self.active or not any(w in text.lower() for w in _PEER_WORDS):
                raise
            raise PeerLostError(self.lost_message(what, text)) from None

    def lost_message(self, what: str, detail: str) -> str:
        """The one sentence of a process whose peers are gone: which, during what, what next."""
        others = [r for r in range(self.size) if r != self.rank]
        who = f"rank {others[0]}" if len(others) == 1 else f"one of ranks {others[0]}-{others[-1]}"
        how = (
            f"`torchrun --nproc_per_node {self.size} -m {self.resume_command}`"
            if self.resume_command
            else "the same torchrun command and --resume RUN_DIR"
        )
        return (
            f"rank {self.rank} of {self.size} lost {who} during {what} ({detail[:120]}); the run "
            f"stops at its last checkpoint: fix the cause and continue it with {how}."
        )

    def _device(self, t: torch.Tensor) -> torch.Tensor:
        return t.cuda() if self.backend == "nccl" else t.cpu()

    def sum(self, values: Sequence[float], what: str) -> list[float]:
        """Each of ``values`` summed over the ranks."""
        if not self.active:
            return [float(v) for v in values]
        t = self._device(torch.tensor([float(v) for v in values], dtype=torch.float64))
        with self.guard(what):
            torch.distributed.all_reduce(t)
        return t.cpu().tolist()

    def broadcast(self, obj: Any, what: str) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj if self.main else None]
        with self.guard(what):
            torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any, what: str) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.size
        with self.guard(what):
            torch.distributed.all_gather_object(out, obj)
        return out

    def run_on_main(self, fn: Callable[[], Any], what: str) -> None:
        """``fn()`` on rank 0 only (creating files); the error it stops with, if any, stops
        every rank."""
        error = None
        if self.main:
            try:
                fn()
            except Exception as err:  # handed to the other ranks, then raised here
                error = err
        failed = self.broadcast(None if error is None else str(error), what)
        if error is not None:
            raise error
        if failed is not None:
            raise DistributedError(f"rank 0 stopped while {what}: {failed}")

    def barrier(self, what: str) -> None:
        if self.active:
            with self.guard(what):
                torch.distributed.barrier()

    def split_scores(
        self, items: Sequence[Any], score: Callable[[Sequence[Any]], torch.Tensor], what: str
    ) -> torch.Tensor:
        """``score(items)`` with the items shared out among the ranks (rank r scores items r,
        r + size, ...), gathered back in order on every rank (a float tensor on the CPU)."""
        if not self.active:
            return score(items).float().cpu()
        mine = list(range(self.rank, len(items), self.size))
        chunk = -(-len(items) // self.size)
        local = torch.full((chunk,), float("nan"), dtype=torch.float32)
        if mine:
            local[: len(mine)] = score([items[i] for i in mine]).float().cpu()
        parts = [self._device(torch.empty(chunk)) for _ in range(self.size)]
        with self.guard(what):
            torch.distributed.all_gather(parts, self._device(local))
        out = torch.empty(len(items))
        for r, part in enumerate(parts):
            idx = list(range(r, len(items), self.size))
            out[idx] = part.cpu()[: len(idx)]
        return out

    def check_same(self, tensors: Mapping[str, torch.Tensor], what: str) -> None:
        """Stop with one sentence when ``tensors`` differ between rank 0 and any other rank."""
        if not self.active:
            return
        flat = torch.cat([t.detach().double().flatten().cpu() for _, t in sorted(tensors.items())])
        parts = [self._device(torch.empty_like(flat)) for _ in range(self.size)]
        with self.guard(what):
            torch.distributed.all_gather(parts, self._device(flat))
        for r, part in enumerate(parts[1:], start=1):
            diff = (part.cpu() - parts[0].cpu()).abs().max().item()
            if diff != 0:
                raise DistributedError(
                    f"{what}: rank {r} differs from rank 0 (largest difference {diff:.3g}); the "
                    "processes have gone out of step: report it with the run's run.json."
                )

    # ------------------------------------------------------------------ weights and data
    def wrap(self, module: nn.Module, *, some_unused: bool) -> nn.Module:
        """``module`` in DistributedDataParallel (gradients averaged over the ranks in backward);
        ``some_unused``: a step may leave parameters without gradient (a sampled path)."""
        if not self.active:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if self.backend == "nccl" else None
        return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=some_unused)

    def shard(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """This rank's share of a batch: rows rank, rank + size, ... (equal shares when the
        batch size is a multiple of the ranks)."""
        if not self.active:
            return tensors
        return tuple(t[self.rank :: self.size] for t in tensors)

    def check_batch(self, batch_size: int, key: str) -> None:
        """Refuse a global batch that does not split evenly over the ranks."""
        if self.active and batch_size % self.size:
            raise ConfigError(
                f"{key}={batch_size} does not split evenly over {self.size} processes; use a "
                f"multiple of {self.size} (each process takes {key} / {self.size} images)."
            )


def is_main_process() -> bool:
    """Whether this process is rank 0 of its torchrun group (or runs alone): the one that
    prints a command's closing lines."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def join_world(device: torch.device, timeout_s: float = 300.0) -> tuple[World, torch.device]:
    """The run's :class:`World` and this process's device: under torchrun (``WORLD_SIZE`` > 1)
    the process group is joined and a CUDA run takes ``cuda:LOCAL_RANK``."""
    size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if size <= 1:
        return World(timeout_s=timeout_s), device
    if not timeout_s > 0:
        raise ConfigError(
            f"--dist-timeout={timeout_s} is invalid; use a positive number of seconds."
        )
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise ConfigError(
            f"several processes on device '{device}' are not supported; use cuda (NCCL) or cpu (gloo)."
        )
    world = World(rank, size, local, backend, timeout_s)
    if not torch.distributed.is_initialized():
        with world.guard("start-up"):
            torch.distributed.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return world, device


def check_world_size(state: Mapping[str, Any], world: World, path: Any) -> None:
    """Refuse to resume a checkpoint written by another number of processes (the weight
    batches are shared out by that number, so the run would not continue the same way)."""
    saved = int(state.get("world_size", 1))
    if saved != world.size:
        how = (
            f"torchrun --nproc_per_node {saved} -m tndnas"
            if saved > 1
            else "plain tndnas, without torchrun"
        )
        raise DistributedError(
            f"{path} was written by a run of {saved} process(es) and this one has {world.size}; "
            f"resume it with the same number ({how})."
        )
