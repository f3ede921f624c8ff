"""A final network cut into pieces whose measurements add up, measured once each.

A piece is a module with a fixed input shape (an op at one width and size, a stem, a
classifier, ...).  A :class:`PieceTable` measures each distinct piece once, under a readable
key, and a space's subclass adds a genotype's pieces up (:meth:`PieceTable.total`): the DARTS
cells' in :mod:`tndnas.spaces.darts.pieces`, NAS-Bench-201's in
:mod:`tndnas.spaces.nb201.latency`.  What a piece's measurement is comes from a second
subclass: parameters and FLOPs (:class:`~tndnas.spaces.darts.costs.CostTable`) or measured
latency (:class:`~tndnas.measure.latency.LatencyTable`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..macro import Macro
from ..ops import build_op

Measure = tuple[float, ...]


class Add(nn.Module):
    """One addition of two edge outputs of a node (measured as ``x + x``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x


class Concat(nn.Module):
    """The concatenation of a cell's ``m`` live nodes (measured on ``m`` copies of one)."""

    def __init__(self, m: int):
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x] * self.m, dim=1)


def _sum(a: Measure, b: Measure) -> Measure:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _times(n: int, a: Measure) -> Measure:
    return tuple(n * x for x in a)


class PieceTable:
    """Sums a per-piece measurement over the final network of one :class:`Macro`.

    A measuring subclass defines :meth:`measure` (a module and its input shape, batch 1, to a
    tuple of numbers, the same length for every piece) and :attr:`zero`; a space's subclass
    defines :meth:`network`, :meth:`total` and :meth:`measure_space`.
    """

    zero: Measure = ()
    #: the search space whose final networks the pieces add up to (in a table file's JSON)
    space: str = ""

    def __init__(self, macro: Macro):
        self.macro = macro
        self.pieces: dict[str, Measure] = {}

    def fits(self, macro: Macro) -> bool:
        """Whether the pieces add up to the final networks of ``macro``."""
        return macro == self.macro

    # ------------------------------------------------------------------ a space's part
    def network(self, genotype: Any) -> nn.Module:
        """The final network whose pieces are summed (built to time it whole)."""
        raise NotImplementedError

    def total(self, genotype: Any) -> Measure:
        """The sum over every piece of the final network of ``genotype``."""
        raise NotImplementedError

    def measure_space(self, ops: Mapping[str, Sequence[str]]) -> None:
        """Measure every piece any genotype over the op lists ``ops`` (per cell type) can use."""
        raise NotImplementedError

    def clear_sums(self) -> None:
        """Forget every sum made from the pieces (after :attr:`pieces` changed)."""

    # ------------------------------------------------------------------ measuring
    def measure(self, module: nn.Module, shape: tuple[int, ...]) -> Measure:
        raise NotImplementedError

    def piece(self, key: str, build: Callable[[], nn.Module], shape: tuple[int, ...]) -> Measure:
        """The measurement of the piece ``key`` (``build()`` on an input of ``shape``)."""
        if key not in self.pieces:
            # building a piece draws its initial weights: from a fork of torch's random
            # generator, so a run's random stream never depends on when a piece was measured
            with torch.random.fork_rng(devices=[]):
                self.pieces[key] = tuple(self.measure(build(), shape))
        return self.pieces[key]

    def op_piece(self, name: str, C: int, stride: int, size: int) -> Measure:
        """One registered op on a ``C``-channel, ``size`` x ``size`` input."""
        return self.piece(
            f"op {name} {C}c stride{stride} {size}px",
            lambda: build_op(name, C, stride, True),
            (1, C, size, size),
        )
