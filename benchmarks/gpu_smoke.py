"""Every CUDA-only code path once, small, each check reported on its own (pass, fail, or what it saw).

    python -m benchmarks.gpu_smoke [--device cuda] [--json OUT]

Checks, on the bundled ``digits`` data with a tiny search (about a minute on a GPU):

* ``search``: a whole three-stage search on the device (device generators, bf16 autocast,
  channels-last, on-device augmentation, checkpoints holding CUDA generator states);
* ``resume``: the same search interrupted after its first checkpoint and resumed; reports
  whether the genotype and metrics equal the uninterrupted run's (on CUDA, non-deterministic
  kernels may make them differ; that is reported, not failed);
* ``no_host_sync``: three mixed weight steps (batch fetch, augmentation, forward, backward, SGD)
  under ``torch.cuda.set_sync_debug_mode("error")``, which raises at any host-device
  synchronisation, then three sub-network scorings the same way;
* ``cuda_graphs``: sub-network scoring with the ops replayed from CUDA graphs
  (``policy.cuda_graphs``) against direct scoring: logits and accuracies before and after two
  SGD steps (a replay must read the updated weights), replays under the sync-debug mode, the
  time of both, and a tiny search with ``policy.cuda_graphs=true``;
* ``sampled_mode``: a search with ``weights.mode=sampled``;
* ``train`` and ``export``: ``tndnas train`` of the found genotype for two epochs on the device,
  then ``tndnas export`` to ONNX, compared against the PyTorch model with onnxruntime.

On the CPU (``--device cpu``) the same checks run, except ``no_host_sync`` and ``cuda_graphs``.
The JSON file is rewritten after every check, so a run stopped by a time limit keeps the checks
it finished.  The exit status is 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

# the tiny search of tests/tiny.py and tests/test_search.py (benchmarks do not import tests)
TINY = [
    "space.channels=4",
    "weights.batch_size=32",
    "weights.max_steps_per_epoch=4",
    "policy.samples=3",
    "policy.arch_batch_size=32",
    "policy.argmax_every=2",
    "policy.eval_images=64",
    "stages=[{layers: 3, epochs: 2, pretrain_epochs: 1, drop: {normal: 4, reduce: 2}, costs: [{cost: params, ref: 0.05, beta: -0.3}]},"
    " {layers: 3, epochs: 2, pretrain_epochs: 0, drop: {normal: 3, reduce: 2}, costs: [{cost: params, ref: 0.05, beta: -0.3}]}]",
]


def _records(run: Path) -> list[dict]:
    drop = ("seconds", "eval_seconds", "peak_memory_mb")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in drop} for x in lines]


def check_search(device: str, tmp: Path) -> dict:
    from tndnas.config import load_search_config
    from tndnas.search import search

    cfg = load_search_config(preset="quick", overrides=[*TINY, f"device={device}"])
    t = time.perf_counter()
    summary = search(cfg, tmp / "full", progress=False, plots=PLOTS)
    return {"seconds": time.perf_counter() - t, "params": summary["params"],
            "environment": summary["environment"]}  # fmt: skip


def check_resume(device: str, tmp: Path) -> dict:
    import tndnas.search.epoch as alg
    from tndnas.config import load_search_config
    from tndnas.search import search

    cfg = load_search_config(preset="quick", overrides=[*TINY, f"device={device}"])
    real, calls = alg.weight_step, {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 6:  # stage 0, second epoch: after the first checkpoint
            raise KeyboardInterrupt
        return real(*a, **k)

    alg.weight_step = dying
    try:
        search(cfg, tmp / "cut", progress=False, plots=False)
        raise AssertionError("the interrupted search did not stop")
    except KeyboardInterrupt:
        pass
    finally:
        alg.weight_step = real
    search(cfg, tmp / "cut", resume=True, progress=False, plots=False)
    same_genotype = (tmp / "cut" / "genotype.json").read_text() == (
        tmp / "full" / "genotype.json"
    ).read_text()
    return {"same_genotype": same_genotype,
            "same_metrics": _records(tmp / "cut") == _records(tmp / "full")}  # fmt: skip


def check_no_host_sync(device: str, tmp: Path) -> dict:
    from tndnas.data import AugmentConfig, BatchIterator
    from tndnas.macro import Macro
    from tndnas.op_sets import resolve_op_set
    from tndnas.search.scoring import score_paths
    from tndnas.search.weight_step import weight_step
    from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs
    from tndnas.spaces.darts.supernet import Supernet

    dev = torch.device(device)
    cand = {ct: [list(resolve_op_set(f"tnd-{ct}")) for _ in edge_pairs()] for ct in CELL_TYPES}
    net = Supernet(cand, Macro(8, 5, 10, 3, 32)).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    gen = torch.Generator(device=dev).manual_seed(0)
    x = torch.randint(0, 256, (256, 3, 32, 32), dtype=torch.uint8, device=dev, generator=gen)
    y = torch.randint(0, 10, (256,), device=dev, generator=gen)
    it = iter(BatchIterator(x, y, 64, mean=(0.5,) * 3, std=(0.25,) * 3, augment=AugmentConfig(4, True, 16),
                            generator=gen, memory_format=torch.channels_last))  # fmt: skip
    w = {ct: torch.softmax(torch.zeros(14, len(cand[ct][0]), device=dev), 1) for ct in CELL_TYPES}
    paths = [{ct: [m % len(cand[ct][0])] * 14 for ct in CELL_TYPES} for m in range(3)]
    loss_sum = torch.zeros((), device=dev)
    weight_step(net, opt, *next(it), 5.0, weights=w, amp=True)  # warm-up: lazy state, autotuning
    score_paths(net, *next(it), paths, amp=True)
    # built once per epoch in the search (moving mean/std to the device syncs once, by design)
    eval_batches = iter(BatchIterator(x, y, 64, mean=(0.5,) * 3, std=(0.25,) * 3, augment=None,
                                      generator=gen, shuffle=False, memory_format=torch.channels_last))  # fmt: skip
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            xb, yb = next(it)
            loss, _ = weight_step(net, opt, xb, yb, 5.0, weights=w, amp=True)
            loss_sum += loss
        xb, yb = next(eval_batches)
        accs = score_paths(net, xb, yb, paths, amp=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return {"loss": float(loss_sum) / 3, "scored": accs.tolist()}


def check_cuda_graphs(device: str, tmp: Path) -> dict:
    from tndnas.config import load_search_config
    from tndnas.macro import Macro
    from tndnas.op_sets import resolve_op_set
    from tndnas.search import search
    from tndnas.search.op_graphs import OpGraphs
    from tndnas.search.scoring import batch_statistics, score_paths
    from tndnas.search.weight_step import weight_step
    from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs
    from tndnas.spaces.darts.supernet import Supernet

    dev = torch.device(device)
    torch.manual_seed(0)
    cand = {ct: [list(resolve_op_set(f"tnd-{ct}")) for _ in edge_pairs()] for ct in CELL_TYPES}
    net = Supernet(cand, Macro(16, 5, 10, 3, 32)).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(64, 3, 32, 32, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (64,), device=dev)
    gen = torch.Generator().manual_seed(1)
    paths = [{ct: torch.randint(len(cand[ct][0]), (14,), generator=gen).tolist() for ct in CELL_TYPES}
             for _ in range(10)]  # fmt: skip
    graphs = OpGraphs()
    out: dict = {}

    def compare(tag: str) -> None:
        with torch.no_grad(), batch_statistics(net), torch.autocast("cuda", torch.bfloat16):
            plain = net.forward_paths(x, paths)
            graphs.check()
            replayed = net.forward_paths(x, paths, graphs)
        out[f"max_abs_diff_{tag}"] = max(
            float((a - b).abs().max()) for a, b in zip(plain, replayed)
        )
        same = torch.equal(
            score_paths(net, x, y, paths, True), score_paths(net, x, y, paths, True, graphs)
        )
        out[f"same_accuracies_{tag}"] = same
        if out[f"max_abs_diff_{tag}"] > 0.05 or not same:
            raise AssertionError(f"replayed scoring differs {tag}: {out}")

    compare("first")
    out["graphs"] = len(graphs)
    for p in paths[:2]:
        weight_step(net, opt, x, y, 5.0, path=p, amp=True)
    compare("after_sgd")
    out["recaptured"] = graphs.captures - out["graphs"]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        score_paths(net, x, y, paths, True, graphs)
    finally:
        torch.cuda.set_sync_debug_mode("default")

    def timed(g) -> float:
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(5):
            score_paths(net, x, y, paths, True, g)
        torch.cuda.synchronize()
        return (time.perf_counter() - t) / 5

    out["score_10_paths_s"], out["score_10_paths_graphs_s"] = timed(None), timed(graphs)
    out["speedup"] = out["score_10_paths_s"] / out["score_10_paths_graphs_s"]
    overrides = [*TINY, f"device={device}", "policy.cuda_graphs=true"]
    search(
        load_search_config(preset="quick", overrides=overrides),
        tmp / "graphs",
        progress=False,
        plots=False,
    )
    out["search_same_genotype"] = (tmp / "graphs" / "genotype.json").read_text() == (
        tmp / "full" / "genotype.json"
    ).read_text()
    return out


def check_sampled_mode(device: str, tmp: Path) -> dict:
    from tndnas.config import load_search_config
    from tndnas.search import search

    overrides = [*TINY, f"device={device}", "weights.mode=sampled"]
    summary = search(load_search_config(preset="quick", overrides=overrides), tmp / "sampled", progress=False, plots=False)  # fmt: skip
    return {"params": summary["params"]}


def _cli(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tndnas.cli", *args], capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(
            f"tndnas {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
        )


#: ``--train-steps N``: cap the training check's epochs at N steps (None: whole epochs)
TRAIN_STEPS: int | None = None
#: ``--no-plots``: the search check draws no plots
PLOTS = True


def check_train_export(device: str, tmp: Path) -> dict:
    train = tmp / "train"
    cap = [] if TRAIN_STEPS is None else ["--set", f"max_steps_per_epoch={TRAIN_STEPS}"]
    _cli("train", "--genotype", str(tmp / "full"), "--preset", "quick", "--epochs", "2",
         "--device", device, "--out", str(train), "--no-progress", *cap)  # fmt: skip
    summary = json.loads((train / "summary.json").read_text())
    onnx_file = tmp / "model.onnx"
    _cli(
        "export",
        str(tmp / "full"),
        "--weights",
        str(train / "weights_last.pt"),
        "--out",
        str(onnx_file),
    )
    import numpy as np
    import onnxruntime as ort

    from tndnas.spaces.darts.genotype import load_genotype
    from tndnas.train.weights import load_weights

    net, _ = load_weights(train / "weights_last.pt", load_genotype(str(tmp / "full")))
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        ref = net(x)
        ref = ref[0] if isinstance(ref, tuple) else ref
    got = ort.InferenceSession(str(onnx_file)).run(None, {"images": x.numpy()})[0]
    return {
        "test_error": summary.get("test_error"),
        "onnx_max_abs_diff": float(np.abs(got - ref.numpy()).max()),
    }


CHECKS = {
    "search": check_search,
    "resume": check_resume,
    "no_host_sync": check_no_host_sync,
    "cuda_graphs": check_cuda_graphs,
    "sampled_mode": check_sampled_mode,
    "train_export": check_train_export,
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cuda")
    p.add_argument("--json", default=None)
    p.add_argument("--train-steps", type=int, default=None, metavar="N",
                   help="cap the training check's epochs at N steps (default: whole epochs)")  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="the search check draws no plots")
    p.add_argument("--checks", default=None, metavar="NAMES",
                   help=f"comma-separated checks to run (default: all of {', '.join(CHECKS)})")  # fmt: skip
    args = p.parse_args(argv)
    global TRAIN_STEPS, PLOTS
    TRAIN_STEPS, PLOTS = args.train_steps, not args.no_plots
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        wanted = set(args.checks.split(",")) if args.checks else set(CHECKS)
        unknown = wanted - set(CHECKS)
        if unknown:
            p.error(f"unknown check {sorted(unknown)[0]}; the checks: {', '.join(CHECKS)}")
        for name, check in CHECKS.items():
            if name not in wanted:
                continue
            if name in ("no_host_sync", "cuda_graphs") and not args.device.startswith("cuda"):
                continue
            t = time.perf_counter()
            try:
                results[name] = {"ok": True, **check(args.device, Path(tmp))}
            except Exception as err:  # every check is reported, none stops the others
                results[name] = {"ok": False, "error": f"{type(err).__name__}: {err}",
                                 "traceback": traceback.format_exc()[-3000:]}  # fmt: skip
            results[name]["check_seconds"] = round(time.perf_counter() - t, 2)
            status = "ok" if results[name]["ok"] else f"FAILED: {results[name]['error']}"
            print(f"  {name:<14} {status}", flush=True)
            if args.json:  # after every check: a time limit keeps what is done
                Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
