"""What a search needs before its first step, each checked with a one-line error: the device's
abilities, the costs of the reward, the latency table, the candidates every stage keeps, the
skip-dropout schedule, and the shapes of the supernet and of the target network."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Mapping, Sequence

import torch

from ..config import ConfigError, SearchConfig
from ..config.schema import AUTO_REF_NETWORKS
from ..data import ImageDataset
from ..macro import Macro
from ..measure.latency import LatencyTable, LatencyTableError
from ..objectives import CostContext, RewardError, get_cost
from ..run_files import SearchRunFiles
from ..spaces.base import GenotypeError
from . import op_graphs
from .stages import cell_steps, drop_count, member_terms, run_cost_names, search_space
from .weight_step import SKIP_DROPOUT_SCHEDULES

__all__ = [
    "check_cuda_graphs",
    "check_drops",
    "budget_warnings",
    "check_rewards",
    "cost_spread",
    "latency_table",
    "resolve_refs",
    "reward_costs",
    "skip_dropout_schedule",
    "supernet_macro",
    "target_macro",
]


def check_cuda_graphs(cfg: SearchConfig, device: torch.device) -> None:
    """``policy.cuda_graphs`` needs a CUDA device (or the tests' emulation)."""
    if cfg.policy.cuda_graphs and device.type != "cuda" and not op_graphs.EMULATE_WITHOUT_CUDA:
        raise ConfigError(
            f"policy.cuda_graphs=true needs a CUDA device, but this run uses {device}; "
            "set policy.cuda_graphs=false, or run on a GPU with --device cuda."
        )


def reward_costs(cfg: SearchConfig) -> dict:
    """The registered costs a run computes for every sampled architecture
    (:func:`run_cost_names`: ``reward.log_costs`` and those of every stage's reward terms), in
    that order; an unknown name is a one-line :class:`ConfigError`."""
    try:
        return {name: get_cost(name) for name in run_cost_names(cfg)}
    except KeyError as err:
        raise ConfigError(str(err.args[0])) from None


def latency_table(
    cfg: SearchConfig,
    files: SearchRunFiles,
    costs: Mapping,
    target: Macro,
    ops: Mapping[str, Sequence[str]],
    *,
    resume: bool,
) -> LatencyTable | None:
    """The run's latency table (``reward.latency_table``), checked against the target network
    and the op sets; a resumed run reads the copy in its run directory."""
    path = cfg.reward.latency_table
    if path is None:
        if "latency_ms" in costs:
            raise ConfigError(
                "the reward uses the latency_ms cost but reward.latency_table is not set; measure "
                "a table with tndnas latency-table (same preset and --set options) --out FILE, "
                "then set reward.latency_table=FILE."
            )
        return None
    copy = files.latency_table
    space = search_space(cfg)
    table = space.load_latency_table(copy if resume and copy.exists() else path, expect=target)
    table.check_covers(ops)
    return table


def check_drops(cfg: SearchConfig, ops: Mapping[str, Sequence[str]]) -> None:
    """Every stage's drops name the space's cell types, and every stage keeps at least one
    candidate per edge (Eq. 11): all the drops that do not fit are named in one sentence, each
    with the largest value that fits."""
    problems = []
    for k, st in enumerate(cfg.stages):
        for ct in st.drop:
            if ct not in ops:
                problems.append(
                    f"stages.{k}.drop.{ct} names no cell type of space '{cfg.space.name}' "
                    f"(its cell types: {', '.join(ops)})"
                )
    left = {ct: len(c) for ct, c in ops.items()}
    for k, st in enumerate(cfg.stages):
        for ct in ops:
            n = drop_count(st.drop.get(ct, 0), left[ct])
            if n > left[ct] - 1:
                problems.append(
                    f"stages.{k}.drop.{ct}={n} leaves no {ct} candidate of {left[ct]} "
                    f"(at most {left[ct] - 1})"
                )
                n = left[ct] - 1
            left[ct] -= n
    if problems:
        raise ConfigError(
            "; ".join(problems)
            + f"; the op sets have {', '.join(f'{len(c)} {ct}' for ct, c in ops.items())} "
            "candidates per edge, and every stage must keep one."
        )


def skip_dropout_schedule(cfg: SearchConfig) -> Callable[..., float]:
    """The rate function of ``weights.skip_dropout_schedule``."""
    schedule = cfg.weights.skip_dropout_schedule
    if schedule not in SKIP_DROPOUT_SCHEDULES:
        raise ConfigError(
            f"weights.skip_dropout_schedule={schedule!r} is invalid; use one of: {', '.join(SKIP_DROPOUT_SCHEDULES)}"
        )
    return SKIP_DROPOUT_SCHEDULES[schedule]


def search_images(cfg: SearchConfig, data: ImageDataset) -> ImageDataset:
    """The images the supernet trains and is scored on: ``data``, or with
    ``weights.image_size`` set, ``data`` shrunk to that side (costs stay on ``data``'s size)."""
    size = cfg.weights.image_size
    if size is None:
        return data
    if size > data.image_size:
        raise ConfigError(
            f"weights.image_size={size} is larger than the {data.image_size}-pixel images of "
            f"dataset '{data.name}'; use at most {data.image_size}, or null."
        )
    return data.resized(size)


def supernet_macro(cfg: SearchConfig, data: ImageDataset, layers: int) -> Macro:
    """The searched supernet's shape at ``layers`` cells (Eq. 12's L_k)."""
    return Macro(
        channels=cfg.space.channels,
        layers=layers,
        num_classes=data.num_classes,
        in_channels=data.in_channels,
        image_size=data.image_size,
        steps=cell_steps(cfg),
    )


def target_macro(cfg: SearchConfig, data: ImageDataset) -> Macro:
    """The final evaluation network's shape, on which every cost is measured."""
    return Macro(
        channels=cfg.target.channels,
        layers=cfg.target.layers,
        num_classes=data.num_classes,
        in_channels=data.in_channels,
        image_size=data.image_size,
        steps=cell_steps(cfg),
    )


def check_rewards(
    cfg: SearchConfig,
    ops: Mapping[str, Sequence[str]],
    target: Macro,
    costs: Mapping,
    ctx: CostContext,
    samples: int = 32,
) -> None:
    """Refuse, before anything is written, a reward that cannot be computed: every stage's
    reward terms on ``samples`` random architectures of the space (a zero or non-finite cost, a
    factor (cost / P) ** beta too large to be a reward) -- a one-sentence :class:`RewardError`
    naming the stage."""
    try:
        genotypes = search_space(cfg).random_genotypes(ops, target, samples, seed=cfg.seed)
    except LatencyTableError:  # a space that draws no architectures: checked as the search goes
        return
    values = []
    for g in genotypes:
        try:
            values.append({name: spec.fn(g, ctx) for name, spec in costs.items()})
        except GenotypeError:  # a cell with no live node: no network, reward 0
            continue
    for k in range(len(cfg.stages)):
        for term in (t for terms in member_terms(cfg, k) for t in terms):
            try:
                for v in values:
                    term.factor(v[term.cost])
            except RewardError as err:
                raise RewardError(f"stage {k} (stages.{k}.costs): {err}") from None


def cost_spread(
    cfg: SearchConfig,
    ops: Mapping[str, Sequence[str]],
    target: Macro,
    costs: Mapping,
    ctx: CostContext,
    networks: int = AUTO_REF_NETWORKS,
) -> dict[str, list[float]]:
    """Each cost of ``costs`` on ``networks`` random networks of the space at the target size
    (seeded by ``cfg.seed``), sorted; a network whose cell has no live node is left out."""
    try:
        genotypes = search_space(cfg).random_genotypes(ops, target, networks, seed=cfg.seed)
    except LatencyTableError:
        raise ConfigError(f"space '{cfg.space.name}' draws no random networks, so the spread of "
                          "its costs is unknown; give stages.N.costs.M.ref as a number.") from None  # fmt: skip
    spread: dict[str, list[float]] = {}
    for name, spec in costs.items():
        values = []
        for g in genotypes:
            try:
                values.append(float(spec.fn(g, ctx)))
            except GenotypeError:  # a cell with no live node: no network
                continue
        spread[name] = sorted(values)
    return spread


def resolve_refs(
    cfg: SearchConfig,
    ops: Mapping[str, Sequence[str]],
    target: Macro,
    costs: Mapping,
    ctx: CostContext,
) -> tuple[SearchConfig, list[dict]]:
    """``cfg`` with every ``ref: auto`` replaced by the median of its cost over
    :data:`~tndnas.config.schema.AUTO_REF_NETWORKS` random networks of the space at the target
    size (:func:`cost_spread`, seeded by ``cfg.seed``: a resume finds the same P), and one record
    per term replaced (stage, term, cost, ref, networks)."""
    autos = [
        (k, j) for k, st in enumerate(cfg.stages) for j, t in enumerate(st.costs) if t.ref == "auto"
    ]
    if not autos:
        return cfg, []
    names = list(dict.fromkeys(cfg.stages[k].costs[j].cost for k, j in autos))
    spread = cost_spread(cfg, ops, target, {n: costs[n] for n in names}, ctx)
    medians = {name: statistics.median(values) for name, values in spread.items()}
    stages = [dataclasses.replace(st, costs=[
        dataclasses.replace(t, ref=medians[t.cost]) if t.ref == "auto" else t for t in st.costs
    ]) for st in cfg.stages]  # fmt: skip
    records = [{"stage": k, "term": j, "cost": cfg.stages[k].costs[j].cost,
                "ref": medians[cfg.stages[k].costs[j].cost], "from": "auto",
                "networks": AUTO_REF_NETWORKS} for k, j in autos]  # fmt: skip
    return dataclasses.replace(cfg, stages=stages), records


def budget_warnings(
    cfg: SearchConfig,
    ops: Mapping[str, Sequence[str]],
    target: Macro,
    costs: Mapping,
    ctx: CostContext,
) -> list[str]:
    """One sentence per hard budget (``beta_below: 0``, ``beta < 0``) that every one of the
    random networks of :func:`cost_spread` meets (it will not bind) or none meets."""
    budgets = [(k, j, t) for k, st in enumerate(cfg.stages) for j, t in enumerate(st.costs)
               if t.beta_below == 0 and t.beta < 0 and not isinstance(t.ref, str)]  # fmt: skip
    if not budgets:
        return []
    try:
        spread = cost_spread(cfg, ops, target, {t.cost: costs[t.cost] for *_, t in budgets}, ctx)
    except ConfigError:  # a space that draws no random networks: nothing to compare with
        return []
    said: dict[str, list[str]] = {}  # one sentence, with every term it is true of
    for k, j, t in budgets:
        values = spread.get(t.cost) or []
        if values and t.ref >= values[-1]:
            text = (f"the budget {t.cost} <= {t.ref:g} holds for every one of {len(values)} random "
                    f"networks (largest {values[-1]:.4g}): it will not bind")  # fmt: skip
        elif values and t.ref < values[0]:
            text = (f"the budget {t.cost} <= {t.ref:g} holds for none of {len(values)} random "
                    f"networks (smallest {values[0]:.4g})")  # fmt: skip
        else:
            continue
        said.setdefault(text, []).append(f"stages.{k}.costs.{j}")
    return [f"{', '.join(keys)}: {text}; `tndnas info --costs` shows the spread to choose it from"
            for text, keys in said.items()]  # fmt: skip
