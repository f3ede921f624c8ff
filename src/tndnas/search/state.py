"""What a search carries from step to step, and how it is checkpointed.

:class:`Progress` is the run's bookkeeping across stages; :class:`StageState` holds the
tensors of the stage being searched (supernet, its optimiser, the strategy: the policy over
alpha, REINFORCE's optimiser and baseline, its generator; the data's random generators).  Both save and restore through
``state_dict()`` / ``load_state_dict()``, so a checkpoint is the dict of their dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import SearchConfig
from ..macro import Macro
from ..strategy import CategoricalPolicy, FamilyStrategy, PolicyStrategy, policy_lr
from .op_graphs import OpGraphs
from .stages import member_policies, member_terms, search_space, stage_seed

__all__ = ["Progress", "StageState", "new_stage_state"]


@dataclass
class StageState:
    """Everything that changes during one stage (checkpointed every epoch)."""

    supernet: nn.Module  # the space's weight-sharing network (SearchSpace.supernet)
    optimizer: torch.optim.Optimizer
    # the policy over alpha, its REINFORCE optimiser and baseline, its sampling generator (or a
    # family of them: one per member, ``family.betas``)
    strategy: PolicyStrategy | FamilyStrategy
    gen_data: torch.Generator  # weight-half batches
    gen_arch: torch.Generator  # architecture-half batches
    updates: int = 0
    policy_lr: float = 0.0  # the policies' Adam learning rate (policy.lr, or its budget rule)
    alpha_start: dict[str, torch.Tensor] = field(default_factory=dict)  # alpha as initialised
    # each policy's alpha as initialised (one entry without a family)
    policy_starts: list[dict[str, torch.Tensor]] = field(default_factory=list)
    params: list[torch.Tensor] = field(default_factory=list)  # the supernet's, listed once
    graphs: OpGraphs | None = None  # CUDA graphs of the scored ops; not checkpointed
    # what the weight steps run: the supernet, or it in DistributedDataParallel (several processes)
    trainer: nn.Module | None = None

    @property
    def policy(self) -> Any:
        """The policy whose softmax(alpha) the mixed weight step uses: the one policy, or the
        family's mixture (:class:`~tndnas.strategy.family.MixturePolicy`)."""
        return self.strategy.policy

    @property
    def policies(self) -> list[CategoricalPolicy]:
        """Every policy of the stage: one, or one per member of a family."""
        return self.strategy.policies

    def alpha_record(self, k: int, epoch: int, candidates: dict) -> dict:
        """What ``alpha/stage<k>_epoch<e>.json`` holds: alpha per cell type (a family: the log of
        its mixture's probabilities, and each member's alpha under ``members``)."""
        data: dict = {"stage": k, "epoch": epoch}
        for ct, alpha in self.policy.alpha.items():
            data[ct] = {"alpha": alpha.tolist(), "ops": candidates[ct]}
        if len(self.policies) > 1:
            data["members"] = [{ct: a.tolist() for ct, a in p.alpha.items()} for p in self.policies]
        return data

    def state_dict(self) -> dict[str, Any]:
        return {
            "supernet": self.supernet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            **self.strategy.state_dict(),  # alpha, reinforce, gen_policy
            "gen_data": self.gen_data.get_state(),
            "gen_arch": self.gen_arch.get_state(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a freshly built stage (same candidates and config) to a checkpoint."""
        self.supernet.load_state_dict(state["supernet"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.strategy.load_state_dict(state)
        self.gen_data.set_state(state["gen_data"])
        self.gen_arch.set_state(state["gen_arch"])
        self.updates = state["updates"]


@dataclass
class Progress:
    """Run-level bookkeeping (checkpointed)."""

    stage: int = 0
    epoch: int = 0
    candidates: dict[str, list[list[str]]] = field(default_factory=dict)
    stage_seconds: list[float] = field(default_factory=list)
    stage_genotypes: list[dict] = field(default_factory=list)
    stage_learning: list[dict] = field(default_factory=list)  # diagnostics.stage_learning per stage
    metrics_lines: int = 0
    # a family (family.betas): per stage, each member's derived genotype and learning figures
    member_genotypes: list[list[dict]] = field(default_factory=list)
    member_learning: list[list[dict]] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "epoch": self.epoch,
            "candidates": self.candidates,
            "stage_seconds": self.stage_seconds,
            "stage_genotypes": self.stage_genotypes,
            "stage_learning": self.stage_learning,
            "metrics_lines": self.metrics_lines,
            "member_genotypes": self.member_genotypes,
            "member_learning": self.member_learning,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage, self.epoch = state["stage"], state["epoch"]
        self.candidates = state["candidates"]
        self.stage_seconds = list(state["stage_seconds"])
        self.stage_genotypes = list(state["stage_genotypes"])
        self.stage_learning = list(state.get("stage_learning", []))  # older checkpoints lack it
        self.metrics_lines = state["metrics_lines"]
        self.member_genotypes = list(state.get("member_genotypes", []))
        self.member_learning = list(state.get("member_learning", []))


def new_stage_state(
    cfg: SearchConfig,
    k: int,
    candidates: dict[str, list[list[str]]],
    macro: Macro,
    device: torch.device,
    updates: int,
) -> StageState:
    """Stage ``k``'s fresh state (Eq. 12): a supernet of ``macro``'s depth over ``candidates``,
    its SGD optimiser, a uniform policy over the candidates with its REINFORCE optimiser, and
    the stage's random generators, all seeded from ``cfg.seed`` and ``k``; ``updates``: the
    stage's alpha updates (the policy's learning rate under ``lr: auto``)."""
    st = cfg.stages[k]
    torch.manual_seed(stage_seed(cfg.seed, k, 0))  # weight init and dropout
    space = search_space(cfg)
    supernet = space.supernet(candidates, macro, st.skip_dropout, checkpoint=cfg.weights.checkpoint)
    supernet = supernet.to(device)
    if cfg.weights.channels_last:
        supernet = supernet.to(memory_format=torch.channels_last)
    if cfg.weights.compile:
        mode = cfg.weights.compile_mode
        supernet.compile_ops(**({} if mode == "default" else {"mode": mode}))
    optimizer = torch.optim.SGD(
        supernet.parameters(),
        lr=cfg.weights.lr,
        momentum=cfg.weights.momentum,
        weight_decay=cfg.weights.weight_decay,
    )
    gens = [
        torch.Generator(device=d).manual_seed(stage_seed(cfg.seed, k, i))
        for i, d in ((1, device), (2, device))
    ]
    edges = len(next(iter(candidates.values())))
    num_ops = {ct: len(c[0]) for ct, c in candidates.items()}
    # one policy (a family: one per member), member 0 on the streams a plain search uses
    members = member_policies(cfg, member_terms(cfg, k), num_ops, edges, cfg.seed, k, updates)
    strategy = FamilyStrategy(members) if cfg.family.betas else members[0]
    graphs = OpGraphs(emulate=device.type != "cuda") if cfg.policy.cuda_graphs else None
    return StageState(
        supernet, optimizer, strategy, gens[0], gens[1],
        policy_lr=policy_lr(cfg.policy, updates), alpha_start=strategy.policy.state_dict(),
        params=list(supernet.parameters()), graphs=graphs,
        policy_starts=[p.state_dict() for p in strategy.policies],
    )  # fmt: skip
