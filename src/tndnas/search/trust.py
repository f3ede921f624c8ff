"""Can the supernet's scores be trusted?  A check at every stage's end that needs no results
table: the same random sub-networks scored on two disjoint halves of the architecture data, and
how far the two rankings agree (Kendall's tau); and the share of weight-free ops (none, skip,
pools) among the policy's argmax ops, the bias an undertrained supernet teaches the policy.

Two halves that rank the sub-networks alike show that the supernet tells them apart by more
than the noise of scoring on a few images; it is necessary for the search to find good cells,
not sufficient (a supernet can agree with itself and still prefer parameter-free cells)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import torch
from scipy.stats import kendalltau
from torch import nn

from ..ops import build_op
from .scoring import score_paths

#: random sub-networks scored on each half of the architecture images
TRUST_CELLS = 32


def noise_tau(n: int) -> float:
    """The Kendall tau that two unrelated rankings of ``n`` items exceed one time in 20
    (one-sided, normal approximation: sd = sqrt(2(2n + 5) / (9n(n - 1))))."""
    return 1.645 * math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))


def weight_free(name: str) -> bool:
    """True for an op with no weights at stride 1 (none, skip_connect, the pools, or a plug-in's
    op of that kind)."""
    return not any(p.numel() for p in build_op(name, 4, 1, True).parameters())


def weight_free_share(argmax: Mapping[str, torch.Tensor], candidates: Mapping) -> float:
    """The share of weight-free ops among the policy's argmax op of every edge of every cell
    type (``candidates[cell type][edge]``: the edge's op names)."""
    names = [candidates[ct][e][int(i)] for ct, idx in argmax.items() for e, i in enumerate(idx)]
    free = {n: weight_free(n) for n in set(names)}
    return sum(free[n] for n in names) / max(len(names), 1)


def candidates_weight_free_share(candidates: Mapping) -> float:
    """The share of weight-free ops among every edge's candidates: what a uniform policy's
    argmax would hold on average, the yardstick for :func:`weight_free_share`."""
    names = [n for edges in candidates.values() for ops in edges for n in ops]
    free = {n: weight_free(n) for n in set(names)}
    shares = [
        sum(free[n] for n in ops) / len(ops) for edges in candidates.values() for ops in edges
    ]
    return sum(shares) / max(len(shares), 1)


def random_paths(
    candidates: Mapping[str, Sequence[Sequence[str]]], n: int, gen: torch.Generator
) -> list[dict[str, list[int]]]:
    """``n`` sub-networks drawn uniformly: one candidate index per edge of every cell type."""
    return [
        {
            ct: [int(torch.randint(len(ops), (1,), generator=gen)) for ops in edges]
            for ct, edges in candidates.items()
        }
        for _ in range(n)
    ]


def _accuracies(supernet: nn.Module, batches: Iterable, paths: list, amp: bool) -> list[float]:
    correct, seen = torch.zeros(len(paths)), 0
    for x, y in batches:
        correct += score_paths(supernet, x, y, paths, amp).float().cpu() * len(y)
        seen += len(y)
    return (correct / max(seen, 1)).tolist()


def ranking_check(
    supernet: nn.Module,
    halves: tuple[Iterable, Iterable],
    candidates: Mapping[str, Sequence[Sequence[str]]],
    gen: torch.Generator,
    amp: bool = False,
    cells: int = TRUST_CELLS,
) -> dict:
    """Score ``cells`` random sub-networks (BatchNorm on batch statistics, as the search scores
    its samples) on each of two halves of the architecture images (``halves``: two iterables of
    batches) and return the Kendall tau of the two rankings beside the tau noise alone exceeds
    one time in 20 (:func:`noise_tau`), and the accuracies' spread (percentage points)."""
    paths = random_paths(candidates, cells, gen)
    a, b = (_accuracies(supernet, h, paths, amp) for h in halves)
    tau = kendalltau(a, b).statistic  # tau-b; nan when one half scores every cell alike
    both = a + b
    return {
        "ranking_tau": 0.0 if math.isnan(tau) else float(tau),
        "ranking_noise_tau": noise_tau(cells),
        "ranking_cells": cells,
        "ranking_spread_pct": 100.0 * (max(both) - min(both)),
    }


def stage_ranking(
    supernet: nn.Module,
    policy,
    halves: tuple[Iterable, Iterable],
    candidates: Mapping[str, Sequence[Sequence[str]]],
    gen: torch.Generator,
    amp: bool = False,
) -> dict:
    """A stage's whole check: :func:`ranking_check` on ``halves``, and the weight-free share of
    ``policy``'s argmax beside the candidates' (:func:`weight_free_share`,
    :func:`candidates_weight_free_share`)."""
    argmax = {ct: p.argmax(-1) for ct, p in policy.probs().items()}
    return {
        **ranking_check(supernet, halves, candidates, gen, amp),
        "weight_free_share": weight_free_share(argmax, candidates),
        "weight_free_candidates": candidates_weight_free_share(candidates),
    }


#: a policy whose argmax holds this much more weight-free ops than the candidates do is warned of
WEIGHT_FREE_EXCESS = 0.2


def untrusted_warning(stage: int, check: Mapping, images: int) -> str | None:
    """One sentence when stage ``stage``'s supernet cannot be trusted, naming the settings that
    give it more training; None otherwise.  Two signs: the two halves rank the sub-networks no
    better than noise, or the policy's argmax holds :data:`WEIGHT_FREE_EXCESS` more weight-free
    ops than the candidates do (an undertrained supernet scores the ops that need no training
    best; on the NAS-Bench-201 proxy the runs whose cells ranked near the table's median had 83 %
    against the candidates' 60 %, the good ones 17-50 %)."""
    fix = (
        "train the supernet longer before and while alpha learns (stages.N.pretrain_epochs, "
        "stages.N.epochs, weights.max_steps_per_epoch; weights.mode=sampled trains faster)"
    )
    if check["ranking_tau"] <= check["ranking_noise_tau"]:
        return (
            f"stage {stage}'s supernet scores are no better than noise: {check['ranking_cells']} "
            f"random sub-networks scored on two halves of the architecture data ({images} images "
            f"each) rank alike at Kendall tau {check['ranking_tau']:.2f} (noise alone reaches "
            f"{check['ranking_noise_tau']:.2f} one time in 20), so alpha followed noise or the "
            f"supernet's bias; {fix} or score on more images (policy.eval_images)."
        )
    free, base = check.get("weight_free_share"), check.get("weight_free_candidates")
    if free is not None and base is not None and free - base >= WEIGHT_FREE_EXCESS:
        return (
            f"stage {stage}'s policy prefers ops without weights: {100 * free:.0f} % of its most "
            f"likely ops against {100 * base:.0f} % of the candidates, the bias of a supernet "
            f"that has not trained its convolutions enough; {fix}."
        )
    return None
