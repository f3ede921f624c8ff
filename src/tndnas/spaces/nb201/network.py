"""The NAS-Bench-201 macro-structure, as published: a 3x3 stem of C channels, three stages of N
cells at C, 2C and 4C channels joined by residual reduction blocks (a ResNet basic block of
stride 2), then BatchNorm, ReLU, global pooling and a linear classifier.

Here ``Macro.layers`` counts every block, cells and the two reduction blocks: ``3 N + 2`` (the
published N = 5 is 17), so the reduction blocks sit where a DARTS macro puts its reduction cells
(``layers // 3`` and ``2 * layers // 3``).  :class:`Nb201Network` is the final network of one
cell (affine BatchNorm); :class:`Nb201Supernet` the weight-sharing one, every edge holding all of
its candidates (BatchNorm without affine parameters, as weight-sharing searches of this space
train it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ...kernels import BatchNorm2d
from ...macro import Macro, MacroError
from ...ops import ReLUConvBN, build_op
from .genotype import CELL_TYPE, NB201_EDGES, Nb201Genotype

#: The benchmark's CIFAR-10 network: 16 channels, N = 5 (17 blocks), 32x32 RGB inputs, 10 classes.
PUBLISHED_CIFAR10 = Macro(channels=16, layers=17, num_classes=10, in_channels=3, image_size=32)


def cells_per_stage(macro: Macro) -> int:
    """N of a macro of ``3 N + 2`` layers; a one-sentence :class:`MacroError` otherwise."""
    n, rest = divmod(macro.layers - 2, 3)
    if rest or n < 1:
        raise MacroError(
            f"a NAS-Bench-201 network has 3 N + 2 layers (N cells per stage and two reduction "
            f"blocks), got {macro.layers}; use 5, 8, 11, 14 or 17 (the published N = 5)."
        )
    return n


class ResidualReduction(nn.Module):
    """The block between two stages: ReLU-conv3x3(stride 2)-BN, ReLU-conv3x3-BN, plus a shortcut
    of 2x2 average pooling and a 1x1 convolution."""

    def __init__(self, C_in: int, C_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(C_in, C_out, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def _plan(macro: Macro) -> list[tuple[bool, int]]:
    """Per block: (is a reduction block, output channels)."""
    n = cells_per_stage(macro)
    C = macro.channels
    return (
        [(False, C)] * n
        + [(True, 2 * C)]
        + [(False, 2 * C)] * n
        + [(True, 4 * C)]
        + [(False, 4 * C)] * n
    )


def stage_shapes(macro: Macro) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """``(cells, channels, image side)`` of each stage's cells, and ``(input channels, output
    channels, input side)`` of each reduction block."""
    stages: list[tuple[int, int, int]] = []
    reductions: list[tuple[int, int, int]] = []
    size, C_prev = macro.image_size, macro.channels
    for reduction, C in _plan(macro):
        if reduction:
            reductions.append((C_prev, C, size))
            size = (size + 1) // 2
        elif stages and stages[-1][1:] == (C, size):
            stages[-1] = (stages[-1][0] + 1, C, size)
        else:
            stages.append((1, C, size))
        C_prev = C
    return stages, reductions


class _Body(nn.Module):
    """Stem, blocks and head shared by the final network and the supernet."""

    def __init__(self, macro: Macro, make_cell):
        super().__init__()
        C = macro.channels
        self.stem = nn.Sequential(
            nn.Conv2d(macro.in_channels, C, 3, padding=1, bias=False), BatchNorm2d(C)
        )
        blocks, C_prev = [], C
        for reduction, C_out in _plan(macro):
            blocks.append(ResidualReduction(C_prev, C_out) if reduction else make_cell(C_out))
            C_prev = C_out
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(BatchNorm2d(C_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, macro.num_classes)

    def logits(self, x: torch.Tensor, run_cell) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x) if isinstance(block, ResidualReduction) else run_cell(block, x)
        return self.classifier(self.global_pooling(self.head(x)).flatten(1))


def _run_cell(x: torch.Tensor, edge_out) -> torch.Tensor:
    """Node j is the sum of ``edge_out(e, node i)`` over the edges e = (i, j), i < j (None: the
    edge adds nothing; a node with no input is zeros); the cell outputs node 3."""
    nodes = [x]
    for node in (1, 2, 3):
        total = None
        for e, (src, dst) in enumerate(NB201_EDGES):
            if dst == node and (y := edge_out(e, nodes[src])) is not None:
                total = y if total is None else total + y
        nodes.append(torch.zeros_like(x) if total is None else total)
    return nodes[3]


class Nb201Cell(nn.Module):
    """One cell of a genotype: node j is the sum of op(node i) over its inputs i < j; the cell
    outputs node 3. 'none' edges are not computed."""

    def __init__(self, ops: Sequence[str], C: int, affine: bool = True):
        super().__init__()
        self.op_names = tuple(ops)
        self.ops = nn.ModuleList(build_op(op, C, 1, affine) for op in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _run_cell(x, lambda e, v: None if self.op_names[e] == "none" else self.ops[e](v))


class Nb201Network(nn.Module):
    """The final network of one cell; ``forward`` returns ``(logits, None)`` (no auxiliary head
    in this space)."""

    def __init__(self, genotype: Nb201Genotype, macro: Macro, auxiliary: bool = False):
        super().__init__()
        if auxiliary:
            raise MacroError(
                "NAS-Bench-201 networks have no auxiliary head; set auxiliary=false "
                "(train: --set auxiliary=false)."
            )
        self.genotype, self.macro = genotype, macro
        self.auxiliary_head = None
        self.drop_path_prob = 0.0  # no drop-path in this space (the trainer may set it)
        self.body = _Body(macro, lambda C: Nb201Cell(genotype.ops, C))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.body.logits(x, lambda cell, h: cell(h)), None


class _SearchEdge(nn.Module):
    """Every candidate of one edge."""

    def __init__(self, names: Sequence[str], C: int):
        super().__init__()
        self.op_names = tuple(names)
        self.ops = nn.ModuleList(build_op(op, C, 1, affine=False) for op in names)

    def mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Eq. (1): sum_o w_o * o(x); 'none' adds exactly zero and is not computed."""
        out = None
        for k, (name, op) in enumerate(zip(self.op_names, self.ops)):
            if name == "none":
                continue
            y = weights[k] * op(x)
            out = y if out is None else out + y
        return torch.zeros_like(x) if out is None else out


class _SearchCell(nn.Module):
    def __init__(self, candidates: Sequence[Sequence[str]], C: int):
        super().__init__()
        self.edges = nn.ModuleList(_SearchEdge(names, C) for names in candidates)

    def forward(self, x: torch.Tensor, edge_out) -> torch.Tensor:
        return _run_cell(x, lambda e, v: edge_out(e, self.edges[e], v))


class Nb201Supernet(nn.Module):
    """The weight-sharing network of the NAS-Bench-201 space over ``candidates`` (``{"normal":
    6 lists of op names}``)."""

    def __init__(
        self,
        candidates: Mapping[str, Sequence[Sequence[str]]],
        macro: Macro,
        skip_dropout: float = 0.0,
        *,
        checkpoint: bool = False,
    ):
        super().__init__()
        if checkpoint:
            raise MacroError(
                "weights.checkpoint is not available for the NAS-Bench-201 supernet (it is small "
                "enough without); set weights.checkpoint=false."
            )
        self.candidates = {CELL_TYPE: [list(c) for c in candidates[CELL_TYPE]]}
        self.steps = 3
        self.body = _Body(macro, lambda C: _SearchCell(self.candidates[CELL_TYPE], C))

    def set_skip_dropout(self, p: float) -> None:
        """Skip-connect dropout is a DARTS-space regulariser; this space has none."""

    def compile_ops(self, **options) -> None:
        for block in self.body.blocks:
            if isinstance(block, _SearchCell):
                for edge in block.edges:
                    for i, op in enumerate(edge.ops):
                        edge.ops[i] = torch.compile(op, **options)

    def forward(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Mixed forward, Eq. (1); ``weights["normal"]`` is (6 x K), e.g. softmax(alpha)."""
        w = weights[CELL_TYPE]
        return self.body.logits(x, lambda cell, h: cell(h, lambda e, edge, v: edge.mixed(v, w[e])))

    def forward_path(self, x: torch.Tensor, path: Mapping[str, Sequence[int]]) -> torch.Tensor:
        """Sampled-path forward: ``path["normal"][e]`` is the index of the one op run on edge e."""
        choice = path[CELL_TYPE]

        def edge_out(e: int, edge: _SearchEdge, v: torch.Tensor) -> torch.Tensor | None:
            k = choice[e]
            return None if edge.op_names[k] == "none" else edge.ops[k](v)

        return self.body.logits(x, lambda cell, h: cell(h, edge_out))

    def forward_paths(
        self, x: torch.Tensor, paths: Sequence[Mapping[str, Sequence[int]]], call=None
    ) -> list[torch.Tensor]:
        """:meth:`forward_path` of each path on the same batch."""
        if call is not None:
            raise MacroError("policy.cuda_graphs is not available for the NAS-Bench-201 space")
        return [self.forward_path(x, p) for p in paths]
