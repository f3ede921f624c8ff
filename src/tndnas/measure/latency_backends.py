"""Where a latency table's pieces and networks run when they are timed: a registry of backends.

A backend turns a module and an input batch into a function that runs one inference forward.
``torch``: eager PyTorch on the table's device.  ``onnxruntime``: the module exported to ONNX
(opset :data:`ONNX_OPSET`, the TorchScript-based exporter, as ``tndnas export``) and run by
ONNX Runtime on the CPU with its graph optimisations on (BatchNorm folded into convolutions,
element-wise ops fused) -- closer to a deployed model -- its idle threads sleeping rather than
spinning.  Register another with
:func:`register_latency_backend`.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import ConfigError
from ..registry import Registry

#: the ONNX opset of the networks tndnas exports
ONNX_OPSET = 17

#: ``(module in eval mode, input batch, CPU threads) -> run``, ``run()`` one inference forward
Runner = Callable[[nn.Module, torch.Tensor, int], Callable[[], Any]]


@dataclass(frozen=True)
class Backend:
    """``runner`` makes the function that runs a module once.  ``one_call``: a whole network
    runs as one call of the backend (a session), so the fixed cost of a call is paid once per
    network, not once per piece: each piece's latency is then measured less the latency of an
    empty call on its input, and the table adds one call per network."""

    runner: Runner
    one_call: bool = False


class UnknownBackendError(ConfigError, KeyError):
    """A latency backend name that is not registered."""


_BACKENDS: Registry[Backend] = Registry(
    "latency backend",
    "or register one with tndnas.objectives.register_latency_backend",
    error=UnknownBackendError,
)


def register_latency_backend(name: str, backend: Backend, *, overwrite: bool = False) -> None:
    """Make ``backend`` available as ``tndnas latency-table --backend NAME``."""
    _BACKENDS.register(name, backend, overwrite=overwrite)


def get_latency_backend(name: str) -> Backend:
    return _BACKENDS.get(name)


def latency_backend_names() -> list[str]:
    return _BACKENDS.names()


def _torch(module: nn.Module, x: torch.Tensor, threads: int) -> Callable[[], Any]:
    return lambda: module(x)


def onnx_bytes(module: nn.Module, x: torch.Tensor) -> bytes:
    """``module`` (on the CPU, in eval mode) exported to ONNX for inputs shaped like ``x``."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the tracer warns about shape-dependent branches, constant at a fixed input size
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(module.cpu(), (x.cpu(),), buf, dynamo=False, opset_version=ONNX_OPSET,
                          input_names=["x"])  # fmt: skip
    return buf.getvalue()


def _onnxruntime(module: nn.Module, x: torch.Tensor, threads: int) -> Callable[[], Any]:
    try:
        import onnx  # noqa: F401 - the exporter needs it
        import onnxruntime as ort
    except ImportError:
        raise ConfigError(
            "the onnxruntime latency backend needs the onnx and onnxruntime packages; "
            "pip install 'tndnas[export]', or use --backend torch."
        ) from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    # no busy-waiting between runs: networks timed whole are interleaved, and the idle threads
    # of the sessions just run would spin on the cores the next one needs
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx_bytes(module, x), opts, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.cpu().numpy()}
    return lambda: session.run(None, feed)


register_latency_backend("torch", Backend(_torch))
register_latency_backend("onnxruntime", Backend(_onnxruntime, one_call=True))
