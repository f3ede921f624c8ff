"""The evaluation network built from a genotype (DARTS / P-DARTS evaluation protocol).

Wired exactly as the genotype says, for any in-degree: a node sums all its live
incoming edges; an intermediate node with no live input is removed together with
the edges that leave it; the cell outputs the concatenation of its live
intermediate nodes; an input whose preprocessing no live edge reads is not built.
"""

from __future__ import annotations

import torch
from torch import nn

from ...kernels import BatchNorm2d
from ...macro import Macro
from ...ops import FactorizedReduce, Identity, ReLUConvBN, build_op
from .genotype import Edge, Genotype


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of a branch with probability ``drop_prob`` (scaled to keep the mean)."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x.div(keep).mul(mask)


class EvalCell(nn.Module):
    """One cell of the evaluation network."""

    def __init__(
        self,
        edges: list[Edge],
        nodes: list[int],
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
    ):
        super().__init__()
        self.reduction = reduction
        sources = {src for _, src, _ in edges}
        self.preprocess0 = None
        self.preprocess1 = None
        if 0 in sources:
            self.preprocess0 = (
                FactorizedReduce(C_prev_prev, C)
                if reduction_prev
                else ReLUConvBN(C_prev_prev, C, 1, 1, 0)
            )
        if 1 in sources:
            self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        self.ops = nn.ModuleList(
            build_op(op, C, 2 if reduction and src < 2 else 1, True) for op, src, _ in edges
        )
        self.edges = [(src, dst) for _, src, dst in edges]
        self.nodes = list(nodes)
        self.multiplier = len(nodes)
        # per node: indices of the edges arriving there
        self._incoming = [[k for k, (_, d) in enumerate(self.edges) if d == n] for n in self.nodes]
        self._droppable = [not isinstance(op, Identity) for op in self.ops]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states: dict[int, torch.Tensor] = {}
        if self.preprocess0 is not None:
            states[0] = self.preprocess0(s0)
        if self.preprocess1 is not None:
            states[1] = self.preprocess1(s1)
        use_drop = self.training and drop_prob > 0.0
        for node, incoming in zip(self.nodes, self._incoming):
            total = None
            for k in incoming:
                h = self.ops[k](states[self.edges[k][0]])
                if use_drop and self._droppable[k]:
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states[node] = total
        return torch.cat([states[n] for n in self.nodes], dim=1)


def make_stem(in_channels: int, C: int) -> nn.Sequential:
    """The stem of the cell networks: a 3x3 convolution to ``C`` channels and BatchNorm."""
    return nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), BatchNorm2d(C))


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier (exact for 8x8 inputs; adapts its pooling to smaller ones)."""

    def __init__(self, C: int, num_classes: int, size: int):
        super().__init__()
        pool = min(5, size)
        pooled = (size - pool) // 3 + 1
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(pool, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, min(2, pooled), bias=False),
            BatchNorm2d(768),
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class EvalNetwork(nn.Module):
    """Stem, ``layers`` cells of the genotype, optional auxiliary head, classifier.

    ``forward`` returns ``(logits, aux_logits)``; ``aux_logits`` is ``None`` unless
    the network has an auxiliary head and is in training mode.
    """

    def __init__(self, genotype: Genotype, macro: Macro, auxiliary: bool = False):
        super().__init__()
        self.genotype = genotype
        self.macro = macro
        self.drop_path_prob = 0.0
        C_stem = macro.stem_multiplier * macro.channels
        self.stem = make_stem(macro.in_channels, C_stem)
        live = {ct: genotype.live(ct) for ct in ("normal", "reduce")}
        C_pp, C_p = C_stem, C_stem
        self.cells = nn.ModuleList()
        self.aux_index = 2 * macro.layers // 3
        C_aux, size_aux = C_p, macro.image_size
        for i, (red, red_prev, C, size) in enumerate(macro.cell_plan()):
            edges, nodes = live["reduce" if red else "normal"]
            cell = EvalCell(edges, nodes, C_pp, C_p, C, red, red_prev)
            self.cells.append(cell)
            C_pp, C_p = C_p, cell.multiplier * C
            if i == self.aux_index:
                C_aux, size_aux = C_p, size
        self.auxiliary_head = (
            AuxiliaryHead(C_aux, macro.num_classes, size_aux) if auxiliary else None
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, macro.num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, aux
