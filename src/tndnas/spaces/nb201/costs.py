"""Exact params and FLOPs of NAS-Bench-201 networks from a table: the fixed part (stem,
reduction blocks, head) measured once, plus each op measured once per stage width, so a cell's
cost is a few lookups.  Measured with the counters used on a built network (``sum(numel)`` and
``torch.utils.flop_counter``); ``tests/test_nb201.py`` checks the sum against built networks."""

from __future__ import annotations

from functools import cache

import torch

from ...macro import Macro
from ...measure.flops import Cost, measure_params_flops
from ...ops import build_op
from .genotype import NB201_OPS, Nb201Genotype
from .network import Nb201Network, stage_shapes


class Nb201CostTable:
    """Params and FLOPs of ``Nb201Network(genotype, macro)`` for any cell."""

    def __init__(self, macro: Macro, auxiliary: bool = False):
        self.macro = macro
        self.auxiliary = auxiliary  # no auxiliary head in this space: params_with_aux == params
        shape = (1, macro.in_channels, macro.image_size, macro.image_size)
        with torch.random.fork_rng(devices=[]):  # no draw of the run's random stream
            empty = Nb201Network(Nb201Genotype(("none",) * 6), macro)
            self.fixed = measure_params_flops(empty, shape)
        self.stages = stage_shapes(macro)[0]  # (cells, width, spatial size) of each stage

    @cache  # noqa: B019 - one table per macro, few ops
    def _op(self, op: str, C: int, size: int) -> tuple[int, int]:
        if op == "none":
            return (0, 0)
        with torch.random.fork_rng(devices=[]):
            return measure_params_flops(build_op(op, C, 1, True), (1, C, size, size))

    def cost(self, genotype: Nb201Genotype) -> Cost:
        """Exact params and FLOPs of the genotype's final network."""
        params, flops = self.fixed
        for n, C, size in self.stages:
            for op in genotype.ops:
                p, f = self._op(op, C, size)
                params, flops = params + n * p, flops + n * f
        return Cost(params=params, params_with_aux=params, flops=flops)

    def ops(self) -> tuple[str, ...]:
        return NB201_OPS
