"""Latency tables of NAS-Bench-201 networks: the final network cut into pieces whose
measurements add up, as :mod:`tndnas.spaces.darts.pieces` does for DARTS networks.

The pieces are the stem, each residual reduction block, the head (BatchNorm, ReLU, global
pooling, classifier) and, per stage width and image size, one op of the cell, one addition of
two edge outputs and the zeros of a node that has no live input.  Every cell of a stage is the
same cell, so a genotype's sum is: the fixed pieces, plus for each stage its cell count times
(its live edges' ops + its nodes' additions and zeros).  ``tests/test_nb201.py`` records every
tensor operation of the pieces and of built networks and checks that they are the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import partial

import torch
from torch import nn

from ...kernels import BatchNorm2d
from ...macro import Macro
from ...measure.latency import LatencyTable
from ...measure.pieces import Add, Measure, PieceTable, _sum, _times
from ..base import GenotypeError
from .genotype import CELL_TYPE, NB201_EDGES, Nb201Genotype
from .network import Nb201Network, ResidualReduction, stage_shapes


class Zeros(nn.Module):
    """The value of a node none of whose edges is live."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


def _stem(in_channels: int, C: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), BatchNorm2d(C))


def _head(C: int, num_classes: int) -> nn.Module:
    return nn.Sequential(
        BatchNorm2d(C),
        nn.ReLU(inplace=False),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Linear(C, num_classes),
    )


class Nb201Pieces(PieceTable):
    """Sums a per-piece measurement over ``Nb201Network(genotype, macro)``."""

    space = "nb201"

    def __init__(self, macro: Macro):
        # the cell is fixed at 3 intermediate nodes, whatever space.steps says
        super().__init__(dataclasses.replace(macro, steps=Nb201Genotype.steps))
        self.stages, self.reductions = stage_shapes(self.macro)
        self._sums: dict[tuple, Measure] = {}

    def fits(self, macro: Macro) -> bool:
        return dataclasses.replace(macro, steps=self.macro.steps) == self.macro

    def network(self, genotype: Nb201Genotype) -> nn.Module:
        return Nb201Network(genotype, self.macro)

    def clear_sums(self) -> None:
        self._sums = {}

    def _cached(self, key: tuple, compute) -> Measure:  # noqa: ANN001 - a callable
        if key not in self._sums:
            self._sums[key] = compute()
        return self._sums[key]

    def _fixed(self) -> Measure:
        """Stem, reduction blocks and head."""
        m = self.macro
        C, s = m.channels, m.image_size
        total = self.piece(
            f"stem {m.in_channels}>{C}c {s}px",
            partial(_stem, m.in_channels, C),
            (1, m.in_channels, s, s),
        )
        for C_in, C_out, size in self.reductions:
            total = _sum(
                total,
                self.piece(
                    f"residual reduction {C_in}>{C_out}c {size}px",
                    partial(ResidualReduction, C_in, C_out),
                    (1, C_in, size, size),
                ),
            )
        _, C_last, size = self.stages[-1]
        k = m.num_classes
        return _sum(
            total,
            self.piece(
                f"head {C_last}c {size}px>{k}", partial(_head, C_last, k), (1, C_last, size, size)
            ),
        )

    def _edge_sum(self, op: str) -> Measure:
        """One live edge, summed over every cell of every stage."""
        total = self.zero
        for n, C, size in self.stages:
            total = _sum(total, _times(n, self.op_piece(op, C, 1, size)))
        return total

    def _nodes_sum(self, adds: int, zeros: int) -> Measure:
        """``adds`` additions and ``zeros`` empty nodes, summed over every cell."""
        total = self.zero
        for n, C, size in self.stages:
            shape = (1, C, size, size)
            if adds:
                total = _sum(total, _times(n * adds, self.piece(f"add {C}c {size}px", Add, shape)))
            if zeros:
                piece = self.piece(f"zeros {C}c {size}px", Zeros, shape)
                total = _sum(total, _times(n * zeros, piece))
        return total

    def total(self, genotype: Nb201Genotype) -> Measure:
        """The sum over every piece of ``Nb201Network(genotype, macro)``."""
        if not isinstance(genotype, Nb201Genotype):
            raise GenotypeError(
                "this latency table is for NAS-Bench-201 cells, but the genotype is of the "
                f"'{getattr(genotype, 'space', 'darts')}' space; measure a table for its space."
            )
        total = self._cached(("fixed",), self._fixed)
        inputs = {node: 0 for node in (1, 2, 3)}
        for op, (_, dst) in zip(genotype.ops, NB201_EDGES):
            if op != "none":
                total = _sum(total, self._cached(("edge", op), partial(self._edge_sum, op)))
                inputs[dst] += 1
        adds = sum(max(k - 1, 0) for k in inputs.values())
        zeros = sum(k == 0 for k in inputs.values())
        return _sum(
            total, self._cached(("nodes", adds, zeros), partial(self._nodes_sum, adds, zeros))
        )

    def measure_space(self, ops: Mapping[str, Sequence[str]]) -> None:
        """Measure every piece any cell over ``ops[CELL_TYPE]`` can use."""
        self._cached(("fixed",), self._fixed)
        for op in ops[CELL_TYPE]:
            if op != "none":
                self._cached(("edge", op), partial(self._edge_sum, op))
        self._nodes_sum(1, 1)  # one of each: every count is a multiple


class Nb201LatencyTable(LatencyTable, Nb201Pieces):
    """Per-piece forward latency (ms) of the NAS-Bench-201 networks of one macro."""
