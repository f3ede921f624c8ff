"""``tndnas info --costs PRESET|RUN``: the costs of random networks of a search's space at its
target size, the spread a reference P or a budget is chosen from, and where each stage's P falls
in it."""

from __future__ import annotations

from ..config import ConfigError, SearchConfig, load_search_config, preset_names
from ..config.schema import AUTO_REF_NETWORKS
from ..macro import Macro
from ..objectives.costs import cost_label
from ..run_files import SearchRunFiles

#: the quantiles printed for each cost
QUANTILES = (0.0, 0.1, 0.5, 0.9, 1.0)


def _config(spec: str, overrides: list[str]) -> tuple[SearchConfig, SearchRunFiles | None]:
    files = SearchRunFiles(spec)
    if files.config.exists():
        return load_search_config(config_file=files.config, overrides=overrides), files
    if spec in preset_names():
        return load_search_config(preset=spec, overrides=overrides), None
    raise ConfigError(
        f"--costs takes a search preset ({', '.join(preset_names())}) or a search run directory, "
        f"not '{spec}'."
    )


def _quantile(values: list[float], q: float) -> float:
    return values[min(int(q * len(values)), len(values) - 1)]


def share_below(values: list[float], p: float) -> float:
    """The share of ``values`` (sorted) at or below ``p``."""
    return sum(v <= p for v in values) / len(values)


def print_cost_spread(spec: str, data_dir: str | None, overrides: list[str]) -> int:
    """Print the spread of every cost of the run over random networks and each stage's P."""
    from ..data.shapes import dataset_shape
    from ..search.setup import cost_spread, latency_table, reward_costs
    from ..search.stages import space_ops
    from ..spaces import get_space

    cfg, files = _config(spec, overrides)
    in_ch, size, classes = dataset_shape(cfg.dataset.name, data_dir or cfg.dataset.data_dir)
    steps = getattr(cfg.space, "steps", Macro.__dataclass_fields__["steps"].default)
    target = Macro(channels=cfg.target.channels, layers=cfg.target.layers, num_classes=classes,
                   in_channels=in_ch, image_size=size, steps=steps)  # fmt: skip
    space = get_space(cfg.space.name)
    ops = space_ops(cfg)
    costs = reward_costs(cfg)
    table = latency_table(cfg, files or SearchRunFiles("."), costs, target, ops, resume=files is not None)  # fmt: skip
    from ..objectives import CostContext

    ctx = CostContext(space.cost_table(target, cfg.target.auxiliary), target, table)
    spread = cost_spread(cfg, ops, target, costs, ctx)
    print(f"costs of {AUTO_REF_NETWORKS} random networks of space '{cfg.space.name}' at the target "
          f"size ({target.channels} channels x {target.layers} cells, {cfg.dataset.name}; seed {cfg.seed}):")  # fmt: skip
    print(f"  {'cost':<24} " + " ".join(f"{f'{int(q * 100)} %':>10}" for q in QUANTILES))
    for name, values in spread.items():
        if values:
            print(f"  {cost_label(name):<24} "
                  + " ".join(f"{_quantile(values, q):>10.4g}" for q in QUANTILES))  # fmt: skip
    print("the reward's P (stages.N.costs.M.ref) against them:")
    for k, st in enumerate(cfg.stages):
        for j, t in enumerate(st.costs):
            values = spread.get(t.cost) or []
            if t.ref == "auto" or not values:
                where = "the median, chosen when the search starts" if t.ref == "auto" else "-"
                chosen = [r["ref"] for r in _run_refs(files) if (r["stage"], r["term"]) == (k, j)]
                where += f" (this run's: {chosen[0]:.4g})" if chosen else ""
            else:
                below = share_below(values, float(t.ref))
                where = f"above {below:.0%} of the random networks"
                if t.beta_below == 0 and t.beta < 0:  # a budget
                    where += (" (a budget every one meets: it never binds)" if below == 1 else
                              " (a budget none meets)" if below == 0 else "")  # fmt: skip
            p = t.ref if isinstance(t.ref, str) else f"{t.ref:g}"
            print(f"  stages.{k}.costs.{j}: {t.cost} P = {p}, beta = {t.beta:g}: {where}")
    return 0


def _run_refs(files: SearchRunFiles | None) -> list[dict]:
    """The P each ``ref: auto`` of a run became (its run.json), or []."""
    from ..runtime.records import read_run_info

    if files is None or not files.run_info.exists():
        return []
    refs = read_run_info(files.run_info).get("refs")
    return refs if isinstance(refs, list) else []
