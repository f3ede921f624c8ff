"""The weight-sharing supernet searched by TND-NAS (DARTS macro-structure, paper Fig. 1).

Every edge of a cell holds the candidates it still has (a stage may remove some of
them, Eq. 11, which frees their memory).  One candidate list per edge and one
architecture matrix per cell type: all normal cells share the normal list, all
reduction cells the reduction list.

Two forwards over the same weights:

* :meth:`Supernet.forward` -- the *mixed* forward, Eq. (1): every edge outputs the
  softmax(alpha)-weighted sum of its candidates.  The weights are passed in, already
  detached: TND-NAS never differentiates alpha.
* :meth:`Supernet.forward_path` -- the *sampled-path* forward: one candidate per edge,
  only that candidate runs; 'none' edges, and edges leaving a node that nothing
  live feeds, are skipped entirely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from ...kernels import BatchNorm2d
from ...macro import Macro
from ...ops import Chain, FactorizedReduce, Identity, ReLUConvBN, build_op, is_parameter_free
from .genotype import CELL_TYPES, Genotype, edge_pairs, live_edges

Candidates = Mapping[str, Sequence[Sequence[str]]]
Path = Mapping[str, Sequence[int]]
#: How a sampled-path forward runs one module on one input: ``call(module, x)``; the default is
#: ``module(x)``.  Scoring may pass a runner that replays CUDA graphs (``search.op_graphs``).
ModuleCall = Callable[[nn.Module, torch.Tensor], torch.Tensor]


def _direct(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return module(x)


def _candidate_module(name: str, C: int, stride: int, skip_dropout: float) -> nn.Module:
    op = build_op(name, C, stride, affine=False)
    if is_parameter_free(name):
        # as in DARTS/P-DARTS search: pools get a BatchNorm so their scale matches the convs
        op = Chain(op, BatchNorm2d(C, affine=False))
    elif isinstance(op, Identity):
        # P-DARTS: dropout after skip_connect, rate set per epoch (0 disables it)
        op = Chain(op, nn.Dropout(p=skip_dropout))
    return op


class MixedEdge(nn.Module):
    """All remaining candidates of one edge."""

    def __init__(self, C: int, stride: int, op_names: Sequence[str], skip_dropout: float = 0.0):
        super().__init__()
        self.C, self.stride = C, stride
        self.op_names = list(op_names)
        self.ops = nn.ModuleList(
            _candidate_module(n, C, stride, skip_dropout) for n in self.op_names
        )

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Eq. (1): sum_o w_o * o(x).  'none' contributes exactly zero, so it is not computed."""
        out = None
        for k, (name, op) in enumerate(zip(self.op_names, self.ops)):
            if name == "none":
                continue
            y = weights[k] * op(x)
            out = y if out is None else out + y
        if out is None:  # only 'none' left on this edge
            out = self.ops[0](x)
        return out

    def shrink(self, keep: Sequence[int]) -> None:
        """Keep only the candidates at indices ``keep`` (Eq. 11), in their current order."""
        keep = sorted(keep)
        self.op_names = [self.op_names[k] for k in keep]
        self.ops = nn.ModuleList(self.ops[k] for k in keep)


class SearchCell(nn.Module):
    """A cell of the supernet: 2 inputs, ``steps`` intermediate nodes, every edge mixed."""

    def __init__(
        self,
        candidates: Sequence[Sequence[str]],
        steps: int,
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
        skip_dropout: float = 0.0,
    ):
        super().__init__()
        self.reduction, self.steps, self.C = reduction, steps, C
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self.pairs = edge_pairs(steps)
        self._edge_index = {pair: e for e, pair in enumerate(self.pairs)}
        if len(candidates) != len(self.pairs):
            raise ValueError(
                f"a cell with {steps} steps has {len(self.pairs)} edges, got {len(candidates)} candidate lists"
            )
        self.edges = nn.ModuleList(
            MixedEdge(C, 2 if reduction and src < 2 else 1, candidates[e], skip_dropout)
            for e, (src, _) in enumerate(self.pairs)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for _ in range(self.steps):
            total = None
            for h in states:
                y = self.edges[e](h, weights[e])
                total = y if total is None else total + y
                e += 1
            states.append(total)
        return torch.cat(states[2:], dim=1)

    def forward_path(
        self,
        s0: torch.Tensor,
        s1: torch.Tensor,
        choice: Sequence[int],
        memo: dict | None = None,
        shared: tuple[bool, bool] = (False, False),
        call: ModuleCall = _direct,
    ) -> torch.Tensor:
        """One op per edge (``choice[e]`` indexes edge e's candidates).

        ``memo``: a cache kept across the paths of one batch (see :meth:`Supernet.forward_paths`);
        ``shared[i]`` says input ``i`` is the same tensor for every one of those paths, so its
        preprocessing and the output of each op applied to it are computed once and reused.
        ``call(module, x)`` runs each preprocessing and each op.
        """
        # the same liveness rule as the genotype the path is costed as (genotype.live_edges)
        named = [
            (self.edges[e].op_names[k], src, dst)
            for e, ((src, dst), k) in enumerate(zip(self.pairs, choice))
        ]
        live, _ = live_edges(named, self.steps)
        sources_of: dict[int, list[int]] = {}
        for _, src, dst in live:
            sources_of.setdefault(dst, []).append(src)
        used = {src for _, src, _ in live if src < 2}

        def once(key, module, x):  # call(module, x), computed once per memo when x is shared
            if memo is None:
                return call(module, x)
            if key not in memo:
                memo[key] = call(module, x)
            return memo[key]

        states: dict[int, torch.Tensor] = {}
        if 0 in used:
            pre = self.preprocess0
            states[0] = once("pre0", pre, s0) if shared[0] else call(pre, s0)
        if 1 in used or 0 not in used:
            pre = self.preprocess1
            states[1] = once("pre1", pre, s1) if shared[1] else call(pre, s1)
        outputs = []
        zero = None
        for node in range(2, self.steps + 2):
            total = None
            for src in sources_of.get(node, ()):
                e = self._edge_index[(src, node)]
                op = self.edges[e].ops[choice[e]]
                if src < 2 and shared[src]:
                    y = once((e, choice[e]), op, states[src])
                else:
                    y = call(op, states[src])
                total = y if total is None else total + y
            if total is None:  # no live input: the node contributes zeros to the concatenation
                if zero is None:
                    ref = states[1] if 1 in states else states[0]
                    n, c, h, w = ref.shape
                    if self.reduction:
                        h, w = (h + 1) // 2, (w + 1) // 2
                    zero = ref.new_zeros(n, c, h, w)
                outputs.append(zero)
            else:
                states[node] = total
                outputs.append(total)
        return torch.cat(outputs, dim=1)


@contextmanager
def _frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """While a checkpointed cell is recomputed, BatchNorm must not update its running stats again.

    Momentum 0 keeps the running mean/var exactly (``(1 - 0) * r + 0 * batch``) while the
    recomputation saves the same tensors as the original forward; the batch counter is restored.
    """
    bns = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [
        (m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone())
        for m in bns
    ]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(bns, saved):
            m.momentum = momentum
            if count is not None:
                m.num_batches_tracked.copy_(count)


class Supernet(nn.Module):
    """Stem, ``macro.layers`` search cells, global pooling and a linear classifier.

    ``checkpoint=True`` recomputes each cell's mixed forward during backward (activation
    checkpointing): memory of one cell's activations instead of all of them.
    """

    def __init__(
        self,
        candidates: Candidates,
        macro: Macro,
        skip_dropout: float = 0.0,
        checkpoint: bool = False,
    ):
        super().__init__()
        self.checkpoint = checkpoint
        self.macro = macro
        self.steps = macro.steps
        C_stem = macro.stem_multiplier * macro.channels
        self.stem = Chain(
            nn.Conv2d(macro.in_channels, C_stem, 3, padding=1, bias=False),
            BatchNorm2d(C_stem),
        )
        C_pp, C_p = C_stem, C_stem
        self.cells = nn.ModuleList()
        for red, red_prev, C, _ in macro.cell_plan():
            ct = "reduce" if red else "normal"
            self.cells.append(
                SearchCell(candidates[ct], macro.steps, C_pp, C_p, C, red, red_prev, skip_dropout)
            )
            C_pp, C_p = C_p, macro.steps * C
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, macro.num_classes)

    # ------------------------------------------------------------------ structure
    def _first(self, cell_type: str) -> SearchCell:
        want = cell_type == "reduce"
        return next(c for c in self.cells if c.reduction == want)

    def candidates(self) -> dict[str, list[list[str]]]:
        """The op names still on every edge, per cell type."""
        return {ct: [list(e.op_names) for e in self._first(ct).edges] for ct in CELL_TYPES}

    def shrink(self, keep: Mapping[str, Sequence[Sequence[int]]]) -> None:
        """Keep, on every edge of every cell of each type, only the candidate indices given (Eq. 11)."""
        for cell in self.cells:
            kept = keep["reduce" if cell.reduction else "normal"]
            for edge, k in zip(cell.edges, kept, strict=True):
                edge.shrink(k)

    def compile_ops(self, **options) -> None:
        """``torch.compile`` every candidate op, every preprocessing and the stem, in place.

        The cell wiring stays eager Python (a sampled path changes it every sample); each
        module's kernels are compiled and fused for its fixed shapes.  ``options`` go to
        ``nn.Module.compile`` (e.g. ``mode="max-autotune-no-cudagraphs"``).  CUDA graphs
        (``mode="reduce-overhead"``) do not fit: a graph's output buffer is reused by its next
        replay while the sampled wiring may still hold it.
        """
        # one code object (e.g. SepConv.forward) serves every instance and shape: allow as many
        # compiled variants as the supernet has (resolutions x strides x grad/no-grad)
        for key in ("recompile_limit", "cache_size_limit"):
            if hasattr(torch._dynamo.config, key):
                setattr(torch._dynamo.config, key, max(getattr(torch._dynamo.config, key), 256))
        self.stem.compile(**options)
        for cell in self.cells:
            cell.preprocess0.compile(**options)
            cell.preprocess1.compile(**options)
            for edge in cell.edges:
                for name, op in zip(edge.op_names, edge.ops):
                    if name == "none" or (name == "skip_connect" and isinstance(op, Chain)):
                        continue  # 'none' is skipped by every forward but an all-'none' edge; identity: nothing to compile
                    op.compile(**options)

    def set_skip_dropout(self, p: float) -> None:
        for m in self.modules():
            if isinstance(m, nn.Dropout):
                m.p = p

    # ------------------------------------------------------------------ forwards
    def forward(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Mixed forward, Eq. (1); ``weights[cell_type]`` is (edges x K), e.g. softmax(alpha)."""
        s0 = s1 = self.stem(x)
        w_n, w_r = weights["normal"], weights["reduce"]
        recompute = self.checkpoint and self.training and torch.is_grad_enabled()
        for cell in self.cells:
            w = w_r if cell.reduction else w_n
            if recompute:
                s0, s1 = s1, checkpoint(
                    cell, s0, s1, w, use_reentrant=False,
                    context_fn=lambda cell=cell: (nullcontext(), _frozen_running_stats(cell)),
                )  # fmt: skip
            else:
                s0, s1 = s1, cell(s0, s1, w)
        return self.classifier(self.global_pooling(s1).flatten(1))

    def forward_path(self, x: torch.Tensor, path: Path) -> torch.Tensor:
        """Sampled-path forward: ``path[cell_type][e]`` is the index of the one op run on edge e."""
        return self.forward_paths(x, [path])[0]

    def forward_paths(
        self, x: torch.Tensor, paths: Sequence[Path], call: ModuleCall = _direct
    ) -> list[torch.Tensor]:
        """The sampled-path forward of several paths on the same batch; their logits.

        What the paths share is computed once: the stem; the preprocessing of every cell input
        that is still the stem's output (both inputs of the first cell, the first input of the
        second); and each op applied to such an input, per edge and op.  The logits are those of
        separate :meth:`forward_path` calls, bit for bit, when the supernet has no randomness
        left (eval mode, or BatchNorm on batch statistics as in scoring).  ``call(module, x)``
        runs each cell's preprocessing and ops (default ``module(x)``).
        """
        stem = self.stem(x)
        memos: list[dict] = [{} for _ in self.cells[:2]]
        out = []
        for path in paths:
            s0 = s1 = stem
            shared = (True, True)  # is cell input 0 / 1 the stem output, the same for every path?
            for i, cell in enumerate(self.cells):
                choice = path["reduce" if cell.reduction else "normal"]
                memo = memos[i] if i < len(memos) else None
                s0, s1 = s1, cell.forward_path(s0, s1, choice, memo, shared, call)
                shared = (shared[1], False)
            out.append(self.classifier(self.global_pooling(s1).flatten(1)))
        return out


def path_genotype(
    candidates: Candidates, path: Path, steps: int = 4, metadata: dict | None = None
) -> Genotype:
    """The genotype a sampled path stands for (its 'none' edges kept; they are dropped on use)."""
    cells = {
        ct: tuple(
            (candidates[ct][e][k], src, dst)
            for e, ((src, dst), k) in enumerate(zip(edge_pairs(steps), path[ct]))
        )
        for ct in CELL_TYPES
    }
    return Genotype(cells["normal"], cells["reduce"], steps, metadata or {})
