"""Latency tables of the DARTS cell space: per-piece forward latency of its final networks."""

from __future__ import annotations

import random
from collections.abc import Mapping

from ...measure.latency import LatencyTable
from .genotype import CELL_TYPES, Genotype, derive_genotype, edge_pairs
from .pieces import DartsPieces


class DartsLatencyTable(LatencyTable, DartsPieces):
    """Per-piece forward latency (ms) of ``EvalNetwork(genotype, macro)``."""


def random_genotypes(
    ops: Mapping[str, list[str]], steps: int, n: int, seed: int = 0
) -> list[Genotype]:
    """``n`` architectures drawn as the search's first samples are: one op per edge, uniformly
    from each cell type's op list ('none' removes the edge)."""
    rng = random.Random(seed)
    candidates = {ct: [list(ops[ct])] * len(edge_pairs(steps)) for ct in CELL_TYPES}
    out = []
    for _ in range(n):
        weights = {
            ct: [[rng.random() for _ in ops[ct]] for _ in edge_pairs(steps)] for ct in CELL_TYPES
        }
        out.append(derive_genotype(weights, candidates, steps))
    return out
