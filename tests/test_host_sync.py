"""The inner loop of the search never waits for the device.

On a GPU, a call that reads a tensor's value on the host (``.item()``, ``float(t)``,
``.tolist()``, ``.cpu()``, ``if t:``, ``nonzero``) or turns Python numbers into a device tensor
blocks the CPU until every queued kernel has finished, so the next step cannot be queued while
this one runs.  These tests run the per-step work on the CPU under a mode that records every
such call, so a regression shows here without a GPU.
"""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from tndnas.data import AugmentConfig, BatchIterator
from tndnas.macro import Macro
from tndnas.op_sets import resolve_op_set
from tndnas.search.scoring import score_paths
from tndnas.search.weight_step import weight_step
from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs
from tndnas.spaces.darts.supernet import Supernet

HOST_READS = {"item", "tolist", "__float__", "__int__", "__bool__", "__index__", "cpu", "numpy"}
HOST_TO_DEVICE = {"tensor", "as_tensor"}  # from Python data (not from a tensor)
SYNC_KERNELS = {"aten._local_scalar_dense.default", "aten.nonzero.default"}


class _FunctionCalls(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name in HOST_READS:
            self.syncs.append(name)
        elif name in HOST_TO_DEVICE and args and not isinstance(args[0], torch.Tensor):
            self.syncs.append(f"{name}(python data)")
        return func(*args, **(kwargs or {}))


class _KernelCalls(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if str(func) in SYNC_KERNELS:
            self.syncs.append(str(func))
        return func(*args, **(kwargs or {}))


class SyncRecorder:
    """Records every host-device synchronisation point executed inside the ``with`` block."""

    def __enter__(self) -> SyncRecorder:
        self._f, self._k = _FunctionCalls(), _KernelCalls()
        self._f.__enter__()
        self._k.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._k.__exit__(*exc)
        self._f.__exit__(*exc)

    @property
    def syncs(self) -> list[str]:
        return self._f.syncs + self._k.syncs


def _tiny_supernet(checkpoint: bool) -> Supernet:
    candidates = {
        ct: [list(resolve_op_set(f"tnd-{ct}")) for _ in edge_pairs(4)] for ct in CELL_TYPES
    }
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=3, image_size=8)
    net = Supernet(candidates, macro, skip_dropout=0.1, checkpoint=checkpoint)
    return net.to(memory_format=torch.channels_last)


def _batches() -> BatchIterator:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8, generator=gen)
    y = torch.randint(0, 10, (64,), generator=gen)
    return BatchIterator(
        x, y, 16, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2),
        augment=AugmentConfig(crop_padding=2, flip=True, cutout=3), generator=gen,
        memory_format=torch.channels_last,
    )  # fmt: skip


def test_recorder_sees_every_kind_of_sync():
    t = torch.arange(4.0)
    with SyncRecorder() as rec:
        t[1].item()
        float(t[2])
        t.tolist()
        bool(t[0] > 1)
        torch.as_tensor([1.0, 2.0])
        t.nonzero()
    assert {"item", "__float__", "tolist", "__bool__", "as_tensor(python data)"} <= set(rec.syncs)
    assert "aten.nonzero.default" in rec.syncs


@pytest.mark.parametrize("checkpoint", [False, True])
def test_mixed_weight_step_and_batch_fetch_never_sync(checkpoint):
    net = _tiny_supernet(checkpoint)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    weights = {
        ct: torch.softmax(torch.randn(len(edge_pairs(4)), len(resolve_op_set(f"tnd-{ct}"))), 1)
        for ct in CELL_TYPES
    }
    batches = iter(_batches())
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.long)
    weight_step(net, opt, *next(batches), 5.0, weights=weights)  # warm-up (lazy optimizer state)
    with SyncRecorder() as rec:
        for _ in range(2):
            x, y = next(batches)
            loss, ok = weight_step(net, opt, x, y, 5.0, weights=weights)
            loss_sum += loss * len(y)
            correct += ok
    assert rec.syncs == []
    assert torch.isfinite(loss_sum) and 0 <= int(correct) <= 32


def test_scoring_sampled_paths_never_syncs():
    net = _tiny_supernet(False)
    x, y = next(iter(_batches()))
    gen = torch.Generator().manual_seed(1)
    paths = [
        {ct: torch.randint(0, len(resolve_op_set(f"tnd-{ct}")), (14,), generator=gen).tolist()
         for ct in CELL_TYPES}
        for _ in range(4)
    ]  # fmt: skip
    with SyncRecorder() as rec:
        accs = score_paths(net, x, y, paths)
    assert rec.syncs == []
    assert accs.shape == (4,)
