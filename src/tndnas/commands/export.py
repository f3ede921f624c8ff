"""``tndnas export``: a trained evaluation network as ONNX or TorchScript, for inference.

The exported graph is the network in inference form: eval mode (BatchNorm running
statistics), drop-path off, the auxiliary head left out, one input ``images``
``(batch, C, H, W)`` (normalised as in training) and one output ``logits`` ``(batch, classes)``.
The batch axis is dynamic.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..macro import Macro
from ..measure.latency_backends import ONNX_OPSET

FORMATS = ("onnx", "torchscript")


class InferenceNetwork(nn.Module):
    """Wraps an final network (``SearchSpace.network``) so that ``forward`` returns the logits only.

    With ``normalization`` (the training mean/std), the input is a raw image scaled to [0, 1]
    and the network normalises it itself.
    """

    def __init__(self, network: nn.Module, normalization: dict | None = None):
        super().__init__()
        self.network = network
        network.drop_path_prob = 0.0
        self.raw_input = normalization is not None
        if self.raw_input:
            shape = (1, -1, 1, 1)
            self.register_buffer("mean", torch.tensor(normalization["mean"]).view(shape))
            self.register_buffer("std", torch.tensor(normalization["std"]).view(shape))
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.raw_input:
            x = (x - self.mean) / self.std
        return self.network(x)[0]


def example_input(macro: Macro, batch: int = 1) -> torch.Tensor:
    """A random input of the shape a network of ``macro`` takes."""
    return torch.randn(batch, macro.in_channels, macro.image_size, macro.image_size)


def export_network(
    network: nn.Module,
    macro: Macro,
    fmt: str,
    out: str | os.PathLike,
    batch: int = 1,
    normalization: dict | None = None,
) -> Path:
    """Write ``network`` (a final network of ``macro``: logits only, eval mode, CPU) as ``fmt``
    (onnx | torchscript) to ``out``.

    ``normalization`` given: the exported model takes images in [0, 1] and normalises them.

    ``batch`` is the batch size of the example input used to trace; the ONNX graph's batch
    axis is dynamic, a TorchScript trace accepts any batch size too.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; use one of: {', '.join(FORMATS)}")
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:
        from ..config import ConfigError

        raise ConfigError(
            "ONNX export needs the 'onnx' package, which is not installed; "
            "run pip install 'tndnas[export]' (or pip install onnx)."
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    module = InferenceNetwork(network.cpu(), normalization).eval()
    x = example_input(macro, batch)
    with warnings.catch_warnings():
        # the tracer warns about shape-dependent branches (odd spatial sizes), which are
        # constant for the fixed image size; and about its own deprecation
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        with torch.no_grad():
            if fmt == "onnx":
                torch.onnx.export(
                    module,
                    (x,),
                    str(out),
                    dynamo=False,  # the TorchScript-based exporter: needs no onnxscript
                    opset_version=ONNX_OPSET,
                    input_names=["images"],
                    output_names=["logits"],
                    dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                )
            else:
                traced = torch.jit.trace(module, x)
                traced.save(str(out))
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export trained weights as ONNX or TorchScript",
        description="Export the evaluation network of genotype G with trained weights for "
        "inference (logits only, no auxiliary head). G must be the genotype the weights were "
        "trained with.",
    )
    p.add_argument(
        "genotype",
        metavar="G",
        help="a genotype JSON file, a run directory or a bundled name (e.g. darts-v2)",
    )
    p.add_argument("--weights", required=True, metavar="W.pt",
                   help="weights_last.pt or weights_best.pt of a train run")  # fmt: skip
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="onnx")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.add_argument("--batch", type=int, default=1, metavar="N",
                   help="batch size of the tracing input (the ONNX batch axis is dynamic)")  # fmt: skip
    p.add_argument("--raw-input", action="store_true",
                   help="bake the training normalisation into the model: it takes images scaled to [0, 1]")  # fmt: skip
    p.set_defaults(run=run, reads_runs=("genotype", "weights"))  # their plug-ins are imported first


def run(args: argparse.Namespace) -> int:
    from ..config import ConfigError
    from ..spaces import load_genotype
    from ..train.weights import load_weights

    if not 1 <= args.batch <= 65536:
        raise ConfigError(f"--batch {args.batch} is invalid; use an integer from 1 to 65536")
    from ..runtime.records import check_writable

    check_writable(args.out, "--out")  # before building and tracing the network
    genotype = load_genotype(args.genotype)
    network, meta = load_weights(args.weights, genotype=genotype)
    norm = meta["normalization"]
    if args.raw_input and norm is None:
        raise ConfigError(
            f"{args.weights} records no normalisation statistics (an older weights file); "
            "export without --raw-input and normalise the inputs yourself."
        )
    m = meta["macro"]
    out = export_network(
        network, m, args.fmt, args.out, args.batch, norm if args.raw_input else None
    )
    if args.raw_input:
        how = "scaled to [0, 1]; the model normalises them"
    elif norm is not None:
        mean = ", ".join(f"{v:.4f}" for v in norm["mean"])
        std = ", ".join(f"{v:.4f}" for v in norm["std"])
        how = f"normalised as in training: (x - [{mean}]) / [{std}] on [0, 1] pixels"
    else:
        how = "normalised as in training"
    print(
        f"{args.fmt}: {out} (input images: (batch, {m.in_channels}, {m.image_size}, "
        f"{m.image_size}) {how}; output logits: (batch, {m.num_classes}))"
    )
    return 0
