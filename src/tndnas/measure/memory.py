"""Memory a search stage's weight step will need, estimated before the search runs.

A late stage's supernet is the deepest; without activation checkpointing its mixed weight step
may need more memory than the machine has, and the run would be killed hours in.
A space's probe (:func:`tndnas.spaces.darts.memory.probe_supernet` for DARTS cells) runs one forward of a 2-image batch through a supernet of the stage's depth
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

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

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
    """What a space's probe measured; :meth:`estimate` turns it into bytes for a stage."""

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


def param_bytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())
