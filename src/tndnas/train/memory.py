"""Memory a search stage's weight step will need, estimated before the search runs.

A late stage's supernet is the deepest; without activation checkpointing its mixed weight step
may need more memory than the machine has, and the run would be killed hours in.
:func:`probe_supernet` runs one forward of a 2-image batch through a supernet of the stage's depth
holding *every* candidate op, and records what each op saves for backward (PyTorch's
saved-tensor hooks), what the rest of each cell saves, each cell's output and every op's
parameters.  :meth:`MemoryProbe.estimate` then scales the activations to the stage's batch size
and keeps, on every edge, the stage's number of candidates with the largest footprint: an upper
bound whichever ops the earlier stages keep (Eq. 11 drops the lowest-probability ones).

The estimate covers the weights, their gradients and SGD momentum (3 copies), the tensors saved
for backward (with ``weights.checkpoint`` only the cells' inputs are kept, plus the largest
cell's activations while it is recomputed) and, for the backward pass, gradients as large as the
largest cell's saved activations.  It leaves out the kernels' working memory, the process's own
footprint and the allocator's slack: it is a guide for refusing runs that cannot fit, not a
measurement (BENCHMARKS.md compares it with measured peaks: within 25 % on the CPU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from ..space.genotype import CELL_TYPES
from ..space.macro import Macro
from ..space.supernet import Supernet

PROBE_BATCH = 2


@dataclass
class CellFootprint:
    """Bytes of one cell at the probe's batch size (parameters: independent of the batch)."""

    cell_type: str
    op_saved: list[list[int]]  # [edge][candidate] bytes saved for backward by the op
    op_params: list[list[int]]  # [edge][candidate] parameter bytes of the op
    other_saved: int = 0  # saved by the cell outside its ops (preprocessing)
    other_params: int = 0
    output: int = 0  # the cell's output (kept for the next cells)


@dataclass
class MemoryProbe:
    """What :func:`probe_supernet` measured; :meth:`estimate` turns it into bytes for a stage."""

    cells: list[CellFootprint]
    outside_saved: int = 0  # stem and classifier
    outside_params: int = 0
    probe_batch: int = PROBE_BATCH

    def estimate(
        self,
        kept: Mapping[str, int],
        batch_size: int,
        *,
        checkpoint: bool = False,
        sampled: bool = False,
    ) -> MemoryEstimate:
        """Bytes of one weight step with ``kept[cell_type]`` candidates left on every edge.

        ``sampled``: one op per edge runs (``weights.mode=sampled``), so one candidate counts.
        """
        scale = batch_size / self.probe_batch
        params = self.outside_params
        cell_saved = []
        for cell in self.cells:
            n = 1 if sampled else kept[cell.cell_type]
            saved = cell.other_saved
            params += cell.other_params
            for op_saved, op_params in zip(cell.op_saved, cell.op_params):
                saved += sum(sorted(op_saved, reverse=True)[:n])
                params += sum(sorted(op_params, reverse=True)[: kept[cell.cell_type]])
            cell_saved.append(saved)
        largest = max(cell_saved, default=0)
        if checkpoint:
            # kept: every cell's output (the next cells' inputs); recomputed: one cell at a time
            kept_bytes = sum(c.output for c in self.cells) + largest
        else:
            kept_bytes = sum(cell_saved)
        # backward through a cell holds gradients about as large as the activations it saved
        activations = int((self.outside_saved + kept_bytes + largest) * scale)
        return MemoryEstimate(weights=3 * params, activations=activations)


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int  # parameters, gradients and SGD momentum, bytes
    activations: int  # tensors saved for backward at the batch size, bytes

    @property
    def total(self) -> int:
        return self.weights + self.activations


def probe_supernet(
    candidates: Mapping[str, Sequence[Sequence[str]]],
    macro: Macro,
    *,
    amp: bool = False,
) -> MemoryProbe:
    """Measure, on the CPU, the footprint of a supernet of ``macro`` over ``candidates`` (use
    every candidate of the op set: the estimate picks the largest ones).  The memory format
    does not change the bytes; the random state of the caller is left as it was.

    ``amp``: probe under bf16 autocast, as the step will run on CUDA (activations in bf16).
    """
    with torch.random.fork_rng(devices=[]):  # the probe draws only CPU random numbers
        torch.default_generator.manual_seed(0)  # (torch.manual_seed would reseed CUDA too)
        return _probe(candidates, macro, amp)


def _check_probe_fits(candidates: Mapping[str, Sequence[Sequence[str]]], macro: Macro) -> None:
    """Refuse, before allocating it, a supernet whose weights alone would not fit in this
    machine's memory (the probe builds it on the CPU): counted on the meta device, for free."""
    from ..config import ConfigError
    from ..runtime import available_memory_bytes

    with torch.device("meta"):
        weights = sum(p.numel() * 4 for p in Supernet(candidates, macro).parameters())
    free = available_memory_bytes(torch.device("cpu"))
    if free is not None and 2 * weights > free:  # the probe's weights and their gradients
        raise ConfigError(
            f"a supernet of {macro.layers} cells at {macro.channels} channels has "
            f"{weights / 2**30:.1f} GiB of weights, more than this machine can hold to measure "
            f"it ({free / 2**30:.1f} GiB free); lower space.channels or the stages' layers."
        )


def _probe(
    candidates: Mapping[str, Sequence[Sequence[str]]], macro: Macro, amp: bool
) -> MemoryProbe:
    _check_probe_fits(candidates, macro)
    net = Supernet(candidates, macro).train()
    param_storages = {p.untyped_storage().data_ptr() for p in net.parameters()}
    x = torch.randn(PROBE_BATCH, macro.in_channels, macro.image_size, macro.image_size)
    weights = {
        ct: torch.full((len(candidates[ct]), len(candidates[ct][0])), 1.0 / len(candidates[ct][0]))
        for ct in CELL_TYPES
    }

    cells = [
        CellFootprint(
            "reduce" if cell.reduction else "normal",
            [[0] * len(e.ops) for e in cell.edges],
            [[_param_bytes(op) for op in e.ops] for e in cell.edges],
        )
        for cell in net.cells
    ]
    for fp, cell in zip(cells, net.cells):
        fp.other_params = _param_bytes(cell) - sum(map(sum, fp.op_params))
    probe = MemoryProbe(cells)
    probe.outside_params = _param_bytes(net) - sum(
        c.other_params + sum(map(sum, c.op_params)) for c in cells
    )

    where: list = [None, None]  # [cell index or None, (edge, candidate) or None]
    seen: dict[tuple, set[int]] = {}  # storages counted, per op / per cell's rest / outside

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr, nbytes = storage.data_ptr(), storage.nbytes()
        c, op = where
        counted = seen.setdefault((c, op), set())
        if ptr in param_storages or ptr in counted:  # a weight, or counted already for this owner
            return t
        counted.add(ptr)
        if c is None:
            probe.outside_saved += nbytes
        elif op is None:
            cells[c].other_saved += nbytes
        else:
            cells[c].op_saved[op[0]][op[1]] += nbytes
        return t

    handles = []
    for c, cell in enumerate(net.cells):
        handles.append(cell.register_forward_pre_hook(lambda m, a, c=c: where.__setitem__(0, c)))

        def leave_cell(m, a, out, c=c):
            where[0] = None
            cells[c].output = out.untyped_storage().nbytes()

        handles.append(cell.register_forward_hook(leave_cell))
        for e, edge in enumerate(cell.edges):
            for k, op in enumerate(edge.ops):
                handles.append(
                    op.register_forward_pre_hook(lambda m, a, o=(e, k): where.__setitem__(1, o))
                )
                handles.append(
                    op.register_forward_hook(lambda m, a, out: where.__setitem__(1, None))
                )
    try:
        with (
            torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
            torch.autocast("cpu", dtype=torch.bfloat16) if amp else nullcontext(),
        ):
            net(x, weights)
    finally:
        for h in handles:
            h.remove()
    return probe


def _param_bytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())
