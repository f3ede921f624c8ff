"""Time the search's inner loop against the naive method, in one run (ratios, not absolutes).

    python -m benchmarks.search_step --preset paper-c10 --stage 1 --batch 64 [--device cpu|cuda] [--json OUT]

Measured, on random images of the preset's dataset shape (no data files needed):

* weight step (SGD on the supernet, Eq. 3) in ``mixed`` (Eq. 1) and ``sampled`` mode: seconds and images/s;
* alpha update for M samples (Eqs. 4-8): ours (sampled-path scoring + cost-table lookups) against
  the naive method kept here only as a baseline (every sample scored by the whole mixed supernet with
  one-hot weights, its params counted by building its evaluation network);
* on CUDA, the alpha update again with the scored ops replayed from CUDA graphs
  (``policy.cuda_graphs``), and the one-time cost of capturing them;
* cost evaluation per sample: table lookup against building the evaluation network;
* peak memory of one mixed weight step, measured in a fresh process (RSS on CPU, max allocated on CUDA).
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from tndnas.config import COMPILE_MODES, load_search_config
from tndnas.macro import Macro
from tndnas.measure.flops import count_parameters
from tndnas.objectives import CostContext
from tndnas.op_sets import resolve_op_set
from tndnas.search.op_graphs import OpGraphs
from tndnas.search.scoring import score_paths
from tndnas.search.setup import resolve_refs, reward_costs
from tndnas.search.stages import candidates_left, reward_terms, space_ops
from tndnas.search.update import reinforce_update
from tndnas.search.weight_step import weight_step
from tndnas.spaces.darts.costs import CostTable
from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs
from tndnas.spaces.darts.network import EvalNetwork
from tndnas.spaces.darts.supernet import Supernet, path_genotype
from tndnas.strategy import CategoricalPolicy, PolicyStrategy

from .naive_search import naive_alpha_update

SHAPES = {"cifar10": (3, 32, 10), "cifar100": (3, 32, 100), "digits": (1, 8, 10)}


def stage_candidates(cfg, stage: int) -> dict[str, list[list[str]]]:
    """As many candidates per edge as ``stage`` (1-based) has, the costliest ones (worst case).

    The search keeps the likeliest ops, which depend on the run; parametric ops first, then
    skip_connect and none, gives an upper bound on time and memory.
    """
    out = {}
    left_at = candidates_left(cfg, stage - 1)
    for ct in CELL_TYPES:
        ops = list(resolve_op_set(getattr(cfg.space, f"{ct}_ops")))
        left = left_at[ct]
        ranked = [o for o in ops if o not in ("none", "skip_connect")] + [
            o for o in ("skip_connect", "none") if o in ops
        ]
        out[ct] = [ranked[:left] for _ in edge_pairs(cfg.space.steps)]
    return out


def timeit(
    fn: Callable[[], object], repeats: int, sync: Callable[[], None], warmup: int = 2
) -> float:
    for _ in range(warmup):  # lazy state, autotuning, compiling
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def follow_preset(args, cfg) -> None:
    """Flags left unset take the preset's values: the benchmark measures what a search runs."""
    for flag, value in (("channels_last", cfg.weights.channels_last),
                        ("checkpoint", cfg.weights.checkpoint), ("compile", cfg.weights.compile)):  # fmt: skip
        if getattr(args, flag) is None:
            setattr(args, flag, value)


def build(args):
    cfg = load_search_config(preset=args.preset)
    follow_preset(args, cfg)
    in_ch, size, classes = SHAPES[cfg.dataset.name]
    st = cfg.stages[args.stage - 1]
    cand = stage_candidates(cfg, args.stage)
    macro = Macro(cfg.space.channels, st.layers, classes, in_ch, size, steps=cfg.space.steps)
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = Supernet(cand, macro, st.skip_dropout, checkpoint=args.checkpoint).to(device)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    if args.compile:
        net.compile_ops(**({"mode": args.compile_mode} if args.compile_mode else {}))
    opt = torch.optim.SGD(
        net.parameters(), lr=0.01, momentum=0.9, weight_decay=cfg.weights.weight_decay
    )
    x = torch.randn(args.batch, in_ch, size, size, device=device)
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (args.batch,), device=device)
    target = Macro(
        cfg.target.channels, cfg.target.layers, classes, in_ch, size, steps=cfg.space.steps
    )
    return cfg, st, cand, net, opt, x, y, target, device


def why_failed(proc: subprocess.CompletedProcess) -> str:
    """A failed child's cause in one line: the signal that killed it (the kernel's out-of-memory
    killer sends SIGKILL, and the child prints nothing) or its last line of output."""
    rc = proc.returncode
    if rc < 0:
        name = signal.Signals(-rc).name
        hint = ": out of memory, most likely" if -rc == signal.SIGKILL else ""
        return f"the measuring process was killed by {name}{hint}"
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    return f"the measuring process exited with status {rc}: " + (
        lines[-1] if lines else "no output"
    )


def use_amp(args, cfg, device: torch.device) -> bool:
    """bf16 autocast as the search would use it: the preset's ``weights.amp`` on CUDA."""
    if args.amp is not None:
        return args.amp
    return cfg.weights.amp and device.type == "cuda"


def measure_memory(args) -> float:
    """Peak memory (MB) of mixed weight steps in this (fresh) process."""
    cfg, st, cand, net, opt, x, y, target, device = build(args)
    gen = torch.Generator().manual_seed(0)
    pol = CategoricalPolicy({ct: len(cand[ct][0]) for ct in CELL_TYPES}, len(edge_pairs()), gen)
    w = {ct: p.to(device) for ct, p in pol.probs().items()}
    for _ in range(2):
        weight_step(net, opt, x, y, 5.0, weights=w, amp=use_amp(args, cfg, device))
    if device.type == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--preset", default="paper-c10")
    p.add_argument("--stage", type=int, default=1, help="1-based stage of the preset")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--samples", type=int, default=None, help="M (default: the preset's policy.samples)"
    )
    p.add_argument(
        "--memory-stage",
        type=int,
        default=3,
        help="stage whose mixed step's peak memory is measured (0: skip)",
    )
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels-last memory format for the supernet and its input; default: the preset's",
    )
    p.add_argument(
        "--checkpoint",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="activation checkpointing of the mixed step (weights.checkpoint); default: the preset's",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch.compile every op (weights.compile); default: the preset's",
    )
    p.add_argument("--compile-mode", default=None, choices=[m for m in COMPILE_MODES if m != "default"],
                   help="torch.compile mode (weights.compile_mode)")  # fmt: skip
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: the preset's weights.amp on CUDA, off on the CPU)",
    )
    p.add_argument("--json", default=None, help="write the figures to this JSON file")
    p.add_argument("--only-memory", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.only_memory:
        print(json.dumps({"peak_memory_mb": measure_memory(args)}))
        return {}

    cfg, st, cand, net, opt, x, y, target, device = build(args)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    M = args.samples or cfg.policy.samples
    amp = use_amp(args, cfg, device)
    gen = torch.Generator().manual_seed(0)
    table = CostTable(target)
    ctx = CostContext(table, target)
    costs = reward_costs(cfg)
    cfg, _ = resolve_refs(
        cfg, space_ops(cfg), target, costs, ctx
    )  # `ref: auto`, as the search does
    terms = reward_terms(cfg, args.stage - 1)
    # the search's own strategy, with the preset's policy settings
    strategy = PolicyStrategy(
        {ct: len(cand[ct][0]) for ct in CELL_TYPES}, len(edge_pairs()), cfg.policy, terms,
        init=torch.Generator().manual_seed(1), generator=gen, samples=M,
        updates=1000,  # sets the rate under `lr: auto`; a rate does not change an update's time
    )  # fmt: skip
    pol = strategy.policy
    w = {ct: pr.to(device) for ct, pr in pol.probs().items()}
    res: dict = {
        "preset": args.preset,
        "stage": args.stage,
        "layers": st.layers,
        "channels": cfg.space.channels,
        "batch": args.batch,
        "samples": M,
        "candidates": {ct: len(cand[ct][0]) for ct in CELL_TYPES},
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "channels_last": args.channels_last,
        "checkpoint": args.checkpoint,
        "compile": args.compile_mode or args.compile,
        "amp": amp,
    }

    # weight steps
    res["mixed_step_s"] = timeit(
        lambda: weight_step(net, opt, x, y, 5.0, weights=w, amp=amp), args.repeats, sync
    )

    def sampled_step():
        g = pol.sample(1, gen)
        path = {ct: g[ct][0].tolist() for ct in CELL_TYPES}
        weight_step(net, opt, x, y, 5.0, path=path, amp=amp)

    res["sampled_step_s"] = timeit(sampled_step, args.repeats * 3, sync)
    res["mixed_images_per_s"] = args.batch / res["mixed_step_s"]
    res["sampled_images_per_s"] = args.batch / res["sampled_step_s"]

    # alpha update: ours
    to_genotype = functools.partial(path_genotype, cand, steps=net.steps)

    def ours():
        reinforce_update(net, strategy, x, y, cand, costs, ctx, amp=amp, to_genotype=to_genotype)

    res["alpha_update_s"] = timeit(ours, args.repeats, sync)

    # alpha update with the scored ops replayed from CUDA graphs (policy.cuda_graphs)
    if device.type == "cuda":
        graphs = OpGraphs()
        K = {ct: len(cand[ct][0]) for ct in CELL_TYPES}
        E = len(edge_pairs())
        every_op = [{ct: [k % K[ct]] * E for ct in CELL_TYPES} for k in range(max(K.values()))]
        sync()
        t = time.perf_counter()
        score_paths(net, x, y, every_op, amp, graphs)  # captures every op once
        sync()
        res["graphs_capture_s"], res["graphs"] = time.perf_counter() - t, len(graphs)

        def ours_graphs():
            reinforce_update(
                net,
                strategy,
                x,
                y,
                cand,
                costs,
                ctx,
                amp=amp,
                graphs=graphs,
                to_genotype=to_genotype,
            )

        res["alpha_update_graphs_s"] = timeit(ours_graphs, args.repeats, sync)
        res["cuda_graphs_speedup"] = res["alpha_update_s"] / res["alpha_update_graphs_s"]

    # alpha update: naive (the whole mixed supernet per sample with one-hot weights; params by building the network)
    naive = functools.partial(
        naive_alpha_update, net, strategy, x, y, cand, target, terms[0], M, gen, amp
    )
    res["alpha_update_naive_s"] = timeit(naive, 1, sync, warmup=1)
    res["alpha_update_speedup"] = res["alpha_update_naive_s"] / res["alpha_update_s"]

    # cost evaluation per sample
    paths = []
    g = pol.sample(20, gen)
    paths = [path_genotype(cand, {ct: g[ct][m].tolist() for ct in CELL_TYPES}) for m in range(20)]
    paths = [q for q in paths if all(q.live(ct)[1] for ct in CELL_TYPES)]
    for q in paths:
        table.cost(q)  # fill the lazy table
    t = time.perf_counter()
    for _ in range(50):
        for q in paths:
            table.cost(q)
    res["cost_lookup_s"] = (time.perf_counter() - t) / (50 * len(paths))
    t = time.perf_counter()
    for q in paths[:3]:
        count_parameters(EvalNetwork(q, target))
    res["cost_build_s"] = (time.perf_counter() - t) / 3
    res["cost_lookup_speedup"] = res["cost_build_s"] / res["cost_lookup_s"]
    res["sampled_weight_step_speedup"] = res["mixed_step_s"] / res["sampled_step_s"]

    # peak memory of the mixed step, in a fresh process
    if args.memory_stage:
        cmd = [sys.executable, "-m", "benchmarks.search_step", "--only-memory", "--preset", args.preset,
               "--stage", str(args.memory_stage), "--batch", str(args.batch), "--device", args.device]  # fmt: skip
        for flag in ("channels_last", "checkpoint", "compile"):  # as resolved above
            cmd.append(f"--{'' if getattr(args, flag) else 'no-'}{flag.replace('_', '-')}")
        if args.compile_mode:
            cmd += ["--compile-mode", args.compile_mode]
        cmd.append("--amp" if amp else "--no-amp")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            res["mixed_step_peak_memory_mb"] = json.loads(proc.stdout.strip().splitlines()[-1])[
                "peak_memory_mb"
            ]
        else:  # keep the timings; say why the memory figure is missing
            res["mixed_step_peak_memory_error"] = why = why_failed(proc)
            print(f"peak-memory measurement failed: {why}", file=sys.stderr)
        res["memory_stage"] = args.memory_stage
        res["memory_kind"] = (
            "max allocated (CUDA)" if device.type == "cuda" else "peak RSS of the process"
        )

    print(f"search step benchmark: {args.preset} stage {args.stage} ({st.layers} layers, {cfg.space.channels} channels, "
          f"candidates {res['candidates']}), batch {args.batch}, M={M}, {device}, {res['threads']} threads")  # fmt: skip
    rows = [
        (
            "weight step, mixed (Eq. 1)",
            f"{res['mixed_step_s']:.3f} s",
            f"{res['mixed_images_per_s']:.0f} img/s",
        ),
        (
            "weight step, sampled path",
            f"{res['sampled_step_s']:.3f} s",
            f"{res['sampled_images_per_s']:.0f} img/s",
        ),
        ("alpha update (ours)", f"{res['alpha_update_s']:.3f} s", ""),
        ("alpha update (naive)", f"{res['alpha_update_naive_s']:.3f} s", ""),
    ]
    if "alpha_update_graphs_s" in res:
        rows.append(("alpha update (ours, CUDA graphs)", f"{res['alpha_update_graphs_s']:.3f} s",
                     f"{res['graphs']} graphs captured in {res['graphs_capture_s']:.1f} s"))  # fmt: skip
    rows += [
        ("cost per sample (table)", f"{res['cost_lookup_s'] * 1e6:.1f} us", ""),
        ("cost per sample (build network)", f"{res['cost_build_s'] * 1e3:.1f} ms", ""),
    ]
    if "mixed_step_peak_memory_mb" in res:
        rows.append(
            (
                f"peak memory, mixed step, stage {args.memory_stage}",
                f"{res['mixed_step_peak_memory_mb']:.0f} MB",
                res["memory_kind"],
            )
        )
    for name, a, b in rows:
        print(f"  {name:<38} {a:>12}  {b}")
    print(f"  alpha_update_speedup        {res['alpha_update_speedup']:8.1f}x  (target >= 10)")
    if "cuda_graphs_speedup" in res:
        print(
            f"  cuda_graphs_speedup         {res['cuda_graphs_speedup']:8.2f}x  (alpha update without / with graphs)"
        )
    print(f"  cost_lookup_speedup         {res['cost_lookup_speedup']:8.0f}x  (target >= 1000)")
    print(
        f"  sampled_weight_step_speedup {res['sampled_weight_step_speedup']:8.1f}x  (target >= 4)"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
