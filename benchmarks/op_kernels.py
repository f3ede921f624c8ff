"""Time this project's CPU kernels against torch's own, in one run (ratios).

    python -m benchmarks.op_kernels [--batch 64] [--shapes 8x32,16x16,32x8,16x32,64x8]
                                    [--threads 2] [--repeats 200] [--steps 100] [--json OUT]

Per layer: for each shape (channels x image side) and memory format (channels-last, the
search's default, and contiguous), the milliseconds of :mod:`tndnas.kernels`' ``AvgPool3x3``
(a depthwise convolution of ones over the window counts) against
``nn.AvgPool2d(3, 1, 1, count_include_pad=False)``, and of its ``BatchNorm2d`` on batch
statistics against torch's, forward alone and forward with backward (a weight step's), and the
ratio torch / ours.  The shapes default to what the CPU proxy of NAS-Bench-201 (8 channels:
8x32, 16x16, 32x8) and its full protocol (16 channels) meet.

Whole steps (``--steps``, 0 to skip): the ``nb201-c10-cpu`` supernet's sampled-path weight
step and the scoring of 10 sampled paths on a batch (an alpha update's work), with this
project's kernels and inside ``reference_kernels()`` (torch's), in alternating rounds on the
same random paths.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
from torch import nn

from tndnas.kernels import AvgPool3x3, BatchNorm2d, reference_kernels


def _ms(fn: Callable[[], object], repeats: int) -> float:
    for _ in range(max(3, repeats // 20)):  # warm-up
        fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return 1e3 * (time.perf_counter() - t) / repeats


def measure(batch: int, channels: int, side: int, channels_last: bool, repeats: int) -> dict:
    """Forward and forward+backward milliseconds of the two pools on one input shape."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(batch, channels, side, side).contiguous(memory_format=fmt).requires_grad_()
    g = torch.randn(batch, channels, side, side).contiguous(memory_format=fmt)
    row: dict = {"channels": channels, "side": side, "channels_last": channels_last}
    layers = {"pool": (nn.AvgPool2d(3, 1, 1, count_include_pad=False), AvgPool3x3(1)),
              "bn": (nn.BatchNorm2d(channels), BatchNorm2d(channels))}  # fmt: skip
    for layer, (torchs, ours) in layers.items():
        for name, m in (("torch", torchs), ("ours", ours)):
            with torch.no_grad():
                row[f"{layer}_{name}_forward_ms"] = _ms(lambda m=m: m(x), repeats)
            row[f"{layer}_{name}_train_ms"] = _ms(lambda m=m: m(x).backward(g), repeats)
        for kind in ("forward", "train"):
            row[f"{layer}_{kind}_ratio"] = (
                row[f"{layer}_torch_{kind}_ms"] / row[f"{layer}_ours_{kind}_ms"]
            )
    return row


def whole_steps(steps: int, batch: int) -> dict:
    """The proxy's sampled weight step and a 10-path scoring, ours against torch's kernels."""
    import random

    from tndnas.config import load_search_config
    from tndnas.macro import Macro
    from tndnas.search.scoring import score_paths
    from tndnas.search.weight_step import weight_step
    from tndnas.spaces.nb201 import NB201_OPS
    from tndnas.spaces.nb201.network import Nb201Supernet

    cfg = load_search_config(preset="nb201-c10-cpu")
    st = cfg.stages[0]
    macro = Macro(
        channels=cfg.space.channels, layers=st.layers, num_classes=10, in_channels=3, image_size=32
    )
    net = Nb201Supernet({"normal": [list(NB201_OPS)] * 6}, macro).to(
        memory_format=torch.channels_last
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = random.Random(0)
    paths = [{"normal": [rng.randrange(len(NB201_OPS)) for _ in range(6)]} for _ in range(steps)]
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    params = list(net.parameters())

    def train():
        for p in paths:
            weight_step(net, opt, x, y, 5.0, path=p, params=params)

    def score():
        for i in range(0, len(paths) - 9, 10):
            score_paths(net, x, y, paths[i : i + 10])

    out = {}
    for what, fn in (("weight_step", train), ("scoring_10_paths", score)):
        times = {"ours": [], "torch": []}
        fn()  # warm-up
        for _ in range(3):  # alternating rounds: the machine's drift hits both
            for name in ("ours", "torch"):
                t = time.perf_counter()
                if name == "torch":
                    with reference_kernels():
                        fn()
                else:
                    fn()
                times[name].append(time.perf_counter() - t)
        per = steps if what == "weight_step" else steps // 10
        out[what] = {n: 1e3 * min(v) / per for n, v in times.items()}
        out[what]["ratio"] = out[what]["torch"] / out[what]["ours"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--shapes", default="8x32,16x16,32x8,16x32,64x8")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--steps", type=int, default=100, help="whole weight steps per round (0: none)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    print(f"batch {args.batch}, {args.threads} threads: ms torch / ms ours (ratio)")
    for shape in args.shapes.split(","):
        channels, side = (int(v) for v in shape.split("x"))
        for channels_last in (True, False):
            r = measure(args.batch, channels, side, channels_last, args.repeats)
            rows.append(r)
            for layer in ("pool", "bn"):
                print(f"  {layer:>4} {channels:>4} ch {side:>3} px {'channels-last' if channels_last else 'contiguous':>13}: "
                      f"forward {r[f'{layer}_torch_forward_ms']:.3f} / {r[f'{layer}_ours_forward_ms']:.3f} ({r[f'{layer}_forward_ratio']:.2f}x), "
                      f"forward+backward {r[f'{layer}_torch_train_ms']:.3f} / {r[f'{layer}_ours_train_ms']:.3f} ({r[f'{layer}_train_ratio']:.2f}x)")  # fmt: skip
    steps = whole_steps(args.steps, args.batch) if args.steps else {}
    for what, r in steps.items():
        print(f"  nb201-c10-cpu {what}: {r['torch']:.2f} / {r['ours']:.2f} ms ({r['ratio']:.2f}x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"batch": args.batch, "threads": args.threads, "rows": rows, "steps": steps},
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
