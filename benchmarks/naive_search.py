"""The naive alpha update, kept only as the baseline that ``benchmarks.search_step`` times the
search's own update against: every sample scored by the whole mixed supernet with one-hot
weights (every candidate computed, ``none`` included), its parameters counted by building its
evaluation network."""

from __future__ import annotations

import torch

from tndnas.macro import Macro
from tndnas.measure.flops import count_parameters
from tndnas.objectives import RewardTerm
from tndnas.spaces.darts.genotype import CELL_TYPES
from tndnas.spaces.darts.network import EvalNetwork
from tndnas.spaces.darts.supernet import Supernet, path_genotype
from tndnas.strategy import PolicyStrategy


def naive_mixed_forward(
    net: Supernet, x: torch.Tensor, weights: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The naive scoring of a sample: every candidate of every edge computed, 'none' included,
    then weighted by the one-hot vector (zeros everywhere but the sampled op)."""
    s0 = s1 = net.stem(x)
    for cell in net.cells:
        w = weights["reduce" if cell.reduction else "normal"]
        states = [cell.preprocess0(s0), cell.preprocess1(s1)]
        e = 0
        for _ in range(cell.steps):
            total = 0
            for h in states:
                total = total + sum(w[e, k] * op(h) for k, op in enumerate(cell.edges[e].ops))
                e += 1
            states.append(total)
        s0, s1 = s1, torch.cat(states[2:], dim=1)
    return net.classifier(net.global_pooling(s1).flatten(1))


def naive_alpha_update(
    net: Supernet,
    strategy: PolicyStrategy,
    x: torch.Tensor,
    y: torch.Tensor,
    cand: dict[str, list[list[str]]],
    target: Macro,
    term: RewardTerm,
    samples: int,
    gen: torch.Generator,
    amp: bool,
) -> None:
    """One REINFORCE step (Eqs. 4-8) on ``samples`` architectures drawn from ``strategy``'s
    policy, each scored and costed the naive way; ``term``: the stage's first reward term, its
    factor taken of the params in millions."""
    g = strategy.policy.sample(samples, gen)
    accs, params = [], []
    with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        net.train()  # as the naive code did: train-mode BatchNorm
        for m in range(samples):
            onehot = {
                ct: torch.nn.functional.one_hot(g[ct][m], len(cand[ct][0])).float().to(x.device)
                for ct in CELL_TYPES
            }
            accs.append(float((naive_mixed_forward(net, x, onehot).argmax(1) == y).float().mean()))
            geno = path_genotype(cand, {ct: g[ct][m].tolist() for ct in CELL_TYPES})
            try:
                params.append(count_parameters(EvalNetwork(geno, target)))
            except Exception:  # a sample whose cells keep no live edge builds no network
                params.append(0)
    r = torch.tensor([a * term.factor(max(q, 1) / 1e6) for a, q in zip(accs, params)])
    strategy.reinforce.step(g, r)
