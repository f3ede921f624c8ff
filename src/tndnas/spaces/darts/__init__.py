"""The DARTS cell space of TND-NAS: normal and reduction cells of ``space.steps`` intermediate
nodes, every edge choosing among the ops of ``space.normal_ops`` / ``space.reduce_ops``.

Everything of this space lives in this package: its genotypes (:mod:`.genotype`), the
weight-sharing supernet (:mod:`.supernet`), the final evaluation network (:mod:`.network`),
exact params and FLOPs (:mod:`.costs`, summed from :mod:`.pieces`), latency tables
(:mod:`.latency`), the supernet's memory probe (:mod:`.memory`) and the cell diagrams
(:mod:`.diagram`).  The ops it builds from are the shared library of :mod:`tndnas.ops`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...config.space_schema import DartsSpaceConfig
from ...macro import Macro
from ...measure.latency import LatencyTable
from ...measure.memory import MemoryProbe
from ...op_sets import resolve_op_set
from ..base import SearchSpace, register_space
from .costs import CostTable
from .genotype import CELL_TYPES, Genotype, derive_genotype, edge_pairs, genotype_from_dict
from .latency import DartsLatencyTable, random_genotypes
from .memory import probe_supernet
from .network import EvalNetwork
from .supernet import Supernet, path_genotype


class DartsSpace(SearchSpace):
    """DARTS / P-DARTS cells (the paper's space): 14 edges per cell at 4 nodes."""

    cell_types = CELL_TYPES
    config_class = DartsSpaceConfig

    def candidate_ops(self, space_cfg: Any) -> dict[str, tuple[str, ...]]:
        ops = {}
        for ct in self.cell_types:
            try:
                ops[ct] = resolve_op_set(getattr(space_cfg, f"{ct}_ops"))
            except (KeyError, ValueError) as err:  # the message names the config key
                raise ValueError(f"space.{ct}_ops: {err.args[0]}") from None
        return ops

    def num_edges(self, space_cfg: Any) -> int:
        return len(edge_pairs(space_cfg.steps))

    def supernet(
        self,
        candidates: Mapping[str, Sequence[Sequence[str]]],
        macro: Macro,
        skip_dropout: float,
        *,
        checkpoint: bool = False,
    ) -> Supernet:
        return Supernet(candidates, macro, skip_dropout, checkpoint=checkpoint)

    def derive(
        self,
        probs: Mapping[str, Any],
        candidates: Mapping[str, Sequence[Sequence[str]]],
        space_cfg: Any,
        metadata: dict | None = None,
    ) -> Genotype:
        """Argmax per edge; ``none`` removes the edge (the paper's end-to-end derivation)."""
        geno = derive_genotype(dict(probs), dict(candidates), space_cfg.steps, metadata)
        return dataclasses.replace(geno, space=self.name)

    def path_genotype(
        self, candidates: Mapping[str, Sequence[Sequence[str]]], path: Any, space_cfg: Any
    ) -> Genotype:
        return path_genotype(candidates, path, space_cfg.steps)

    def cost_table(self, target: Macro, auxiliary: bool = False) -> CostTable:
        return CostTable(target, auxiliary)

    def latency_table(self, target: Macro, **options: Any) -> LatencyTable:
        return DartsLatencyTable(target, **options)

    def load_latency_table(self, path: str | os.PathLike, expect: Macro | None) -> LatencyTable:
        return DartsLatencyTable.load(path, expect=expect)

    def random_genotypes(
        self, ops: Mapping[str, Sequence[str]], macro: Macro, n: int, seed: int = 0
    ) -> list[Genotype]:
        return random_genotypes({ct: list(v) for ct, v in ops.items()}, macro.steps, n, seed)

    def memory_probe(
        self, candidates: Mapping[str, Sequence[Sequence[str]]], macro: Macro, amp: bool
    ) -> MemoryProbe:
        return probe_supernet(candidates, macro, amp=amp)

    def genotype_from_dict(self, data: Any, where: str) -> Genotype:
        return genotype_from_dict(data, where)

    def network(self, genotype: Genotype, macro: Macro, *, auxiliary: bool = False) -> EvalNetwork:
        return EvalNetwork(genotype, macro, auxiliary=auxiliary)

    def draw(self, genotype: Genotype, out_dir: Path) -> list[Path]:
        from .diagram import draw_cell  # matplotlib only when drawing

        return [draw_cell(genotype, ct, out_dir / f"cell_{ct}.png") for ct in self.cell_types]


register_space("darts", DartsSpace())
