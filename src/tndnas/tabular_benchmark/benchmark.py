"""The tabular benchmark: each method at each query budget over seeds, scored exactly.

Single objective (no cost): the table accuracy of the cell each method returns -- the one it
observed best among its queries (TND-NAS also reports its final policy's argmax cell).  With a
cost: the hypervolume of the found front (the non-dominated cells by observed accuracy and cost,
scored with their table accuracy) as a fraction of the table's true front; the reference point
is the table's median accuracy and its highest cost (a box from the lowest accuracy would be
almost all area under the front of poor cells, every method near 1).  TND-NAS and evolution run one search per beta
(the reward of Eq. 9 with P = the table's median cost), sharing the budget equally; random
search spends it once, and Optuna's NSGA-II and TPE (``tndnas[bench]``) spend it in one
two-objective study (accuracy up, cost down)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ..config import SearchConfig
from ..objectives import RewardTerm
from ..pareto import front, hypervolume, hypervolume_nd
from ..search.stages import stage_seed
from ..strategy import SAMPLERS, optuna_available
from .methods import (
    Queries,
    check_tabular_preset,
    evolution,
    optuna_search,
    random_search,
    tnd_family,
    tnd_search,
)
from .space import TabularSpace

#: every method: TND-NAS, random search, regularised evolution, Optuna's NSGA-II and TPE
ALL_METHODS = ("tnd-nas", "tnd-family", "random", "evolution", *SAMPLERS)


def default_methods() -> tuple[str, ...]:
    """The methods run by default: Optuna's when it is installed (``tndnas[bench]``)."""
    return ALL_METHODS if optuna_available() else ALL_METHODS[:4]


def _split(budget: int, parts: int) -> list[int]:
    return [budget // parts + (1 if i < budget % parts else 0) for i in range(parts)]


def _runs(method: str, space, cfg, budget, seed, terms_per_beta, images, cost) -> list[Queries]:
    # each method, seed and beta draws from its own random streams
    if method == "random":
        return [random_search(space, budget, stage_seed(seed, 1, 0), images)]
    if method == "tnd-family":  # one family of policies, one member per beta, over the budget
        q = tnd_family(space, budget, stage_seed(seed, 5, 0), cfg, terms_per_beta, images)
        return [q]
    if method in SAMPLERS:  # one two-objective study over the whole budget
        s = stage_seed(seed, 3 + list(SAMPLERS).index(method), 0) % 2**32
        return [optuna_search(space, budget, s, method, cost, images)]
    runs = []
    for j, (terms, share) in enumerate(zip(terms_per_beta, _split(budget, len(terms_per_beta)))):
        s = stage_seed(seed, 0 if method == "tnd-nas" else 2, j)
        if method == "tnd-nas":
            runs.append(tnd_search(space, share, s, cfg, terms, images))
        else:
            runs.append(evolution(space, share, s, terms, images))
    return runs


def _hv_nd(space: TabularSpace, observed: dict, parts: Sequence[str], box: tuple) -> float:
    """Exact hypervolume (pymoo) of the front of ``observed`` cells (non-dominated by observed
    accuracy and every cost of ``parts``), each scored with its table accuracy."""
    kept: list[tuple[float, ...]] = []
    on = []
    for c in sorted(observed, key=lambda c: -observed[c]):  # most accurate first
        costs = tuple(space.costs[p][c] for p in parts)
        # an earlier kept cell is at least as accurate: it dominates c if no cost of it is higher
        if not any(all(k <= x for k, x in zip(front_costs, costs)) for front_costs in kept):
            kept.append(costs)
            on.append((space.accuracy[c], *costs))
    return hypervolume_nd(on, box, (True, *[False] * len(parts)))


def _mean_std(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0, "runs": values}  # fmt: skip


def run_benchmark(
    space: TabularSpace,
    cfg: SearchConfig,
    budgets: Sequence[int],
    seeds: int,
    costs: Sequence[str] = (),
    betas: Sequence[float] = (-0.1, -0.3, -1.0),
    images: int | None = None,
    methods: Sequence[str] | None = None,
) -> dict:
    """Results by objective (``"accuracy"`` or ``"accuracy+<cost>"``), method and budget, each
    a mean, a standard deviation and the per-seed values; plus one seed's fronts at the largest
    budget (``fronts``) for the plot."""
    check_tabular_preset(cfg)
    methods = default_methods() if methods is None else methods
    out: dict = {"objective": space.objective, "best_in_table": space.best(), "budgets": list(budgets),
                 "seeds": seeds, "acc_noise_images": images, "results": {}, "fronts": {}}  # fmt: skip
    problems: list[tuple[str, str | None]] = [("accuracy", None)]
    problems += [(f"accuracy+{c}", c) for c in costs]
    for name, cost in problems:
        parts = cost.split("+") if cost else []
        if cost is None:
            terms_per_beta = [[]]
        elif len(parts) > 1:  # Eq. (10): one term per cost, equal weights, one search per beta
            refs = {c: statistics.median(space.costs[c].values()) for c in parts}
            terms_per_beta = [[RewardTerm(c, 1.0 / len(parts), refs[c], b) for c in parts]
                              for b in betas]  # fmt: skip
            box = (statistics.median(space.accuracy.values()),
                   *(max(space.costs[c].values()) for c in parts))  # fmt: skip
            true_hv = _hv_nd(space, space.accuracy, parts, box)
        else:
            ref = statistics.median(space.costs[cost].values())
            terms_per_beta = [[RewardTerm(cost, 1.0, ref, b)] for b in betas]
            true = front((space.accuracy[c], space.costs[cost][c]) for c in space.accuracy)
            box = (statistics.median(space.accuracy.values()), max(space.costs[cost].values()))
            true_hv = hypervolume(true, box)
            out["fronts"][name] = {"table": true}
        res: dict = {}
        for method in methods:
            res[method] = {}
            for budget in budgets:
                scores, argmax = [], []
                for seed in range(seeds):
                    runs = _runs(method, space, cfg, budget, seed, terms_per_beta, images, cost)
                    if cost is None:
                        (q,) = runs
                        scores.append(space.accuracy[q.best_observed()])
                        if q.final is not None:
                            argmax.append(space.accuracy[q.final])
                        continue
                    # a cell several beta runs observed keeps its first observation
                    observed: dict = {}
                    for q in runs:
                        for c, a in q.observed.items():
                            observed.setdefault(c, a)
                    if len(parts) > 1:  # the observed front, scored with the table's accuracy
                        scores.append(_hv_nd(space, observed, parts, box) / true_hv)
                        continue
                    on = set(front((a, space.costs[cost][c]) for c, a in observed.items()))
                    scored = [(space.accuracy[c], space.costs[cost][c])
                              for c, a in observed.items() if (a, space.costs[cost][c]) in on]  # fmt: skip
                    scores.append(hypervolume(scored, box) / true_hv)
                    if seed == 0 and budget == max(budgets):
                        out["fronts"][name][method] = front(scored)
                res[method][budget] = _mean_std(scores)
                if argmax:
                    res[method][budget]["argmax"] = _mean_std(argmax)
        out["results"][name] = res
    return out


def format_results(res: dict) -> str:
    """The results as text tables, one per objective."""
    lines = []
    for name, by_method in res["results"].items():
        what = ("table accuracy (%) of the returned cell" if name == "accuracy"
                else "hypervolume / the table front's")  # fmt: skip
        lines.append(f"{name}: {what}, mean ± std over {res['seeds']} seeds")
        head = "  method        " + "".join(f"{b:>18}" for b in res["budgets"])
        lines.append(head + "  (queries)")
        for method, by_budget in by_method.items():
            cells = "".join(
                f"{by_budget[b]['mean']:>11.3f} ± {by_budget[b]['std']:<5.3f}"
                for b in res["budgets"]
            )
            lines.append(f"  {method:<14}{cells}")
            if "argmax" in by_budget[res["budgets"][0]]:
                cells = "".join(
                    f"{by_budget[b]['argmax']['mean']:>11.3f} ± {by_budget[b]['argmax']['std']:<5.3f}"
                    for b in res["budgets"]
                )
                lines.append(f"  {'  (argmax)':<14}{cells}")
    lines.append(f"best in the table: {res['best_in_table']:.3f}")
    return "\n".join(lines)
