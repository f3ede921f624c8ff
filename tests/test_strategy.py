"""Search strategies behind one ask/tell interface: the policy learns a known answer, shrinks
as Eq. (11) says, resumes exactly, and is the code both the search and the table run."""

from __future__ import annotations

import copy
import random

import pytest
import torch

from tndnas.config import load_search_config
from tndnas.objectives import RewardTerm, scalarize
from tndnas.strategy import (
    CategoricalPolicy,
    EvolutionStrategy,
    PolicyStrategy,
    RandomStrategy,
    Reinforce,
    Strategy,
)

SIZES = {"normal": [4] * 5, "reduce": [3] * 5}  # two cell types, 5 edges, 4 and 3 candidates
BEST = {"normal": [2] * 5, "reduce": [1] * 5}


def _accuracy(path) -> float:
    """A known answer: the share of edges whose op is BEST's."""
    hits = sum(o == b for ct in BEST for o, b in zip(path[ct], BEST[ct]))
    return hits / sum(len(v) for v in BEST.values())


def _policy(seed: int = 0, terms=()) -> PolicyStrategy:
    cfg = load_search_config("quick").policy
    return PolicyStrategy(
        {ct: v[0] for ct, v in SIZES.items()}, 5, cfg, terms,
        init=torch.Generator().manual_seed(seed), generator=torch.Generator().manual_seed(seed + 1),
    )  # fmt: skip


def _run(strategy: Strategy, steps: int) -> list[float]:
    best = []
    for _ in range(steps):
        paths = strategy.ask()
        accs = [_accuracy(p) for p in paths]
        strategy.tell(paths, accs, [{} for _ in paths])
        best.append(_accuracy(strategy.best()))
    return best


def test_the_policy_learns_a_known_answer_and_its_entropy_falls():
    s = _policy()
    start = float(s.policy.entropy())
    _run(s, 60)
    assert s.best() == BEST
    assert float(s.policy.entropy()) < 0.5 * start


def test_the_policy_steps_exactly_as_sampling_and_reinforce_by_hand():
    """The strategy is the search's old loop, unchanged: sample M, reward, one REINFORCE step."""
    cfg = load_search_config("quick").policy
    terms = [RewardTerm("params", 1.0, 0.5, -0.3)]
    s = _policy(3, terms)
    pol = CategoricalPolicy(
        {ct: v[0] for ct, v in SIZES.items()}, 5, torch.Generator().manual_seed(3)
    )
    rl, gen = Reinforce.from_config(pol, cfg), torch.Generator().manual_seed(4)
    for _ in range(5):
        paths = s.ask()
        g = pol.sample(cfg.samples, gen)
        assert [{ct: g[ct][i].tolist() for ct in g} for i in range(cfg.samples)] == paths
        accs = [_accuracy(p) for p in paths]
        costs = [{"params": 0.1 * (i % 7 + 1)} if i % 5 else None for i in range(len(paths))]
        told = s.tell(paths, accs, costs)
        want = [0.0 if c is None else scalarize(a, c, terms) for a, c in zip(accs, costs)]
        assert told.rewards.tolist() == torch.tensor(want, dtype=torch.float32).tolist()
        rl.step(g, told.rewards)
        for ct in pol.alpha:
            assert torch.equal(pol.alpha[ct], s.policy.alpha[ct])


def test_shrinking_keeps_each_edges_most_likely_candidates():
    s = _policy()
    _run(s, 40)
    keep = s.shrink({"normal": 2, "reduce": 1})
    assert all(len(k) == 2 and 2 in k for k in keep["normal"])
    assert all(len(k) == 2 and 1 in k for k in keep["reduce"])
    assert RandomStrategy(SIZES, random.Random(0)).shrink({"normal": 1})["normal"][0] == [0, 1, 2]


def test_a_strategy_restored_from_its_state_asks_the_same():
    s = _policy()
    _run(s, 5)
    state = copy.deepcopy(s.state_dict())  # as a checkpoint file holds it: no shared tensors
    t = _policy(seed=9)
    t.load_state_dict(state)
    assert s.ask() == t.ask()
    paths = s.ask()
    t.ask()
    s.tell(paths, [_accuracy(p) for p in paths], [{} for _ in paths])
    t.tell(paths, [_accuracy(p) for p in paths], [{} for _ in paths])
    assert all(torch.equal(s.policy.alpha[c], t.policy.alpha[c]) for c in SIZES)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evolution_beats_random_search_on_a_smooth_problem(seed):
    evo = EvolutionStrategy(SIZES, random.Random(seed))
    rnd = RandomStrategy(SIZES, random.Random(seed))
    evo_best = max(_run(evo, 300))
    rnd_best = max(_run(rnd, 300))
    assert evo_best >= 0.9 and evo_best > rnd_best, (evo_best, rnd_best)
    child = evo.ask()[0]  # one edge of one cell type mutated away from a population member
    assert any(
        sum(a != b for ct in child for a, b in zip(child[ct], p[ct])) == 1
        for p, _ in evo.population
    )


def test_random_search_draws_every_candidate_of_every_edge():
    rnd = RandomStrategy(SIZES, random.Random(0), samples=400)
    seen = {ct: [set() for _ in e] for ct, e in SIZES.items()}
    for p in rnd.ask():
        for ct in p:
            for e, o in enumerate(p[ct]):
                seen[ct][e].add(o)
    assert all(len(s) == k for ct, e in SIZES.items() for s, k in zip(seen[ct], e))


def test_a_family_learns_one_answer_per_reward_from_shared_samples():
    """Two members, one rewarding accuracy alone, one punishing the cost hard (Eq. 9, beta -3):
    each finds its own answer, while every sample any member drew teaches both."""
    from tndnas.strategy import FamilyStrategy

    cfg = load_search_config("quick").policy
    sizes = {"normal": 4}

    def acc(p):
        return 0.5 + 0.1 * sum(o == 2 for o in p["normal"])

    def cost(p):
        return {"c": 1.0 + sum(o != 0 for o in p["normal"])}

    members = [
        PolicyStrategy(sizes, 5, cfg, terms, init=torch.Generator().manual_seed(j),
                       generator=torch.Generator().manual_seed(10 + j))
        for j, terms in enumerate([[], [RewardTerm("c", 1.0, 1.0, -3.0)]])
    ]  # fmt: skip
    family = FamilyStrategy(members)
    for _ in range(80):
        paths = family.ask()
        told = family.tell(paths, [acc(p) for p in paths], [cost(p) for p in paths])
    assert len(paths) == 2 * cfg.samples and told.rewards.shape == (2, 2 * cfg.samples)
    w = told.extra["weights"]
    assert torch.allclose(w.mean(1), torch.ones(2)) and float(w.max()) <= 2 * cfg.samples
    assert family.bests() == [{"normal": [2] * 5}, {"normal": [0] * 5}]
    keep = family.shrink({"normal": 2})["normal"]  # each member's favourite op survives
    assert all(0 in k and 2 in k for k in keep)
