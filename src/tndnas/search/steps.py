"""The two things a search does with alpha inside a stage: the REINFORCE update of Eqs. (4)-(8)
with its log record, and the per-epoch accuracies on the architecture half."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

import torch

from ..config import SearchConfig
from ..objectives import CostContext
from ..runtime.distributed import World
from .diagnostics import max_entropy
from .scoring import batch_statistics, score_paths
from .stages import search_space
from .state import StageState
from .update import reinforce_update

__all__ = ["alpha_step", "evaluate_stage"]


def alpha_step(
    cfg: SearchConfig,
    k: int,
    s: StageState,
    x: torch.Tensor,
    y: torch.Tensor,
    candidates: dict[str, list[list[str]]],
    costs: Mapping,
    cost_ctx: CostContext,
    amp: bool,
    world: World | None = None,
) -> dict:
    """One alpha update of stage ``k`` on the architecture batch ``(x, y)``: sample M
    architectures, score them (Eqs. 9, 10), step alpha (Eqs. 4-8); returns the update's
    metrics record (rewards, baseline, accuracies, mean costs, entropy, and every
    ``policy.argmax_every`` updates the argmax architecture's accuracy, the paper's Fig. 4).
    ``world``: several processes score a share of the M samples each (every one then takes the
    same step on alpha)."""
    world = world or World()
    res = reinforce_update(
        s.supernet, s.strategy, x, y, candidates, costs, cost_ctx,
        use_accuracy=cfg.reward.accuracy, amp=amp, graphs=s.graphs,
        to_genotype=functools.partial(search_space(cfg).path_genotype, candidates, space_cfg=cfg.space),
        share=functools.partial(world.split_scores, what="scoring the sampled architectures"),
    )  # fmt: skip
    accs, r = res.accuracies, res.rewards
    s.updates += 1
    entropies = [float(p.entropy()) for p in s.policies]
    rec = {
        "update": s.updates,
        "reward_mean": float(r.mean()),
        "reward_max": float(r.max()),
        "baseline": res.baseline,
        "acc_max": None if accs is None else float(accs.max()),
        "acc_mean": None if accs is None else float(accs.mean()),
        "entropy": _mean(entropies),
        "entropy_max": max_entropy(s.policies[0].alpha),  # every member has the same shape
        # every cost of the run (reward.log_costs and the reward's): mean over the samples
        "costs_mean": {n: sum(v) / len(v) if v else None for n, v in res.costs.items()},
    }
    if len(s.policies) > 1:  # a family: each member's figures too
        rec["entropies"] = entropies
    if s.updates % cfg.policy.argmax_every == 0:  # the paper's Fig. 4
        accs = score_paths(s.supernet, x, y, _argmaxes(s), amp, s.graphs).tolist()
        rec["argmax_acc"] = _mean(accs)
        if len(accs) > 1:
            rec["argmax_accs"] = accs
    return rec


def _argmaxes(s: StageState) -> list[dict[str, list[int]]]:
    """Each policy's argmax architecture."""
    return [{ct: v.tolist() for ct, v in p.argmax().items()} for p in s.policies]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


@torch.no_grad()
def evaluate_stage(
    s: StageState, batches: Iterable, device: torch.device, amp: bool
) -> tuple[float, list[float]]:
    """Accuracy over ``batches`` of the mixed supernet (softmax(alpha) weights; a family's
    mixture) and of each policy's argmax architecture (batch statistics, as a sampled
    architecture is scored): one accuracy per member of a family."""
    weights = {ct: p.to(device) for ct, p in s.policy.probs().items()}
    argmaxes = _argmaxes(s)
    correct_mix, correct_arg, total = 0, [0] * len(argmaxes), 0
    s.supernet.eval()
    for x, y in batches:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
            correct_mix += (s.supernet(x, weights).argmax(1) == y).sum()
            with batch_statistics(s.supernet):
                for i, argmax in enumerate(argmaxes):
                    correct_arg[i] += (s.supernet.forward_path(x, argmax).argmax(1) == y).sum()
        total += len(y)
    return float(correct_mix) / total, [float(c) / total for c in correct_arg]
