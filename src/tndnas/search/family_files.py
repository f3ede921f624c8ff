"""What a family search (``family.betas``: one policy per beta on one supernet) records for its
members: at each stage's end every member's derived genotype and learning figures, and at the
end one folder per member under ``members/`` holding what a search of its own would write
(``config.yaml`` at the member's beta and ref, ``genotype.json``, ``summary.json``), so that
``tndnas train --genotype``, ``tndnas info`` and a sweep's table read a member as a search."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from ..config import SearchConfig, save_config
from ..data import ImageDataset
from ..objectives import CostContext, CostSpec, genotype_costs
from ..report.metrics import read_metrics
from ..runtime import environment, write_json_atomic
from ..spaces import SearchSpace
from .diagnostics import stage_learning
from .run_dir import RunDir
from .stages import member_config, member_names, ref_label
from .state import Progress, StageState
from .summary import draw_plots, run_peak_memory_mb, write_summary

__all__ = ["family_stage_end", "write_family_summary"]

#: the learning figures a family's stage record averages over its members
_AVERAGED = ("entropy_start", "entropy_end", "entropy_max", "entropy_end_ratio",
             "argmax_changed_share")  # fmt: skip


def family_stage_end(
    cfg: SearchConfig,
    k: int,
    s: StageState,
    prog: Progress,
    space: SearchSpace,
    costs: Mapping[str, CostSpec],
    ctx: CostContext,
    files: RunDir,
    main: bool,
) -> dict[str, Any]:
    """Stage ``k``'s end for a family: each member's argmax genotype (written to its folder as
    ``genotype_stage<k>.json``) with its costs and learning figures; the stage's learning is
    their mean.  Returns the stage record's fields; appends to ``prog``."""
    members, genotypes, learned = [], [], []
    for name, policy, start in zip(member_names(cfg), s.policies, s.policy_starts, strict=True):
        geno = space.derive(policy.probs(), prog.candidates, cfg.space, {"stage": k})
        if main:
            folder = files.member(name)
            folder.root.mkdir(parents=True, exist_ok=True)
            geno.to_json(folder.stage_genotype(k))
        learning = stage_learning(start, policy, s.updates)
        learned.append(learning)
        genotypes.append(geno.to_dict())
        members.append({"member": name, "genotype": geno.to_dict(),
                        "costs": genotype_costs(geno, costs, ctx), **learning})  # fmt: skip
    mean = {key: sum(m[key] for m in learned) / len(learned) for key in _AVERAGED}
    learning = {"alpha_updates": s.updates, **mean}
    prog.member_genotypes.append(genotypes)
    prog.member_learning.append(learned)
    return {"learning": learning, "members": members}


def _last_member_accuracies(files: RunDir) -> list[float] | None:
    """Each member's argmax accuracy (architecture half, fraction) at the last epoch."""
    epochs = [r for r in read_metrics(files.metrics) if r.get("kind") == "epoch"]
    for r in reversed(epochs):
        if isinstance(r.get("arch_acc_members"), list):
            return [float(a) for a in r["arch_acc_members"]]
    return None


def write_family_summary(
    cfg: SearchConfig,
    files: RunDir,
    prog: Progress,
    costs: Mapping[str, CostSpec],
    ctx: CostContext,
    data: ImageDataset,
    device: torch.device,
    *,
    plots: bool = True,
    refs: list[dict] | None = None,
) -> dict:
    """Every member's folder (``config.yaml`` of the member as a search of its own,
    ``genotype.json``, ``summary.json`` with its costs, budgets and last argmax accuracy) and the
    family's ``summary.json``: the members' rows, time, memory, environment, plots."""
    accs = _last_member_accuracies(files)
    peak = run_peak_memory_mb(files, device)  # the run's, which every member shares
    rows = []
    for i, name in enumerate(member_names(cfg)):
        own = member_config(cfg, i)
        folder = files.member(name)
        folder.root.mkdir(parents=True, exist_ok=True)
        save_config(own, folder.config)
        member_prog = dataclasses.replace(
            prog,
            stage_genotypes=[g[i] for g in prog.member_genotypes],
            stage_learning=[m[i] for m in prog.member_learning],
        )
        acc = None if accs is None else accs[i]
        summary = write_summary(
            own, RunDir(folder.root), member_prog, costs, ctx, data, device, plots=False,
            extra={"arch_acc_argmax": acc, "family_run": "../..", "member": i},
            peak_memory_mb=peak,
        )  # fmt: skip
        beta = cfg.family.betas[i]
        rows.append({"member": name, "beta": beta, "ref": ref_label(own), "folder": f"members/{name}",
                     "costs": summary["costs"], "arch_acc_argmax": acc,
                     "genotype": summary["genotype"]})  # fmt: skip
    summary = {
        "family": rows,
        "seconds_total": sum(prog.stage_seconds),
        "seconds_per_stage": prog.stage_seconds,
        "refs": refs or [],
        "stages": [{"stage": k, **rec} for k, rec in enumerate(prog.stage_learning)],
        "peak_memory_mb": peak,
        "seed": cfg.seed,
        "dataset": cfg.dataset.name,
        "environment": environment(device),
        **draw_plots(files, plots),
    }
    write_json_atomic(files.summary, summary)
    return summary
