"""A toy search space written as a plug-in, to show that a space needs one module and one
registration: cells of one type, ``block``, whose EDGES edges form a chain (node e+1 is edge e's
op applied to node e), every edge choosing among OPS. Its genotype, supernet, final network,
cost table and latency pieces are all here; tndnas is not edited."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch import nn

from tndnas.config import SpaceConfig
from tndnas.config.fields import opt
from tndnas.measure.flops import Cost, measure_params_flops
from tndnas.measure.latency import LatencyTable
from tndnas.measure.pieces import _sum, _times
from tndnas.ops import build_op
from tndnas.spaces import FORMAT_TAG, GenotypeError, SearchSpace, register_space

NAME = "toy-chain"
CELL = "block"
OPS = ("conv_3x3", "skip_connect", "max_pool_3x3", "conv_1x1")
EDGES = 3


@dataclass
class ChainSpaceConfig(SpaceConfig):
    """The space's own `space` keys (beside name and channels)."""

    ops: str = opt(",".join(OPS), "the candidates of every edge, comma-separated")


@dataclass(frozen=True)
class ChainGenotype:
    ops: tuple[str, ...]
    metadata: dict = field(default_factory=dict, compare=False, hash=False)
    space: str = field(default=NAME, compare=False)
    steps: int = EDGES

    def cell(self, cell_type: str = CELL):
        return tuple((op, e, e + 1) for e, op in enumerate(self.ops))

    def live(self, cell_type: str = CELL):
        return list(self.cell()), list(range(1, EDGES + 1))

    def to_dict(self) -> dict:
        d = {"format": FORMAT_TAG, "space": self.space, CELL: list(self.ops)}
        return {**d, "metadata": self.metadata} if self.metadata else d

    def to_json(self, path=None) -> str:
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    def describe(self) -> str:
        return "block: " + " -> ".join(self.ops)


def _stem(in_channels: int, C: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))


def _head(C: int, classes: int) -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(C, classes))


class ChainNet(nn.Module):
    """The final network: a stem, ``macro.layers`` blocks at ``macro.channels``, a classifier."""

    def __init__(self, genotype: ChainGenotype, macro, auxiliary: bool = False):
        super().__init__()
        C = macro.channels
        self.stem = _stem(macro.in_channels, C)
        self.blocks = nn.ModuleList(
            nn.Sequential(*(build_op(op, C, 1, True) for op in genotype.ops))
            for _ in range(macro.layers)
        )
        self.head = _head(C, macro.num_classes)

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h), None


class ChainSupernet(nn.Module):
    """Every candidate of every edge of every block, weights shared by all paths."""

    def __init__(self, candidates, macro):
        super().__init__()
        C = macro.channels
        self.names = [list(c) for c in candidates[CELL]]
        self.stem = _stem(macro.in_channels, C)
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                nn.ModuleList(build_op(op, C, 1, False) for op in names) for names in self.names
            )
            for _ in range(macro.layers)
        )
        self.head = _head(C, macro.num_classes)

    def _run(self, x, edge):
        h = self.stem(x)
        for block in self.blocks:
            for e, ops in enumerate(block):
                h = edge(e, ops, h)
        return self.head(h)

    def forward(self, x, weights):
        w = weights[CELL]
        return self._run(x, lambda e, ops, h: sum(w[e, k] * op(h) for k, op in enumerate(ops)))

    def forward_path(self, x, path):
        return self._run(x, lambda e, ops, h: ops[path[CELL][e]](h))

    def forward_paths(self, x, paths, graphs=None):
        return [self.forward_path(x, p) for p in paths]

    def set_skip_dropout(self, p: float) -> None:
        pass


class ChainCosts:
    def __init__(self, macro):
        self.macro = macro

    def cost(self, genotype: ChainGenotype) -> Cost:
        m = self.macro
        with torch.random.fork_rng(devices=[]):
            params, flops = measure_params_flops(
                ChainNet(genotype, m), (1, m.in_channels, m.image_size, m.image_size)
            )
        return Cost(params, params, flops)


class ChainLatencyTable(LatencyTable):
    """Pieces: the stem, each op at the block width, the classifier."""

    space = NAME

    def network(self, genotype):
        return ChainNet(genotype, self.macro)

    def _fixed(self):
        m, C = self.macro, self.macro.channels
        s = m.image_size
        stem = self.piece(f"stem {C}c", partial(_stem, m.in_channels, C), (1, m.in_channels, s, s))
        head = self.piece(f"head {C}c", partial(_head, C, m.num_classes), (1, C, s, s))
        return _sum(stem, head)

    def total(self, genotype):
        if not isinstance(genotype, ChainGenotype):
            raise GenotypeError("this latency table is for toy-chain blocks")
        C, s = self.macro.channels, self.macro.image_size
        total = self._fixed()
        for op in genotype.ops:
            total = _sum(total, _times(self.macro.layers, self.op_piece(op, C, 1, s)))
        return total

    def measure_space(self, ops, rounds: int = 1):
        if rounds > 1 and self.source is None:
            return super().measure_space(ops, rounds)
        self._fixed()
        for op in ops[CELL]:
            self.op_piece(op, self.macro.channels, 1, self.macro.image_size)
        self._call_ms()


class ChainSpace(SearchSpace):
    cell_types = (CELL,)
    config_class = ChainSpaceConfig

    def candidate_ops(self, space_cfg):
        ops = tuple(o.strip() for o in space_cfg.ops.split(","))
        if any(o not in OPS for o in ops):
            raise ValueError(f"space.ops: the {NAME} space's ops are {', '.join(OPS)}")
        return {CELL: ops}

    def num_edges(self, space_cfg):
        return EDGES

    def supernet(self, candidates, macro, skip_dropout, *, checkpoint=False):
        return ChainSupernet(candidates, macro)

    def derive(self, probs, candidates, space_cfg, metadata=None):
        best = probs[CELL].argmax(-1).tolist()
        ops = tuple(candidates[CELL][e][k] for e, k in enumerate(best))
        return ChainGenotype(ops, dict(metadata or {}), self.name)

    def path_genotype(self, candidates, path, space_cfg):
        return ChainGenotype(tuple(candidates[CELL][e][k] for e, k in enumerate(path[CELL])))

    def cost_table(self, target, auxiliary=False):
        return ChainCosts(target)

    def latency_table(self, target, **options):
        return ChainLatencyTable(target, **options)

    def load_latency_table(self, path, expect):
        return ChainLatencyTable.load(path, expect=expect)

    def random_genotypes(self, ops, macro, n, seed=0):
        rng = random.Random(seed)
        return [ChainGenotype(tuple(rng.choice(ops[CELL]) for _ in range(EDGES))) for _ in range(n)]

    def genotype_from_dict(self, data, where):
        ops = data.get(CELL) if isinstance(data, dict) else None
        if not isinstance(ops, list) or len(ops) != EDGES or any(o not in OPS for o in ops):
            raise GenotypeError(f"{where}: a {NAME} genotype lists {EDGES} ops of {OPS}.")
        return ChainGenotype(tuple(ops), dict(data.get("metadata") or {}), NAME)

    def network(self, genotype, macro, *, auxiliary=False):
        return ChainNet(genotype, macro)

    def draw(self, genotype, out_dir):
        path = Path(out_dir) / "block.txt"
        path.write_text(genotype.describe() + "\n")
        return [path]


register_space(NAME, ChainSpace())
