"""The records a search run writes besides its metrics: at the start ``config.yaml``, ``run.json``
and the latency table's copy; at the end the final genotype, ``summary.json`` and the plots."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch

from ..config import SearchConfig, config_to_dict, save_config
from ..data import ImageDataset
from ..measure.latency import LatencyTable
from ..objectives import CostContext, CostSpec, genotype_costs
from ..report.metrics import read_metrics
from ..run_files import SearchRunFiles
from ..runtime import environment, peak_memory_mb, write_json_atomic
from ..runtime.distributed import World
from ..spaces import genotype_from_dict
from .state import Progress

__all__ = ["draw_plots", "write_run_start", "write_summary"]


def write_run_start(
    cfg: SearchConfig,
    files: SearchRunFiles,
    device: torch.device,
    memory: list[dict],
    latency: LatencyTable | None,
    world: World | None = None,
    refs: list[dict] | None = None,
) -> None:
    """``config.yaml`` (the resolved config), ``run.json`` (seed, environment, config, memory
    estimate, latency table) and the run's own copy of its latency table, which a resume reads."""
    save_config(cfg, files.config)
    if latency is not None:
        write_json_atomic(files.latency_table, latency.to_dict())
    write_json_atomic(
        files.run_info,
        {
            "status": "running",  # then finished, failed or interrupted (with its reason)
            "seed": cfg.seed,
            "environment": environment(device),
            "distributed": (world or World()).describe(),
            "config": config_to_dict(cfg),
            "memory_estimate": memory,
            "latency_table": None if latency is None else {"file": latency.source, **latency.info},
            "refs": refs or [],  # each `ref: auto` and the P it became
        },
    )


def run_peak_memory_mb(files: SearchRunFiles, device: torch.device) -> float:
    """Peak memory of the whole run: on CUDA each stage resets the counter, so the epochs'
    records (every stage, also before a resume) are taken with the current peak."""
    records = read_metrics(files.metrics)
    epochs = [r["peak_memory_mb"] for r in records if r.get("kind") == "epoch"]
    return max([peak_memory_mb(device), *epochs])


def write_summary(
    cfg: SearchConfig,
    files: SearchRunFiles,
    prog: Progress,
    costs: Mapping[str, CostSpec],
    cost_ctx: CostContext,
    data: ImageDataset,
    device: torch.device,
    *,
    plots: bool = True,
    extra: Mapping | None = None,
    peak_memory_mb: float | None = None,
    refs: list[dict] | None = None,
) -> dict:
    """Write the final genotype (the last stage's argmax) and ``summary.json``: the target
    network's exact params and FLOPs (and predicted latency with a latency table), every cost
    of the run (``costs``, in each cost's unit), time per
    stage, per-stage learning figures, peak memory and environment, and ``extra``'s keys; draw
    the plots unless ``plots`` is False (a plot that fails is recorded, never loses the search).
    ``peak_memory_mb``: the run's, when ``files`` holds no metrics (a family's member)."""
    final = genotype_from_dict(prog.stage_genotypes[-1], where="final stage genotype")
    meta = {**final.metadata, "source": "tndnas search", "seed": cfg.seed}
    meta.pop("stage", None)
    final = dataclasses.replace(final, metadata=meta)
    cost = cost_ctx.table.cost(final)
    # the network the reward measured: `tndnas train` says when it trains another size
    meta["target"] = {"channels": cfg.target.channels, "layers": cfg.target.layers,
                      "dataset": cfg.dataset.name, "params": cost.params}  # fmt: skip
    final.to_json(files.genotype)
    final_costs = genotype_costs(final, costs, cost_ctx)
    summary = {
        "genotype": final.to_dict(),
        "target_network": {"channels": cfg.target.channels, "layers": cfg.target.layers, "classes": data.num_classes,
                           "input_shape": [1, data.in_channels, data.image_size, data.image_size]},
        "params": cost.params,
        "params_with_auxiliary": cost.params_with_aux,
        "flops": cost.flops,
        "latency_ms": None if cost_ctx.latency is None else cost_ctx.latency.latency_ms(final),
        "costs": final_costs,
        "budgets": budgets(cfg, final_costs),
        "refs": refs or [],  # each `ref: auto` and the P it became (the median of random networks)
        "seconds_total": sum(prog.stage_seconds),
        "seconds_per_stage": prog.stage_seconds,
        # is the search learning? entropy (nats, mean per edge) and argmax changes per stage
        "stages": [{"stage": k, **rec} for k, rec in enumerate(prog.stage_learning)],
        "peak_memory_mb": run_peak_memory_mb(files, device) if peak_memory_mb is None else peak_memory_mb,
        "seed": cfg.seed,
        "dataset": cfg.dataset.name,
        "environment": environment(device),
        **(extra or {}),
        **draw_plots(files, plots),
    }  # fmt: skip
    write_json_atomic(files.summary, summary)
    return summary


def draw_plots(files: SearchRunFiles, plots: bool = True) -> dict:
    """The run's plots drawn (unless ``plots`` is False), as summary.json records them:
    ``plots`` (paths in the run folder) and, when drawing failed, ``plots_error`` (a plot
    must never lose a finished search)."""
    if not plots:
        return {"plots": []}
    try:
        from ..report.plots import plot_run

        return {"plots": [str(p.relative_to(files.root)) for p in plot_run(files.root)]}
    except Exception as err:  # plots must never lose a finished search
        return {"plots": [], "plots_error": f"{type(err).__name__}: {err}"}


def budgets(cfg: SearchConfig, final_costs: Mapping[str, float]) -> list[dict]:
    """The hard budgets of the last stage's reward (``beta_below: 0`` with ``beta < 0``: P is a
    budget) against the final network's costs: the budget, the cost, and by how much (%) the
    cost is over it (0 when within)."""
    from .stages import reward_terms

    rows = []
    for term in reward_terms(cfg, len(cfg.stages) - 1):
        if term.beta_below == 0 and term.beta < 0 and term.cost in final_costs:
            value = final_costs[term.cost]
            over = max(0.0, 100.0 * (value / term.ref - 1.0))
            rows.append(
                {"cost": term.cost, "budget": term.ref, "value": value, "over_by_pct": over}
            )
    return rows
