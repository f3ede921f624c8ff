"""Is the trained network the one the search's reward measured?

A search costs its genotype on a target network (``target.channels`` x ``target.layers``) and
records that size in the genotype's metadata (``metadata.target``).  Training the genotype at
another width or depth gives another network -- often with twice the parameters the reward
optimised -- so ``tndnas train`` says so in one line and records both sizes in its summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from ..config import ConfigError
from ..macro import Macro
from ..measure.flops import count_parameters
from ..runtime import available_memory_bytes
from ..spaces import space_of
from ..spaces.base import Genotype

__all__ = ["check_fits", "compare_with_target", "searched_target", "size_note"]


def _params_on_meta(genotype: Genotype, macro: Macro) -> int | None:
    """The network's parameters (no auxiliary head), counted on the meta device: nothing is
    allocated.  None for a plug-in space whose network cannot be built there."""
    try:
        with torch.device("meta"):
            net = space_of(genotype).network(genotype, macro, auxiliary=False)
    except Exception:  # a plug-in space whose network cannot be built without memory
        return None
    return count_parameters(net)


def check_fits(genotype: Genotype, macro: Macro, device: torch.device) -> None:
    """Refuse, before allocating it, a network whose weights, gradients and momentum alone
    exceed the device's free memory."""
    params = _params_on_meta(genotype, macro)
    free = available_memory_bytes(device)
    need = 3 * 4 * (params or 0)
    if free is not None and need > free:
        raise ConfigError(
            f"the network of {macro.channels} channels x {macro.layers} cells needs "
            f"{need / 2**30:.1f} GiB for its weights, gradients and momentum alone, more "
            f"than {device} has free ({free / 2**30:.1f} GiB); lower channels or layers."
        )


def compare_with_target(
    genotype: Genotype, macro: Macro, network: torch.nn.Module, dataset: str
) -> tuple[str | None, dict[str, Any] | None]:
    """The one-line warning (None when the sizes agree) and the summary's record of the size
    the search's reward measured; (None, None) for a genotype that no search wrote."""
    target = searched_target(genotype)
    if target is None:
        return None, None

    def params_at(channels: int, layers: int) -> int:
        other = dataclasses.replace(macro, channels=channels, layers=layers)
        return _params_on_meta(genotype, other) or 0

    params = count_parameters(network, exclude_auxiliary=True)
    return size_note(target, macro.channels, macro.layers, params, dataset, params_at)


def searched_target(genotype: Genotype) -> dict[str, Any] | None:
    """The target network a search recorded in ``genotype`` (channels, layers, dataset,
    params), or None for a genotype that did not come from ``tndnas search``."""
    target = genotype.metadata.get("target")
    if not isinstance(target, dict):
        return None
    if not all(isinstance(target.get(k), int) for k in ("channels", "layers")):
        return None
    return target


def size_note(
    target: dict[str, Any],
    channels: int,
    layers: int,
    params: int,
    dataset: str,
    params_at: Callable[[int, int], int],
) -> tuple[str | None, dict[str, Any]]:
    """The warning (None when the sizes agree) and the summary's record of the searched size.

    ``params``: the trained network's parameters (no auxiliary head); ``params_at(C, L)``
    counts them at another size on the training's data set (used when the search costed its
    network on another data set, whose class count changes the classifier)."""
    same_data = target.get("dataset") == dataset and isinstance(target.get("params"), int)
    tc, tl = target["channels"], target["layers"]
    target_params = target["params"] if same_data else params_at(tc, tl)
    record = {"channels": tc, "layers": tl, "params": target_params,
              "params_ratio": params / target_params if target_params else None}  # fmt: skip
    if (tc, tl) == (channels, layers):
        return None, record
    change = 100.0 * (params - target_params) / target_params if target_params else 0.0
    note = (
        f"this trains {channels} channels x {layers} cells ({params:,} params), but the "
        f"search's reward measured {tc} x {tl} ({target_params:,} params on {dataset}): "
        f"{change:+.0f} % parameters; --channels {tc} --layers {tl} trains the network the "
        "search costed."
    )
    return note, record
