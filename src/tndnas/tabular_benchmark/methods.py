"""Search methods on a :class:`TabularSpace`, each given a budget of queries (distinct cells
scored), each one of :mod:`tndnas.strategy`'s strategies asked for cells and told their table
accuracies: TND-NAS (the search's own policy, REINFORCE update, reward and shrinking, the
accuracy read from the table instead of a supernet), random search, and regularised
evolution."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..config import ConfigError, SearchConfig
from ..objectives import RewardTerm
from ..search.stages import member_policies, member_samples, stage_drops, stage_seed
from ..spaces.nb201 import NB201_OPS
from ..spaces.nb201.genotype import CELL_TYPE
from ..strategy import (
    EvolutionStrategy,
    FamilyStrategy,
    OptunaStrategy,
    Path,
    RandomStrategy,
)
from .space import Cell, TabularSpace

NUM_OPS = len(NB201_OPS)
#: an Optuna study ends once this many proposals in a row were cells it had scored
STALL = 500


@dataclass
class Queries:
    """What a method scored: each distinct cell's first observed accuracy (%), in order (the
    queries; cells sampled again are measured again but count once)."""

    observed: dict[Cell, float] = field(default_factory=dict)
    final: Cell | None = None  # TND-NAS: the argmax cell of its last policy
    finals: list[Cell] = field(default_factory=list)  # a family: each member's argmax cell
    final_probability: float | None = None  # TND-NAS: that cell's probability under the policy

    def best_observed(self) -> Cell:
        return max(self.observed, key=self.observed.__getitem__)


class _Scorer:
    """Reads a cell's accuracy, with the binomial noise of measuring it on ``images`` images
    when given (as a search measures a sampled sub-network on one batch)."""

    def __init__(self, space: TabularSpace, images: int | None, gen: torch.Generator):
        self.space, self.images, self.gen = space, images, gen

    def __call__(self, cell: Cell) -> float:
        acc = self.space.accuracy[cell]
        if not self.images:
            return acc
        p = torch.tensor(min(max(acc / 100.0, 0.0), 1.0))
        return (
            100.0
            * float(torch.binomial(torch.tensor(float(self.images)), p, generator=self.gen))
            / self.images
        )


def _costs(space: TabularSpace, terms: Sequence[RewardTerm], cell: Cell) -> dict[str, float]:
    return {t.cost: space.costs[t.cost][cell] for t in terms}


def _cell(path: Path) -> Cell:
    return tuple(path[CELL_TYPE])


def tnd_search(
    space: TabularSpace,
    budget: int,
    seed: int,
    cfg: SearchConfig,
    terms: Sequence[RewardTerm] = (),
    images: int | None = None,
) -> Queries:
    """The search's strategy (:class:`~tndnas.strategy.PolicyStrategy`, exactly the code the
    supernet search runs) on the table: per stage a fresh uniform policy over the candidates
    left, ``policy.samples`` cells per update, the reward of Eq. (9)/(10) with the table's
    accuracy, REINFORCE (Eq. 8) with ``cfg.policy``; at each stage's end the ``drop.normal``
    least likely ops of every edge are dropped (Eq. 11).  Each stage gets a share of the query
    budget in proportion to its alpha updates in ``cfg``; a stage also ends once its policy
    stops proposing new cells (after ``20 * its budget / samples + 10`` updates).  Under
    ``policy.lr: auto`` a stage's learning rate is ``noise_walk`` over the square root of its
    budget / samples, the updates it gets if every sampled cell is new (the rule the supernet search applies to its
    stages' updates).  The preset's
    policy and stages are used; the reward's cost terms are ``terms`` (not the preset's)."""
    return tnd_family(space, budget, seed, cfg, [terms], images)


def tnd_family(
    space: TabularSpace,
    budget: int,
    seed: int,
    cfg: SearchConfig,
    terms_per_member: Sequence[Sequence[RewardTerm]],
    images: int | None = None,
) -> Queries:
    """One family of policies (:class:`~tndnas.strategy.FamilyStrategy`, one member per entry of
    ``terms_per_member``: one per beta) sharing the query budget: each update every member
    samples its share of ``policy.samples`` cells (:func:`~tndnas.search.stages.member_samples`,
    as the supernet search's family), and every member learns from all of them (importance
    weights). Stages, their budget shares and Eq. (11) as :func:`tnd_search`, the candidates
    shared by the family. With one member it is :func:`tnd_search`."""
    check_tabular_preset(cfg)
    q = Queries()
    score = _Scorer(space, images, torch.Generator().manual_seed(stage_seed(seed, 99, 0)))
    weights = [max(st.epochs - st.pretrain_epochs, 1) for st in cfg.stages]
    ends = [round(budget * sum(weights[: k + 1]) / sum(weights)) for k in range(len(weights))]
    candidates = [list(range(NUM_OPS)) for _ in range(6)]
    samples = member_samples(cfg, len(terms_per_member))  # as the supernet's family shares them
    per_update = samples * len(terms_per_member)
    for k in range(len(cfg.stages)):
        share = ends[k] - (ends[k - 1] if k else 0)
        updates_left = 20 * share // per_update + 10 if share > 0 else 0
        updates = max(-(-share // per_update), 1)  # the stage's updates if every cell is new
        family = FamilyStrategy(
            member_policies(
                cfg, terms_per_member, {CELL_TYPE: len(candidates[0])}, 6, seed, k, updates
            )
        )
        costs_of = {t.cost for terms in terms_per_member for t in terms}
        while len(q.observed) < ends[k] and updates_left > 0:
            paths = family.ask()
            cells = [tuple(candidates[e][i] for e, i in enumerate(_cell(p))) for p in paths]
            accs = []
            for cell in cells:
                acc = score(cell)
                if cell not in q.observed and len(q.observed) < budget:
                    q.observed[cell] = acc
                accs.append(acc / 100.0)
            found = [{c: space.costs[c][cell] for c in costs_of} for cell in cells]
            family.tell(paths, accs, found)
            updates_left -= 1
        q.finals = [tuple(candidates[e][i] for e, i in enumerate(_cell(b))) for b in family.bests()]
        q.final = q.finals[0]
        probs = family.members[0].policy.probs()[CELL_TYPE]
        q.final_probability = float(probs.max(-1).values.prod())
        if k == len(cfg.stages) - 1:
            break
        keep = family.shrink(stage_drops(cfg)[k])[CELL_TYPE]
        candidates = [[candidates[e][i] for i in keep[e]] for e in range(6)]
    return q


def check_tabular_preset(cfg: SearchConfig) -> None:
    """A preset the table can run: its candidates are the benchmark's five ops, and its stages
    leave at least one op on every edge (one sentence otherwise)."""
    from ..search.stages import space_ops

    if cfg.space.name != "nb201" or tuple(space_ops(cfg)["normal"]) != NB201_OPS:
        raise ConfigError(
            f"the tabular mode runs the policy of a NAS-Bench-201 preset (space.name: nb201, "
            f"space.normal_ops: nb201), not of space '{cfg.space.name}' with "
            f"'{getattr(cfg.space, 'normal_ops', None)}'; use --preset nb201-c10"
        )
    dropped = sum(d.get(CELL_TYPE, 0) for d in stage_drops(cfg)[:-1])
    if dropped >= NUM_OPS:
        raise ConfigError(
            f"the preset's stages drop {dropped} of the {NUM_OPS} ops of every edge before its "
            "last stage; lower stages.N.drop.normal"
        )


def random_search(
    space: TabularSpace, budget: int, seed: int, images: int | None = None
) -> Queries:
    """``budget`` distinct cells drawn uniformly (:class:`~tndnas.strategy.RandomStrategy`)."""
    strategy = RandomStrategy({CELL_TYPE: [NUM_OPS] * 6}, random.Random(seed))
    q = Queries()
    score = _Scorer(space, images, torch.Generator().manual_seed(seed))
    while len(q.observed) < min(budget, len(space.accuracy)):
        cell = _cell(strategy.ask()[0])
        if cell not in q.observed:
            q.observed[cell] = score(cell)
    return q


def evolution(
    space: TabularSpace,
    budget: int,
    seed: int,
    terms: Sequence[RewardTerm] = (),
    images: int | None = None,
) -> Queries:
    """Regularised evolution (:class:`~tndnas.strategy.EvolutionStrategy`): a population of
    random cells; each step the fittest of a tournament drawn from it is mutated on one edge,
    the child joins and the oldest leaves.  Fitness is the reward of TND-NAS (the accuracy alone
    without cost terms); a cell met again keeps its first measured accuracy."""
    strategy = EvolutionStrategy({CELL_TYPE: [NUM_OPS] * 6}, random.Random(seed), terms)
    q = Queries()
    score = _Scorer(space, images, torch.Generator().manual_seed(seed))
    steps_left = 50 * budget + strategy.size
    while len(q.observed) < budget and steps_left > 0:
        steps_left -= 1
        paths = strategy.ask()
        cell = _cell(paths[0])
        acc = q.observed.setdefault(cell, score(cell))
        strategy.tell(paths, [acc / 100.0], [_costs(space, terms, cell)])
    return q


def optuna_search(
    space: TabularSpace,
    budget: int,
    seed: int,
    sampler: str,
    cost: str | None = None,
    images: int | None = None,
) -> Queries:
    """Optuna's ``sampler`` (``nsga2`` or ``motpe``, :class:`~tndnas.strategy.OptunaStrategy`)
    until ``budget`` distinct cells are scored: one study maximising the accuracy and, with
    ``cost``, minimising that cost (its own two-objective mode, no beta); a cell proposed again
    is told its first measured accuracy, and a study that proposes only cells it has scored,
    :data:`STALL` times in a row, ends with the queries it has (Optuna's trials grow slower as
    they pile up)."""
    parts = cost.split("+") if cost else []
    strategy = OptunaStrategy({CELL_TYPE: [NUM_OPS] * 6}, sampler, seed, parts)
    q = Queries()
    score = _Scorer(space, images, torch.Generator().manual_seed(seed))
    stalled = 0  # proposals in a row that were cells already scored
    while len(q.observed) < budget and stalled < STALL:
        paths = strategy.ask()
        cell = _cell(paths[0])
        stalled = stalled + 1 if cell in q.observed else 0
        acc = q.observed.setdefault(cell, score(cell))
        strategy.tell(paths, [acc / 100.0], [{c: space.costs[c][cell] for c in parts}])
    return q
