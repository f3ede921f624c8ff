"""The DARTS supernet's memory probe: one forward of a 2-image batch through a supernet of the
stage's depth holding every candidate op, recording what each op saves for backward (see
:mod:`tndnas.measure.memory` for what the estimate covers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext

import torch

from ...macro import Macro
from ...measure.memory import PROBE_BATCH, CellFootprint, MemoryProbe, param_bytes
from .genotype import CELL_TYPES
from .supernet import Supernet


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
    from ...config import ConfigError
    from ...runtime import available_memory_bytes

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
            [[param_bytes(op) for op in e.ops] for e in cell.edges],
        )
        for cell in net.cells
    ]
    for fp, cell in zip(cells, net.cells):
        fp.other_params = param_bytes(cell) - sum(map(sum, fp.op_params))
    probe = MemoryProbe(cells)
    probe.outside_params = param_bytes(net) - sum(
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
