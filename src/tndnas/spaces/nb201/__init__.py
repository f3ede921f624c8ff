"""The NAS-Bench-201 search space (``space.name: nb201``): one cell of 4 nodes and 6 edges, each
edge one of none, skip_connect, nor_conv_1x1, nor_conv_3x3 and avg_pool_3x3, repeated N times in
each of three stages of C, 2C and 4C channels (:mod:`.network`).  Every one of its 15,625 cells
has a published trained accuracy, so a search of this space can be scored exactly
(``tndnas nb201``)."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ...config.space_schema import Nb201SpaceConfig
from ...macro import Macro
from ...op_sets import register_op_set, resolve_op_set
from ...ops import ReLUConvBN, register_op
from ..base import SearchSpace, register_space
from .costs import Nb201CostTable
from .genotype import (
    CELL_TYPE,
    NB201_EDGES,
    NB201_OPS,
    Nb201Genotype,
    nb201_genotype_from_dict,
    parse_cell_string,
)
from .latency import Nb201LatencyTable
from .network import PUBLISHED_CIFAR10, Nb201Network, Nb201Supernet, cells_per_stage

__all__ = [
    "NB201_EDGES",
    "NB201_OPS",
    "PUBLISHED_CIFAR10",
    "Nb201CostTable",
    "Nb201Genotype",
    "Nb201LatencyTable",
    "Nb201Network",
    "Nb201Space",
    "Nb201Supernet",
    "cells_per_stage",
    "parse_cell_string",
]

register_op(
    "nor_conv_1x1", lambda C, stride, affine: ReLUConvBN(C, C, 1, stride, 0, affine),
    colour="#6a3d9a", overwrite=True,
)  # fmt: skip
register_op(
    "nor_conv_3x3", lambda C, stride, affine: ReLUConvBN(C, C, 3, stride, 1, affine),
    colour="#b15928", overwrite=True,
)  # fmt: skip
register_op_set("nb201", NB201_OPS, overwrite=True)


class Nb201Space(SearchSpace):
    """NAS-Bench-201's cell space; its candidates are ``space.normal_ops`` (the op set `nb201`
    or a subset of it)."""

    config_class = Nb201SpaceConfig

    cell_types = (CELL_TYPE,)

    def candidate_ops(self, space_cfg: Any) -> dict[str, tuple[str, ...]]:
        try:
            ops = resolve_op_set(space_cfg.normal_ops)
        except (KeyError, ValueError) as err:
            raise ValueError(f"space.normal_ops: {err.args[0]}") from None
        foreign = [o for o in ops if o not in NB201_OPS]
        if foreign:
            raise ValueError(
                f"space.normal_ops: '{foreign[0]}' is not a NAS-Bench-201 op; the nb201 space "
                f"takes a subset of {', '.join(NB201_OPS)} (the op set `nb201`)"
            )
        return {CELL_TYPE: ops}

    def num_edges(self, space_cfg: Any) -> int:
        return len(NB201_EDGES)

    def supernet(self, candidates, macro, skip_dropout, *, checkpoint=False) -> Nb201Supernet:  # noqa: ANN001
        return Nb201Supernet(candidates, macro, skip_dropout, checkpoint=checkpoint)

    def derive(
        self,
        probs: Mapping[str, Any],
        candidates: Mapping[str, Sequence[Sequence[str]]],
        space_cfg: Any,
        metadata: dict | None = None,
    ) -> Nb201Genotype:
        """The most likely op of every edge ('none' included: it is a cell of the benchmark)."""
        p = torch.as_tensor(probs[CELL_TYPE])
        ops = tuple(candidates[CELL_TYPE][e][int(k)] for e, k in enumerate(p.argmax(-1)))
        return Nb201Genotype(ops, dict(metadata or {}), space=self.name)

    def path_genotype(self, candidates, path, space_cfg) -> Nb201Genotype:  # noqa: ANN001
        ops = tuple(candidates[CELL_TYPE][e][k] for e, k in enumerate(path[CELL_TYPE]))
        return Nb201Genotype(ops, space=self.name)

    def cost_table(self, target, auxiliary: bool = False) -> Nb201CostTable:  # noqa: ANN001
        return Nb201CostTable(target, auxiliary)

    def latency_table(self, target: Macro, **options: Any) -> Nb201LatencyTable:
        return Nb201LatencyTable(target, **options)

    def load_latency_table(
        self, path: str | os.PathLike, expect: Macro | None
    ) -> Nb201LatencyTable:
        return Nb201LatencyTable.load(path, expect=expect)

    def random_genotypes(
        self, ops: Mapping[str, Sequence[str]], macro: Macro, n: int, seed: int = 0
    ) -> list[Nb201Genotype]:
        """Uniformly one op of ``ops["normal"]`` per edge."""
        rng = random.Random(seed)
        choices = list(ops[CELL_TYPE])
        return [
            Nb201Genotype(tuple(rng.choice(choices) for _ in NB201_EDGES), space=self.name)
            for _ in range(n)
        ]

    def genotype_from_dict(self, data: Any, where: str) -> Nb201Genotype:
        return nb201_genotype_from_dict(data, where)

    def network(self, genotype, macro, *, auxiliary: bool = False) -> Nb201Network:  # noqa: ANN001
        return Nb201Network(genotype, macro, auxiliary)

    def draw(self, genotype: Nb201Genotype, out_dir: Path) -> list[Path]:
        path = out_dir / "cell.txt"
        path.write_text(genotype.describe() + "\n")
        return [path]


register_space("nb201", Nb201Space())
