"""Parameters and FLOPs of an evaluation network, summed from a per-op table without building it.

For one macro-structure (width, depth, classes, input size) every piece of the
evaluation network is measured once, on the real module, with the same counters
used on a built network (``sum(p.numel())`` and ``torch.utils.flop_counter``):

* per cell type, op and stride class: the op's cost summed over all cells of that type
  (an edge of the genotype appears in every cell of its type, at that cell's width);
* per "skeleton" -- the multipliers (live nodes) of both cell types and which inputs each
  cell type reads: stem, preprocessing of every cell, classifier and auxiliary head.

The cost of a genotype is then one skeleton lookup plus one lookup per live edge:
microseconds, exact, and it covers any op a user registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..space.genotype import CELL_TYPES, Genotype, GenotypeError
from ..space.macro import Macro
from ..space.network import AuxiliaryHead
from ..space.ops import FactorizedReduce, ReLUConvBN, build_op


@dataclass(frozen=True)
class Cost:
    """Exact costs of one evaluation network.

    ``params``: parameters without the auxiliary head; ``params_with_aux``: with it
    (equal when the table has no head); ``flops``: FLOPs of one inference forward
    of one image (2 per multiply-add; convolutions and linear layers).
    """

    params: int
    params_with_aux: int
    flops: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates (FLOPs / 2) -- what thop/ptflops report under the name 'FLOPs'."""
        return self.flops // 2


def _measure(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    params = sum(p.numel() for p in module.parameters())
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(*shape))
    return params, int(counter.get_total_flops())


class CostTable:
    """Per-op cost table for the evaluation network of one :class:`Macro`."""

    def __init__(self, macro: Macro, auxiliary: bool = False):
        self.macro = macro
        self.auxiliary = auxiliary
        self.plan = macro.cell_plan()
        # spatial size of each cell's inputs s1 (the previous cell's output)
        self._in_size = [macro.image_size] + [size for *_, size in self.plan[:-1]]
        self._op_cache: dict[tuple, tuple[int, int]] = {}
        self._edge: dict[str, dict[tuple[str, bool], tuple[int, int]]] = {
            ct: {} for ct in CELL_TYPES
        }
        C_stem = macro.stem_multiplier * macro.channels
        self._stem = _measure(
            nn.Sequential(
                nn.Conv2d(macro.in_channels, C_stem, 3, padding=1, bias=False),
                nn.BatchNorm2d(C_stem),
            ),
            (1, macro.in_channels, macro.image_size, macro.image_size),
        )
        self._skeleton = lru_cache(maxsize=None)(self._skeleton_cost)

    # ------------------------------------------------------------------ pieces
    def _op(self, name: str, C: int, stride: int, size: int) -> tuple[int, int]:
        key = (name, C, stride, size)
        if key not in self._op_cache:
            self._op_cache[key] = _measure(build_op(name, C, stride, True), (1, C, size, size))
        return self._op_cache[key]

    def edge_cost(self, cell_type: str, op: str, from_input: bool) -> tuple[int, int]:
        """(params, FLOPs) of one genotype edge, summed over every cell of ``cell_type``."""
        table = self._edge[cell_type]
        key = (op, from_input)
        if key not in table:
            want = cell_type == "reduce"
            p = f = 0
            for i, (red, _, C, size) in enumerate(self.plan):
                if red != want:
                    continue
                stride = 2 if red and from_input else 1
                dp, df = self._op(op, C, stride, self._in_size[i] if stride == 2 else size)
                p, f = p + dp, f + df
            table[key] = (p, f)
        return table[key]

    def _skeleton_cost(
        self, m_n: int, m_r: int, uses_n: tuple[bool, bool], uses_r: tuple[bool, bool]
    ) -> tuple[int, int, int]:
        """Stem + preprocessing + classifier (+ auxiliary head params) for given multipliers."""
        macro = self.macro
        p, f = self._stem
        C_stem = macro.stem_multiplier * macro.channels
        C_pp, C_p = C_stem, C_stem
        size_pp = size_p = macro.image_size
        C_aux = size_aux = 0
        for i, (red, red_prev, C, size) in enumerate(self.plan):
            use0, use1 = uses_r if red else uses_n
            if use0:
                pre = FactorizedReduce(C_pp, C) if red_prev else ReLUConvBN(C_pp, C, 1, 1, 0)
                dp, df = self._piece(pre, (1, C_pp, size_pp, size_pp))
                p, f = p + dp, f + df
            if use1:
                dp, df = self._piece(ReLUConvBN(C_p, C, 1, 1, 0), (1, C_p, size_p, size_p))
                p, f = p + dp, f + df
            C_pp, C_p = C_p, (m_r if red else m_n) * C
            size_pp, size_p = size_p, size
            if i == 2 * macro.layers // 3:
                C_aux, size_aux = C_p, size
        dp, df = self._piece(nn.Linear(C_p, macro.num_classes), (1, C_p))
        p, f = p + dp, f + df
        aux = 0
        if self.auxiliary:
            aux = sum(
                q.numel() for q in AuxiliaryHead(C_aux, macro.num_classes, size_aux).parameters()
            )
        return p, p + aux, f

    def _piece(self, module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
        key = (repr(module), shape)
        if key not in self._op_cache:
            self._op_cache[key] = _measure(module, shape)
        return self._op_cache[key]

    # ------------------------------------------------------------------ lookups
    def cost(self, genotype: Genotype) -> Cost:
        """Exact params and FLOPs of ``EvalNetwork(genotype, macro, auxiliary)``."""
        if genotype.steps != self.macro.steps:
            raise GenotypeError(
                f"genotype has {genotype.steps} steps but the network has {self.macro.steps}"
            )
        p = f = 0
        mult, uses = {}, {}
        for ct in CELL_TYPES:
            edges, nodes = genotype.live(ct)
            if not nodes:
                raise GenotypeError(
                    f"the {ct} cell has no live intermediate node, so no network can be built from it"
                )
            mult[ct] = len(nodes)
            u0 = u1 = False
            for op, src, _ in edges:
                dp, df = self.edge_cost(ct, op, src < 2)
                p, f = p + dp, f + df
                u0 = u0 or src == 0
                u1 = u1 or src == 1
            uses[ct] = (u0, u1)
        sp, sp_aux, sf = self._skeleton(
            mult["normal"], mult["reduce"], uses["normal"], uses["reduce"]
        )
        return Cost(params=p + sp, params_with_aux=p + sp_aux, flops=f + sf)
