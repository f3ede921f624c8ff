"""Weight steps and alpha updates of a search in 1 and N processes under torchrun, in one run.

    python -m benchmarks.distributed_step [--preset quick] [--ranks 1,2] [--steps 20] [--updates 10]
                                          [--set KEY=VALUE ...] [--json OUT]

For each number of processes R the script starts ``torchrun --nproc_per_node R`` on itself; every
process builds the preset's first-stage supernet through the search's own code (``Search``:
DistributedDataParallel weights, the global batch shared out, the M samples of an alpha update
scored in shares and gathered) and times, after two warm-up steps, ``--steps`` weight steps and
``--updates`` alpha updates, every process in step.  Reported per R: images per second of the
weight step (the global batch over the median step time), the median wall time of an alpha
update, and both relative to R = 1.  On a CPU every process gets ``cores / R`` threads, so all
settings use the same cores: the figure says what the communication costs there, not what GPUs
would gain.  The device is the preset's (``--set device=cuda`` on a GPU machine: NCCL).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(args: argparse.Namespace) -> None:
    """One process of the torchrun group: time the steps, rank 0 writes the figures."""
    import torch

    from tndnas.config import load_search_config
    from tndnas.data import BatchIterator
    from tndnas.search.algorithm import Search
    from tndnas.search.weight_step import weight_step

    cfg = load_search_config(preset=args.preset, overrides=args.overrides)
    with tempfile.TemporaryDirectory() as tmp:
        run = Search(cfg, Path(tmp) / "run", progress=False, plots=False)
        world, device = run.world, run.device
        s = run._new_stage(0, run.initial_candidates)
        batches = BatchIterator(
            run.data.train_x, run.data.train_y, cfg.weights.batch_size, mean=run.data.mean,
            std=run.data.std, augment=run.augment, generator=s.gen_data, indices=run.weight_idx,
            memory_format=run.memory_format,
        )  # fmt: skip
        arch = BatchIterator(
            run.data.train_x, run.data.train_y, cfg.policy.arch_batch_size, mean=run.data.mean,
            std=run.data.std, augment=None, generator=s.gen_arch, indices=run.arch_idx,
            memory_format=run.memory_format,
        )  # fmt: skip

        def endless(it):  # noqa: ANN001, ANN202
            while True:
                yield from it

        data, arch_data = endless(batches), endless(arch)
        w = {ct: p.to(device) for ct, p in s.policy.probs().items()}

        def one_step() -> None:
            x, y = world.shard(*next(data))
            weight_step(s.trainer or s.supernet, s.optimizer, x, y, cfg.weights.grad_clip,
                        weights=w, params=s.params)  # fmt: skip

        def timed(fn, n: int) -> list[float]:  # noqa: ANN001
            out = []
            for _ in range(n):
                world.barrier("timing")
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t = time.perf_counter()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                world.barrier("timing")
                out.append(time.perf_counter() - t)
            return out

        timed(one_step, 2)  # warm-up
        steps = timed(one_step, args.steps)
        cands = run.initial_candidates
        updates = timed(lambda: run.alpha_update(0, 0, 0, s, arch_data, cands), args.updates)
        if world.main:
            step = statistics.median(steps)
            Path(args.worker_out).write_text(json.dumps({
                "processes": world.size, "backend": world.backend, "device": str(device),
                "threads_per_process": torch.get_num_threads(), "global_batch": cfg.weights.batch_size,
                "weight_step_ms": 1e3 * step, "images_per_s": cfg.weights.batch_size / step,
                "alpha_update_ms": 1e3 * statistics.median(updates), "samples": cfg.policy.samples,
            }))  # fmt: skip
        world.close()


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="quick")
    p.add_argument("--ranks", default="1,2", help="numbers of processes to compare (default 1,2)")
    p.add_argument("--steps", type=int, default=20, help="timed weight steps (default 20)")
    p.add_argument("--updates", type=int, default=10, help="timed alpha updates (default 10)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", default=None, help="write the figures to this JSON file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return {}
    cores = os.cpu_count() or 1
    rows = []
    for r in (int(v) for v in args.ranks.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "figures.json"
            env = {**os.environ, "OMP_NUM_THREADS": str(max(1, cores // r))}
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(r),
                   "--master_port", str(_port()), "-m", "benchmarks.distributed_step", "--worker",
                   "--worker-out", str(out), "--preset", args.preset, "--steps", str(args.steps),
                   "--updates", str(args.updates), *[a for o in args.overrides for a in ("--set", o)]]  # fmt: skip
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{r} processes failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(out.read_text()))
    base = rows[0]
    for row in rows:
        row["images_per_s_vs_first"] = row["images_per_s"] / base["images_per_s"]
        row["alpha_update_vs_first"] = row["alpha_update_ms"] / base["alpha_update_ms"]
        print(f"{row['processes']} process(es), {row['backend'] or 'no'} backend, "
              f"{row['threads_per_process']} thread(s) each on {row['device']}: weight step "
              f"{row['weight_step_ms']:.1f} ms = {row['images_per_s']:.0f} images/s "
              f"(x{row['images_per_s_vs_first']:.2f}), alpha update of {row['samples']} samples "
              f"{row['alpha_update_ms']:.1f} ms (x{row['alpha_update_vs_first']:.2f})")  # fmt: skip
    result = {"preset": args.preset, "overrides": args.overrides, "cores": cores, "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
