"""Parameters and FLOPs of an evaluation network, summed from a per-op table without building it.

For one macro-structure (width, depth, classes, input size) every piece of the
evaluation network (:mod:`tndnas.spaces.darts.pieces`) is measured once, on the real module,
with the same counters used on a built network (``sum(p.numel())`` and
``torch.utils.flop_counter``); the auxiliary head's parameters are added for the live-node
counts of the genotype.  The cost of a genotype is then a few lookups: microseconds, exact,
and it covers any op a user registers.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from ...macro import Macro
from ...measure.flops import Cost, measure_params_flops
from .genotype import Genotype
from .network import AuxiliaryHead
from .pieces import DartsPieces

#: (params, FLOPs) of every piece measured in this process, by key
_MEASURED: dict[str, tuple[int, ...]] = {}


class CostTable(DartsPieces):
    """Per-piece (parameters, FLOPs) table for the evaluation network of one :class:`Macro`."""

    zero = (0, 0)

    def __init__(self, macro: Macro, auxiliary: bool = False):
        super().__init__(macro)
        # a piece's key names everything it depends on (op, widths, stride, image size), and
        # its params and FLOPs are exact: every table of the process shares the measurements
        self.pieces = _MEASURED
        self.auxiliary = auxiliary
        self._aux = lru_cache(maxsize=None)(self._aux_params)

    def measure(self, module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
        return measure_params_flops(module, shape)

    def _aux_params(self, m_n: int, m_r: int) -> int:
        """Parameters of the auxiliary head, after cell ``2 * layers // 3``."""
        red, _, C, size = self.plan[2 * self.macro.layers // 3]
        with torch.random.fork_rng(devices=[]):  # as PieceTable.piece: no draw seen outside
            head = AuxiliaryHead((m_r if red else m_n) * C, self.macro.num_classes, size)
        return sum(q.numel() for q in head.parameters())

    def cost(self, genotype: Genotype) -> Cost:
        """Exact params and FLOPs of ``EvalNetwork(genotype, macro, auxiliary)``."""
        params, flops = self.total(genotype)
        aux = 0
        if self.auxiliary:
            aux = self._aux(len(genotype.live("normal")[1]), len(genotype.live("reduce")[1]))
        return Cost(params=params, params_with_aux=params + aux, flops=flops)
