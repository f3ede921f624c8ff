"""One architecture update on the supernet: ask the strategy for M paths, score them, look up
their costs, tell the strategy (Eqs. 4-10)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..objectives import CostContext, CostSpec
from ..spaces.base import GenotypeError
from ..strategy import Strategy, paths_tensor
from .op_graphs import OpGraphs
from .scoring import score_paths


@dataclass
class UpdateResult:
    samples: dict[str, torch.Tensor]  # (M x edges) op indices per cell type
    accuracies: torch.Tensor | None  # (M,) on the CPU; None when the reward ignores accuracy
    rewards: torch.Tensor  # (M,)
    baseline: float  # b used for this update
    # every cost of the run (params, flops, the reward's): its values on the samples that can be
    # built (a cell with no live node has none), in the cost's unit
    costs: dict[str, list[float]]


def sample_costs(
    candidates: Mapping[str, Sequence[Sequence[str]]],
    paths: Sequence[Mapping[str, Sequence[int]]],
    costs: Mapping[str, CostSpec],
    ctx: CostContext,
    to_genotype: Callable[[Mapping[str, Sequence[int]]], Any],
) -> list[dict[str, float] | None]:
    """Costs of each sampled path's evaluation network (None: a cell with no live node);
    ``to_genotype(path)``: the genotype a path stands for (the search space's)."""
    out: list[dict[str, float] | None] = []
    for path in paths:
        try:
            geno = to_genotype(path)
            out.append({name: spec.fn(geno, ctx) for name, spec in costs.items()})
        except GenotypeError:
            out.append(None)
    return out


def reinforce_update(
    supernet: nn.Module,
    strategy: Strategy,
    x: torch.Tensor,
    y: torch.Tensor,
    candidates: Mapping[str, Sequence[Sequence[str]]],
    costs: Mapping[str, CostSpec],
    ctx: CostContext,
    *,
    use_accuracy: bool = True,
    amp: bool = False,
    graphs: OpGraphs | None = None,
    to_genotype: Callable[[Mapping[str, Sequence[int]]], Any],
    share: Callable[[Sequence[Any], Callable[[Sequence[Any]], torch.Tensor]], torch.Tensor]
    | None = None,
) -> UpdateResult:
    """Ask ``strategy`` for architectures (the policy samples M, Eqs. 4-5), score each
    sub-network with the supernet's weights on the batch (Eq. 6), look up its costs, and tell
    the strategy (the reward of Eq. (9)/(10) and one REINFORCE step, Eq. 8).  A sample whose cell
    has no live node gets reward 0.
    ``graphs``: score with the ops replayed from CUDA graphs (:class:`OpGraphs`).
    ``to_genotype(path)``: the space's genotype of a path (``SearchSpace.path_genotype``).
    ``share(paths, score)``: how the paths are scored -- by this process alone (default) or
    shared out among several (:meth:`tndnas.runtime.distributed.World.split_scores`).
    """
    paths = strategy.ask()

    def score(some: Sequence[Mapping[str, Sequence[int]]]) -> torch.Tensor:
        return score_paths(supernet, x, y, some, amp, graphs)

    accs = None
    if use_accuracy:
        accs = score(paths).cpu() if share is None else share(paths, score)
    found = sample_costs(candidates, paths, costs, ctx, to_genotype)
    told = strategy.tell(paths, None if accs is None else accs.tolist(), found)
    values: dict[str, list[float]] = {name: [] for name in costs}
    for c in found:
        if c is not None:
            for name, column in values.items():
                column.append(c[name])
    return UpdateResult(paths_tensor(paths), accs, told.rewards, told.baseline, values)
