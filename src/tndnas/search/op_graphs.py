"""CUDA graphs for the ops of scored sub-networks (``policy.cuda_graphs``).

Scoring the M sampled sub-networks of an alpha update (Eq. 6) launches thousands of small
kernels; on a GPU the host's cost of launching them can exceed their run time.  :class:`OpGraphs`
captures each multi-kernel op (a separable, dilated or factorized convolution, a factorized reduction) once
per input shape as a CUDA graph and afterwards replays it: one copy into a static input buffer,
one graph launch, one copy out of the static output buffer -- three launches instead of the op's
own five to ten.  Ops with fewer layers than :data:`MIN_LAYERS` run directly.

The sampled wiring changes with every path, so a graph holds one op, never a network.  Every op
with the same input shape reads the same static input buffer, and every op with the same output
shape writes the same static output buffer; a replay's output is cloned at once, so nothing a
path holds is overwritten by a later replay.  The graphs are valid only in the state they were
captured in -- scoring: no autograd, BatchNorm on batch statistics, dropout off (see
:func:`~tndnas.search.scoring.batch_statistics`) -- and for the parameters' storage at capture:
when a parameter or buffer moves (``.to()``, a new memory format), :meth:`OpGraphs.check` drops
every graph, and the ops are captured again.  In-place updates (the SGD step, loading a
checkpoint) need nothing: a replay reads the current values.

``emulate=True`` runs the same buffers and copies without CUDA (each op runs directly into the
static output buffer): the tests use it on the CPU to check the bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain

import torch
from torch import nn

#: Tests only: let a search with ``policy.cuda_graphs=true`` run on the CPU, emulated.
EMULATE_WITHOUT_CUDA = False

#: Ops with at least this many layers (leaf modules) are replayed from a graph.  A replay costs
#: three launches, so a ReLU-conv-BN preprocessing (three layers) gains nothing.
MIN_LAYERS = 4


def _tensor(layer: nn.Module, name: str) -> torch.Tensor:
    t = layer._parameters.get(name)
    return layer._buffers[name] if t is None else t


def _layers(module: nn.Module) -> int:
    return sum(1 for m in module.modules() if next(m.children(), None) is None)


class OpGraphs:
    """Runs ``module(x)`` for a sampled-path forward, from a CUDA graph where that pays.

    Use it as the ``call`` of :meth:`~tndnas.spaces.darts.supernet.Supernet.forward_paths`, under
    ``torch.no_grad()``, and call :meth:`check` before each use.  ``warmup``: eager runs on a
    side stream before a capture (cuDNN picks its algorithms there, not inside the graph).
    """

    def __init__(self, *, emulate: bool = False, warmup: int = 2, min_layers: int = MIN_LAYERS):
        self.emulate = emulate
        self.warmup = warmup
        self.min_layers = min_layers
        self.captures = 0  # graphs captured so far (recaptures included)
        self._eligible: dict[int, bool] = {}
        # every module seen, kept alive so that no other module can take its id
        self._modules: dict[int, nn.Module] = {}
        self._replays: dict[tuple, Callable[[], torch.Tensor]] = {}
        self._buffers: dict[tuple, torch.Tensor] = {}
        # (layer, attribute name, storage address) of every parameter and buffer of a captured op
        self._watched: list[tuple[nn.Module, str, int]] = []
        self._watched_modules: set[int] = set()
        self._pool = None
        # one capture stream: the shared pool's blocks belong to a single stream
        self._side: torch.cuda.Stream | None = None

    def __len__(self) -> int:
        return len(self._replays)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Drop every graph and buffer (they are captured again on next use)."""
        self._replays.clear()
        self._buffers.clear()
        self._watched.clear()
        self._watched_modules.clear()
        self._eligible.clear()
        self._modules.clear()
        self._pool = None
        self._side = None

    def check(self) -> bool:
        """Drop every graph if a captured op's parameter or buffer has moved (or was replaced by a
        new tensor); True if they were dropped."""
        if any(_tensor(layer, name).data_ptr() != ptr for layer, name, ptr in self._watched):
            self.reset()
            return True
        return False

    # ------------------------------------------------------------------ running an op
    def __call__(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        eligible = self._eligible.get(id(module))
        if eligible is None:
            eligible = _layers(module) >= self.min_layers
            self._eligible[id(module)] = eligible
            self._modules[id(module)] = module
        if not eligible or torch.is_grad_enabled():
            return module(x)
        amp = torch.is_autocast_enabled(x.device.type)
        cast = torch.get_autocast_dtype(x.device.type) if amp else None
        key = (id(module), tuple(x.shape), x.dtype, x.stride(), x.device, cast)
        replay = self._replays.get(key)
        if replay is None:
            replay = self._replays[key] = self._capture(module, x, amp)
        else:
            self._buffer("in", x).copy_(x)
        return replay().clone()

    def _buffer(self, role: str, like: torch.Tensor) -> torch.Tensor:
        """The static buffer shared by every op whose input (or output) looks like ``like``."""
        key = (role, tuple(like.shape), like.dtype, like.stride(), like.device)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = torch.empty_like(like, memory_format=torch.preserve_format)
        return buf

    def _capture(self, module: nn.Module, x: torch.Tensor, amp: bool) -> Callable[[], torch.Tensor]:
        static_in = self._buffer("in", x)
        static_in.copy_(x)
        if id(module) not in self._watched_modules:
            self._watched_modules.add(id(module))
            for layer in module.modules():
                for name, t in chain(layer._parameters.items(), layer._buffers.items()):
                    if t is not None:
                        self._watched.append((layer, name, t.data_ptr()))
        self.captures += 1
        if self.emulate:
            static_out = self._buffer("out", module(static_in))

            def run_direct() -> torch.Tensor:
                static_out.copy_(module(static_in))
                return static_out

            return run_direct
        return self._capture_cuda(module, static_in, amp)

    def _capture_cuda(
        self, module: nn.Module, static_in: torch.Tensor, amp: bool
    ) -> Callable[[], torch.Tensor]:
        device = static_in.device
        dtype = torch.get_autocast_dtype("cuda")

        # autocast's cast cache would hand the graph a bf16 copy of the weights made outside it,
        # stale after the next SGD step: casts are captured instead (cache_enabled=False)
        def autocast():
            return torch.autocast("cuda", dtype=dtype, enabled=amp, cache_enabled=False)

        main = torch.cuda.current_stream(device)
        if self._side is None:
            self._side = torch.cuda.Stream(device)
        side = self._side
        side.wait_stream(main)
        with torch.cuda.stream(side), autocast():
            for _ in range(self.warmup):
                y = module(static_in)
        static_out = self._buffer("out", y)
        del y
        if self._pool is None:
            self._pool = (
                torch.cuda.graph_pool_handle()
            )  # every graph's intermediates share one pool
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(
            side
        ):  # capture on the side stream: torch.cuda.graph without its cache flush
            graph.capture_begin(self._pool)
            try:
                with autocast():
                    static_out.copy_(module(static_in))
            except BaseException:
                try:  # end the broken capture without hiding the error that broke it
                    graph.capture_end()
                except Exception:
                    pass
                raise
            graph.capture_end()
        main.wait_stream(side)

        def run_graph() -> torch.Tensor:
            graph.replay()
            return static_out

        return run_graph
