"""The DARTS evaluation network of one macro-structure cut into pieces whose measurements add up.

A piece is a module with a fixed input shape: the stem; per cell, the preprocessing of each
input a live edge reads, one op per live edge, one addition for every further edge a node
sums, and the concatenation of the cell's live nodes; last the classifier (global pooling,
flatten, linear layer).  Together they are exactly the operations of
``EvalNetwork(genotype, macro)`` in inference (``tests/test_latency.py`` records every
tensor operation of both and compares them).

The cells of one type all share the genotype's edges, so an edge's measurement is summed once
over every cell of its type, at each cell's width and size; the rest (stem, preprocessing,
classifier) depends only on the number of live nodes of each cell type and on which inputs
each type reads.  A genotype's total is then a few dictionary lookups.  What a piece measures
comes from the table's other base: parameters and FLOPs (:class:`~tndnas.spaces.darts.costs.CostTable`)
or measured latency (:class:`~tndnas.spaces.darts.latency.DartsLatencyTable`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache, partial

from torch import nn

from ...macro import Macro
from ...measure.pieces import Add, Concat, Measure, PieceTable, _sum, _times
from ...ops import FactorizedReduce, ReLUConvBN
from ..base import GenotypeError
from .genotype import CELL_TYPES, Genotype
from .network import EvalNetwork, make_stem


def classifier(C: int, num_classes: int) -> nn.Module:
    """Global average pooling, flatten and the linear classifier of the evaluation network."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(C, num_classes))


class DartsPieces(PieceTable):
    """The pieces of ``EvalNetwork(genotype, macro)`` of the DARTS cell space, and their sum."""

    space = "darts"

    def __init__(self, macro: Macro):
        super().__init__(macro)
        self.plan = macro.cell_plan()
        # spatial size of each cell's input s1 (the previous cell's output)
        self._in_size = [macro.image_size] + [size for *_, size in self.plan[:-1]]
        self._edge: dict[str, dict[tuple[str, bool], Measure]] = {ct: {} for ct in CELL_TYPES}
        self._skeleton = lru_cache(maxsize=None)(self._skeleton_cost)
        self._glue = lru_cache(maxsize=None)(self._glue_cost)

    def network(self, genotype: Genotype) -> nn.Module:
        """The final network whose pieces are summed (built to time it whole)."""
        return EvalNetwork(genotype, self.macro)

    def clear_sums(self) -> None:
        """Forget every sum made from the pieces (after :attr:`pieces` changed)."""
        self._edge = {ct: {} for ct in CELL_TYPES}
        self._skeleton.cache_clear()
        self._glue.cache_clear()

    # ------------------------------------------------------------------ pieces of a genotype
    def edge_cost(self, cell_type: str, op: str, from_input: bool) -> Measure:
        """One genotype edge, summed over every cell of ``cell_type``."""
        table = self._edge[cell_type]
        key = (op, from_input)
        if key not in table:
            want = cell_type == "reduce"
            total = self.zero
            for i, (red, _, C, size) in enumerate(self.plan):
                if red != want:
                    continue
                stride = 2 if red and from_input else 1
                size_in = self._in_size[i] if stride == 2 else size
                total = _sum(total, self.op_piece(op, C, stride, size_in))
            table[key] = total
        return table[key]

    def _glue_cost(self, cell_type: str, adds: int, m: int) -> Measure:
        """Per cell of ``cell_type``: ``adds`` additions and the concatenation of ``m`` nodes."""
        want = cell_type == "reduce"
        total = self.zero
        for red, _, C, size in self.plan:
            if red != want:
                continue
            shape = (1, C, size, size)
            if adds:
                total = _sum(total, _times(adds, self.piece(f"add {C}c {size}px", Add, shape)))
            total = _sum(total, self.piece(f"concat {m}x{C}c {size}px", lambda: Concat(m), shape))
        return total

    def _skeleton_cost(
        self, m_n: int, m_r: int, uses_n: tuple[bool, bool], uses_r: tuple[bool, bool]
    ) -> Measure:
        """Stem, preprocessing of every cell and classifier, for given live-node counts."""
        macro = self.macro
        C_stem = macro.stem_multiplier * macro.channels
        s, n_in = macro.image_size, macro.in_channels
        total = self.piece(
            f"stem {n_in}>{C_stem}c {s}px", partial(make_stem, n_in, C_stem), (1, n_in, s, s)
        )
        C_pp, C_p = C_stem, C_stem
        size_pp = size_p = s
        for red, red_prev, C, size in self.plan:
            use0, use1 = uses_r if red else uses_n
            if use0:
                if red_prev:
                    key, build = (
                        f"reduce {C_pp}>{C}c {size_pp}px",
                        partial(FactorizedReduce, C_pp, C),
                    )
                else:
                    key, build = (
                        f"1x1 {C_pp}>{C}c {size_pp}px",
                        partial(ReLUConvBN, C_pp, C, 1, 1, 0),
                    )
                total = _sum(total, self.piece(key, build, (1, C_pp, size_pp, size_pp)))
            if use1:
                total = _sum(
                    total,
                    self.piece(
                        f"1x1 {C_p}>{C}c {size_p}px",
                        partial(ReLUConvBN, C_p, C, 1, 1, 0),
                        (1, C_p, size_p, size_p),
                    ),
                )
            C_pp, C_p = C_p, (m_r if red else m_n) * C
            size_pp, size_p = size_p, size
        k = macro.num_classes
        return _sum(
            total,
            self.piece(
                f"classifier {C_p}c {size_p}px>{k}",
                lambda: classifier(C_p, k),
                (1, C_p, size_p, size_p),
            ),
        )

    def live_summary(self, genotype: Genotype) -> dict[str, tuple[list, list[int], bool, bool]]:
        """Per cell type: live edges, live nodes, and whether inputs 0 and 1 are read."""
        if genotype.steps != self.macro.steps:
            raise GenotypeError(
                f"genotype has {genotype.steps} steps but the network has {self.macro.steps}"
            )
        out = {}
        for ct in CELL_TYPES:
            edges, nodes = genotype.live(ct)
            if not nodes:
                raise GenotypeError(
                    f"the {ct} cell has no live intermediate node, so no network can be built from it"
                )
            sources = {src for _, src, _ in edges}
            out[ct] = (edges, nodes, 0 in sources, 1 in sources)
        return out

    def total(self, genotype: Genotype) -> Measure:
        """The sum over every piece of ``EvalNetwork(genotype, macro)`` (no auxiliary head)."""
        live = self.live_summary(genotype)
        total = self.zero
        for ct, (edges, nodes, _, _) in live.items():
            for op, src, _ in edges:
                total = _sum(total, self.edge_cost(ct, op, src < 2))
            total = _sum(total, self._glue(ct, len(edges) - len(nodes), len(nodes)))
        n, r = live["normal"], live["reduce"]
        return _sum(total, self._skeleton(len(n[1]), len(r[1]), n[2:], r[2:]))

    def measure_space(self, ops: Mapping[str, Sequence[str]]) -> None:
        """Measure every piece any genotype over the op lists ``ops`` (per cell type) can use."""
        steps = self.macro.steps
        for ct in CELL_TYPES:
            for op in ops[ct]:
                if op == "none":  # a 'none' edge is never live: no piece
                    continue
                for from_input in (True, False):
                    self.edge_cost(ct, op, from_input)
            max_edges = sum(range(2, 2 + steps))
            for m in range(1, steps + 1):
                for adds in (0, 1):  # an addition's piece is the same for every count
                    if adds <= max_edges - m:
                        self._glue(ct, adds, m)
        reads = [(a, b) for a in (False, True) for b in (False, True) if a or b]
        for m_n in range(1, steps + 1):
            for m_r in range(1, steps + 1):
                for uses_n in reads:
                    for uses_r in reads:
                        self._skeleton(m_n, m_r, uses_n, uses_r)
