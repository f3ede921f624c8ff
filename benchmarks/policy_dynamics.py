"""Does a preset's alpha learn?  Its policy and reward code, driven by rewards with a known answer.

    python -m benchmarks.policy_dynamics --preset NAME [--json OUT] [--seeds 10] [--jobs 2]
                                         [--set KEY=VALUE ...] [--train-images N]

For every stage of the preset this builds the search's own policy (softmax(alpha) per edge,
initialised as the search does) and its own REINFORCE (the preset's M, learning rate, Adam betas,
weight decay and its mode, baseline, clip, advantage normalisation), and gives it as many alpha
updates as the stage gets in a real search (epochs after the weight-only ones, times the weight
steps per epoch that the dataset, the batch size and ``max_steps_per_epoch`` give, over
``rl_interval``).  The supernet is replaced by a known answer: every edge has one best op, drawn
at random, and a sampled architecture's accuracy is ``0.5 + s * (share of its edges, over both
cell types, on their best op)``, observed as the fraction correct of ``arch_batch_size`` images
(binomial noise).  The reward is the preset's own scalarisation (Eqs. 9, 10) with every cost at
its reference P, so that the accuracy alone decides.

Reported per stage, as means over the seeds: for signal strengths s = 0.05, 0.1 and 0.3, the
probability the final policy gives the best op (``p_best``, mean over edges) and the share of
edges whose most likely op is the best one (``correct_argmax_share``); and for pure noise
(s = 0), the final mean entropy per edge as a share of its maximum (``noise_entropy_ratio``):
1 means alpha stayed put, as it should when there is nothing to learn.

``--shared-noise SD`` adds what the model above leaves out: in a real update the M samples are
scored on the same batch by the same weights, so part of their noise is common to all of them
(an easy batch, weights that improved since the last update).  Each update draws one shift of
standard deviation SD and adds it to every sample's accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from tndnas.config import ConfigError, load_search_config
from tndnas.objectives import scalarize
from tndnas.search.diagnostics import max_entropy
from tndnas.search.stages import alpha_updates, candidates_left, reward_terms, stage_seed
from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs
from tndnas.strategy.policy import CategoricalPolicy
from tndnas.strategy.reinforce import Reinforce

STRENGTHS = (0.05, 0.1, 0.3)

#: Training-set sizes of datasets whose files may be absent here (the rest are loaded).
KNOWN_TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000}


def train_images(name: str) -> int:
    """Training images of dataset ``name`` (loaded when its size is not known)."""
    if name in KNOWN_TRAIN_IMAGES:
        return KNOWN_TRAIN_IMAGES[name]
    from tndnas.data import load_dataset

    return len(load_dataset(name).train_y)


def simulate(
    cfg, stage: int, updates: int, strength: float, seed: int, shared_noise: float = 0.0
) -> dict:
    """One stage of alpha updates on the known-answer reward; the final policy's figures.

    ``shared_noise``: the standard deviation of a shift of every sample's accuracy in an update,
    drawn anew per update: the M samples of a real update share one batch of images (an easy
    batch lifts them all) and weights that keep improving between updates.
    """
    counts = candidates_left(cfg, stage)
    edges = len(edge_pairs(cfg.space.steps))
    init = torch.Generator().manual_seed(stage_seed(seed, stage, 4))  # as the search's policy
    policy = CategoricalPolicy(counts, edges, init)
    reinforce = Reinforce.from_config(policy, cfg.policy, updates)  # lr: auto needs the count
    stream = 5 + STRENGTHS.index(strength) + 1 if strength else 5  # one stream per strength
    gen = torch.Generator().manual_seed(stage_seed(seed, stage, stream))
    best = {ct: torch.randint(0, counts[ct], (edges,), generator=gen) for ct in CELL_TYPES}
    # every cost at its P, so every cost factor is 1 and the accuracy alone decides (whatever P
    # is: a `ref: auto` is taken as 1)
    terms = [
        dataclasses.replace(t, ref=1.0) if t.ref == "auto" else t for t in reward_terms(cfg, stage)
    ]
    at_ref = {t.cost: t.ref for t in terms}
    images = float(cfg.policy.arch_batch_size)
    m = cfg.policy.samples
    for _ in range(updates):
        g = policy.sample(m, gen)
        on_best = sum((g[ct] == best[ct]).float().sum(1) for ct in CELL_TYPES) / (2 * edges)
        p = 0.5 + strength * on_best
        if shared_noise:
            p = (p + shared_noise * torch.randn((), generator=gen)).clamp(0.0, 1.0)
        acc = torch.binomial(torch.full((m,), images), p, generator=gen)
        acc = acc / images
        rewards = torch.tensor([scalarize(float(a), at_ref, terms) for a in acc])
        reinforce.step(g, rewards)
    probs = policy.probs()
    p_best = torch.cat([probs[ct].gather(1, best[ct][:, None])[:, 0] for ct in CELL_TYPES])
    correct = torch.cat([probs[ct].argmax(1) == best[ct] for ct in CELL_TYPES]).float()
    return {
        "p_best": float(p_best.mean()),
        "correct_argmax_share": float(correct.mean()),
        "entropy_ratio": float(policy.entropy()) / max_entropy(policy.alpha),
    }


def _job(args: tuple) -> dict:
    preset, overrides, stage, updates, strength, seed, shared = args
    cfg = load_search_config(preset=preset, overrides=overrides)
    return simulate(cfg, stage, updates, strength, seed, shared)


def run(
    preset: str,
    overrides: list[str],
    seeds: int,
    jobs: int,
    n_train: int | None,
    shared_noise: float = 0.0,
) -> dict:
    cfg = load_search_config(preset=preset, overrides=overrides)
    n_train = n_train or train_images(cfg.dataset.name)
    plan = [(k, alpha_updates(cfg, k, n_train)) for k in range(len(cfg.stages))]
    tasks = [
        (preset, overrides, k, u, s, seed, shared_noise)
        for k, u in plan
        for s in (0.0, *STRENGTHS)
        for seed in range(seeds)
    ]
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=torch.set_num_threads, initargs=(1,)) as pool:
            results = list(pool.map(_job, tasks))
    else:
        results = [_job(t) for t in tasks]
    by_task = {(k, s, seed): res for (_, _, k, _, s, seed, _), res in zip(tasks, results)}

    def mean(k: int, s: float, key: str) -> float:
        return statistics.fmean(by_task[(k, s, seed)][key] for seed in range(seeds))

    stages = []
    for k, u in plan:
        stages.append(
            {
                "candidates": candidates_left(cfg, k),
                "updates": u,
                "p_best": {str(s): mean(k, s, "p_best") for s in STRENGTHS},
                "correct_argmax_share": {
                    str(s): mean(k, s, "correct_argmax_share") for s in STRENGTHS
                },
                "noise_entropy_ratio": mean(k, 0.0, "entropy_ratio"),
            }
        )
    return {"preset": preset, "stages": stages}


def describe(cfg) -> str:
    p = cfg.policy
    return (
        f"M={p.samples}, lr={p.lr}, betas={list(p.betas)}, weight_decay={p.weight_decay} "
        f"({p.weight_decay_mode}), baseline={p.baseline} (decay {p.baseline_decay}), "
        f"clip={p.grad_clip}, normalize_advantage={p.normalize_advantage}, "
        f"arch_batch_size={p.arch_batch_size}"
    )


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--preset", default="paper-c10")
    ap.add_argument("--json", default=None, help="write the figures to this JSON file")
    ap.add_argument("--seeds", type=int, default=10, help="seeds per stage and strength")
    ap.add_argument("--jobs", type=int, default=2, help="processes (one thread each)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config overrides, as tndnas search --set")  # fmt: skip
    ap.add_argument("--train-images", type=int, default=None,
                    help="training-set size (default: the preset's dataset's)")  # fmt: skip
    ap.add_argument("--shared-noise", type=float, default=0.0, metavar="SD",
                    help="add to every sample of an update the same accuracy shift, drawn per "
                         "update with this standard deviation (a shared batch; default 0)")  # fmt: skip
    args = ap.parse_args(argv)
    try:
        cfg = load_search_config(preset=args.preset, overrides=args.set)
        t = time.perf_counter()
        res = run(
            args.preset, args.set, args.seeds, args.jobs, args.train_images, args.shared_noise
        )
    except ConfigError as err:
        sys.exit(f"error: {err}")
    shared = f", shared noise {args.shared_noise}" if args.shared_noise else ""
    print(
        f"{args.preset}: {describe(cfg)}; {args.seeds} seeds{shared}, {time.perf_counter() - t:.0f} s"
    )
    print("stage  candidates  updates   correct argmax (s=0.05/0.1/0.3)   p(best)              noise entropy")  # fmt: skip
    for k, st in enumerate(res["stages"]):
        c = st["candidates"]
        corr = " / ".join(f"{st['correct_argmax_share'][str(s)]:.2f}" for s in STRENGTHS)
        pb = " / ".join(f"{st['p_best'][str(s)]:.2f}" for s in STRENGTHS)
        print(f"{k + 1:>5}  {c['normal']:>4} / {c['reduce']:<4} {st['updates']:>7}   "
              f"{corr:<32}  {pb:<20} {st['noise_entropy_ratio']:.3f}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
    return res


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
