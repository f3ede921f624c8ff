"""Time one evaluation-training step (``tndnas train``) in NCHW and in channels-last, in one run.

    python -m benchmarks.train_step [--genotype darts-v2] [--channels 16] [--layers 8] [--batch 64]
                                    [--image-size 32] [--device cpu] [--repeats 5] [--json OUT]

Decides the ``channels_last`` default of the train presets: the forward, backward and SGD step
of the evaluation network of ``--genotype`` (auxiliary head on, drop-path 0.2) on random images.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from tndnas.macro import Macro
from tndnas.spaces.darts.genotype import load_genotype
from tndnas.spaces.darts.network import EvalNetwork
from tndnas.train.run import train_step


def time_step(args, channels_last: bool) -> float:
    device = torch.device(args.device)
    torch.manual_seed(0)
    macro = Macro(args.channels, args.layers, 10, 3, args.image_size)
    net = EvalNetwork(load_genotype(args.genotype), macro, auxiliary=True).to(device)
    net.drop_path_prob = 0.2
    x = torch.randn(args.batch, 3, args.image_size, args.image_size, device=device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,), device=device)
    opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    amp = device.type == "cuda"
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    for i in range(args.repeats + 1):  # the first is warm-up
        sync()
        t = time.perf_counter()
        train_step(net, opt, x, y, auxiliary_weight=0.4, grad_clip=5.0, amp=amp)
        sync()
        if i:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--genotype", default="darts-v2")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    res = {k: v for k, v in vars(args).items() if k != "json"}
    res["torch"] = torch.__version__
    res["nchw_step_s"] = time_step(args, channels_last=False)
    res["channels_last_step_s"] = time_step(args, channels_last=True)
    res["channels_last_speedup"] = res["nchw_step_s"] / res["channels_last_step_s"]
    print(f"evaluation training step, {args.genotype} at {args.channels} channels x {args.layers} cells, "
          f"batch {args.batch} of {args.image_size}x{args.image_size}, {args.device}:")  # fmt: skip
    print(f"  NCHW           {res['nchw_step_s'] * 1e3:8.1f} ms")
    print(f"  channels-last  {res['channels_last_step_s'] * 1e3:8.1f} ms")
    print(f"  channels_last_speedup {res['channels_last_speedup']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
