"""The random streams a checkpoint carries besides a run's own generators: torch's global
generator (dropout, drop-path) of every process, and the CUDA one."""

from __future__ import annotations

from typing import Any

import torch

from .distributed import World, check_world_size


def random_state(world: World, device: torch.device) -> dict[str, Any]:
    """Checkpoint entries for this run's global random streams.  Every process takes part (each
    draws its own dropout masks, on its share of a batch); the entries are rank 0's to write."""
    rngs = world.gather(torch.get_rng_state(), "saving a checkpoint")
    state: dict[str, Any] = {
        "torch_rng": rngs[0],
        "device_type": device.type,
        "world_size": world.size,
    }
    if world.active:
        state["torch_rng_ranks"] = rngs
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def restore_random_state(state: dict[str, Any], world: World, device: torch.device, path) -> None:  # noqa: ANN001
    """Set this process's global random streams from a checkpoint of :func:`random_state`
    (refused in one sentence when it was written by another number of processes)."""
    check_world_size(state, world, path)
    torch.set_rng_state(state.get("torch_rng_ranks", [state["torch_rng"]])[world.rank])
    if "cuda_rng" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda_rng"], device)
