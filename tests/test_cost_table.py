"""The cost table equals the built evaluation network, exactly, on random genotypes."""

import random

import pytest

from tndnas.macro import Macro
from tndnas.measure.flops import count_flops, count_parameters
from tndnas.objectives import RewardTerm, get_cost, register_cost, scalarize
from tndnas.objectives.costs import CostContext
from tndnas.op_sets import resolve_op_set
from tndnas.spaces.base import GenotypeError
from tndnas.spaces.darts.costs import CostTable
from tndnas.spaces.darts.genotype import Genotype, edge_pairs, load_genotype
from tndnas.spaces.darts.network import EvalNetwork

from .conftest import random_genotype

MACROS = [
    Macro(channels=4, layers=5, num_classes=10, in_channels=3, image_size=16),
    Macro(channels=6, layers=4, num_classes=7, in_channels=1, image_size=8),
]


def _check(table: CostTable, g: Genotype):
    net = EvalNetwork(g, table.macro, auxiliary=table.auxiliary)
    c = table.cost(g)
    m = table.macro
    assert c.params == count_parameters(net)
    assert c.params_with_aux == count_parameters(net, exclude_auxiliary=False)
    assert c.flops == count_flops(net, (1, m.in_channels, m.image_size, m.image_size))


@pytest.mark.parametrize("macro", MACROS)
def test_cost_table_matches_network_on_random_genotypes(macro):
    rng = random.Random(42)
    table = CostTable(macro, auxiliary=True)
    normal, reduce = (
        resolve_op_set("tnd-normal"),
        resolve_op_set("tnd-reduce") + ("sep_conv_3x3", "conv_3x1_1x3"),
    )
    seen_indegrees, seen_dead = set(), 0
    for i in range(26):
        g = random_genotype(rng, normal, reduce, p_edge=[0.2, 0.5, 0.9][i % 3])
        for ct in ("normal", "reduce"):
            edges, nodes = g.live(ct)
            seen_indegrees |= {sum(1 for e in edges if e[2] == n) for n in range(2, 6)}
            seen_dead += 4 - len(nodes)
        _check(table, g)
    assert {0, 1} <= seen_indegrees and seen_dead > 0


def test_cost_table_extreme_indegrees():
    table = CostTable(MACROS[0], auxiliary=True)
    full = tuple(("sep_conv_3x3", s, d) for s, d in edge_pairs())  # node 5 has in-degree 5
    only_deep = (
        ("conv_1x1", 1, 2),
        ("conv_3x3", 2, 3),
        ("skip_connect", 3, 4),
        ("dil_conv_5x5", 4, 5),
    )  # input 0 unused
    only_zero = (("skip_connect", 0, 2),)
    for n in (full, only_deep, only_zero):
        for r in (full, only_deep, only_zero):
            _check(table, Genotype(n, r))


def test_cost_table_darts_v2_at_full_size():
    table = CostTable(Macro(channels=36, layers=20), auxiliary=True)
    c = table.cost(load_genotype("darts-v2"))
    assert (c.params, c.params_with_aux) == (3_349_342, 3_825_768)
    assert c.macs * 2 == c.flops


def test_dead_cell_cost_is_an_error():
    table = CostTable(MACROS[0])
    g = Genotype((("none", 0, 2),), (("skip_connect", 0, 2),))
    with pytest.raises(GenotypeError, match="no live"):
        table.cost(g)


def test_beta_below_switches_the_exponent_at_ref():
    budget = RewardTerm("latency_ms", 1.0, 10.0, -2.0, beta_below=0.0)
    assert [budget.factor(c) for c in (5.0, 10.0, 20.0)] == pytest.approx([1.0, 1.0, 0.25])
    assert scalarize(0.8, {"latency_ms": 5.0}, [budget]) == pytest.approx(0.8)
    assert scalarize(0.8, {"latency_ms": 20.0}, [budget]) == pytest.approx(0.2)
    paper = RewardTerm("latency_ms", 1.0, 10.0, -2.0)  # Eq. 9: one exponent on both sides
    assert paper.factor(5.0) == pytest.approx(4.0) and paper.factor(20.0) == pytest.approx(0.25)


def test_registered_costs_and_reward():
    macro = MACROS[0]
    ctx = CostContext(CostTable(macro), macro)
    g = load_genotype("darts-v2")
    assert get_cost("params").fn(g, ctx) == ctx.table.cost(g).params / 1e6
    register_cost(
        "edges", lambda g, ctx: float(len(g.live("normal")[0])), unit="edges", overwrite=True
    )
    assert get_cost("edges").fn(g, ctx) == 8.0
    with pytest.raises(KeyError, match="unknown cost"):
        get_cost("latancy")
    # Eq. (9) and Eq. (10)
    assert scalarize(0.5, {"params": 2.0}, [RewardTerm("params", 1.0, 4.0, -1.0)]) == pytest.approx(
        1.0
    )
    r = scalarize(
        0.8,
        {"params": 2.0, "flops": 50.0},
        [RewardTerm("params", 0.5, 1.0, 1.0), RewardTerm("flops", 0.5, 100.0, -1.0)],
    )
    assert r == pytest.approx(0.8 * (0.5 * 2.0 + 0.5 * 2.0))
    assert scalarize(None, {"params": 3.0}, [RewardTerm("params", 1.0, 1.0, 1.0)]) == pytest.approx(
        3.0
    )
