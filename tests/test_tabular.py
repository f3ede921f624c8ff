"""Tabular mode: the search's policy, reward and shrinking on a results table, beside random
search and regularised evolution, scored exactly (tables generated here)."""

from __future__ import annotations

import csv
import itertools
import json

import pytest

from tndnas.cli import main
from tndnas.config import load_search_config
from tndnas.pareto import front, hypervolume
from tndnas.spaces.nb201 import NB201_OPS, Nb201Genotype
from tndnas.tabular_benchmark.benchmark import run_benchmark
from tndnas.tabular_benchmark.methods import evolution, random_search, tnd_search
from tndnas.tabular_benchmark.space import TabularSpace, load_tabular_space

CELLS = list(itertools.product(range(len(NB201_OPS)), repeat=6))
CONV3 = NB201_OPS.index("nor_conv_3x3")


def smooth(cell):
    """A landscape with one best cell (all nor_conv_3x3) and a gentle slope towards it."""
    return 40.0 + 9.0 * sum(o == CONV3 for o in cell) + 0.5 * sum(o == 2 for o in cell)


def test_front_and_hypervolume_on_hand_made_points():
    pts = [(1.0, 1.0), (2.0, 2.0), (1.5, 3.0), (3.0, 3.0), (0.5, 0.5)]
    assert front(pts) == [(0.5, 0.5), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]
    # strips from ref (0, 4): 0.5*3.5 + 0.5*3 + 1*2 + 1*1
    assert hypervolume(pts, (0.0, 4.0)) == pytest.approx(1.75 + 1.5 + 2.0 + 1.0)
    assert hypervolume([(5.0, 5.0)], (0.0, 4.0)) == 0.0  # costlier than the reference
    assert hypervolume([], (0.0, 4.0)) == 0.0


def test_policy_concentrates_on_the_best_cell_and_stays_flat_on_noise():
    """Accuracy alone, no noise: the preset's policy (``lr: auto``) ends with the best cell as
    its argmax at over 1,000 times its uniform probability (it has converged, and stops before
    its budget once it proposes no new cells); on a table of equal accuracies measured with
    binomial noise (a pure-noise control) it stays within 100 times uniform at every budget."""
    cfg = load_search_config("nb201-c10")
    uniform = len(NB201_OPS) ** -6
    space = TabularSpace("acc", {c: smooth(c) for c in CELLS})
    for seed in range(2):
        q = tnd_search(space, 1000, seed, cfg)
        assert q.final == (CONV3,) * 6 and q.final_probability > 1000 * uniform, q.final_probability
        assert 100 < len(q.observed) <= 1000
    flat = TabularSpace("acc", dict.fromkeys(CELLS, 70.0))
    for budget in (100, 1000):
        q = tnd_search(flat, budget, 0, cfg, images=64)
        assert q.final_probability < 100 * uniform, q.final_probability
        assert len(q.observed) == budget


def test_random_search_and_evolution_spend_their_budget():
    space = TabularSpace("acc", {c: smooth(c) for c in CELLS})
    q = random_search(space, 50, 0)
    assert len(q.observed) == 50 and q.best_observed() in q.observed
    q = evolution(space, 300, 0)
    assert len(q.observed) == 300 and q.best_observed() == (CONV3,) * 6


def write_table(path, cells, columns):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*columns, "ArchitectureString"])
        for cell in cells:
            ops = tuple(NB201_OPS[i] for i in cell)
            w.writerow([*(fn(cell) for fn in columns.values()), Nb201Genotype(ops).cell_string()])
    return path


def test_benchmark_scores_exactly(tmp_path):
    """Querying every cell finds the table's front: hypervolume fraction exactly 1; costs come
    from the cell (params), from a column, or from another CSV keyed by cell string."""
    table = write_table(tmp_path / "t.csv", CELLS, {"acc": smooth, "lat": lambda c: 1.0 + sum(c)})
    other = write_table(tmp_path / "o.csv", CELLS[::-1], {"energy": lambda c: 2.0 + c[0]})
    space = load_tabular_space(table, "acc", ["params", "lat", f"{other}:energy"])
    assert space.costs["lat"][(0,) * 6] == 1.0 and space.costs[f"{other}:energy"][(4,) * 6] == 6.0
    assert space.costs["params"][(0,) * 6] == pytest.approx(0.073306)
    cfg = load_search_config("nb201-c10")
    res = run_benchmark(space, cfg, [len(CELLS)], 1, ["lat"], methods=["random"])
    assert res["results"]["accuracy"]["random"][len(CELLS)]["mean"] == space.best()
    assert res["results"]["accuracy+lat"]["random"][len(CELLS)]["mean"] == pytest.approx(1.0)
    res = run_benchmark(space, cfg, [20, 40], 2, ["params"])
    for name in ("accuracy", "accuracy+params"):
        for method in ("tnd-nas", "tnd-family", "random", "evolution"):
            r = res["results"][name][method]
            assert len(r[20]["runs"]) == 2
            if name != "accuracy":
                assert 0.0 <= r[20]["mean"] <= 1.0 and 0.0 <= r[40]["mean"] <= 1.0


def test_bench_tabular_command_and_its_errors(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv", CELLS, {"acc": smooth})
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    argv = ["bench-tabular", "--table", str(table), "--objective", "acc", "--cost", "flops",
            "--queries", "20,40", "--seeds", "2", "--acc-noise", "64", "--json", str(out),
            "--plot", str(png)]  # fmt: skip
    assert main(argv) == 0
    res = json.loads(out.read_text())
    assert set(res["results"]) == {"accuracy", "accuracy+flops"} and res["acc_noise_images"] == 64
    assert png.stat().st_size > 10_000
    assert "tnd-nas" in capsys.readouterr().out
    for extra, needle in [
        (["--objective", "nope"], "no numeric column 'nope'"),
        (["--objective", "acc", "--cost", "watts"], "no numeric column 'watts'"),
        (["--objective", "acc", "--queries", "10,x"], "not a list of integers"),
    ]:
        assert main(["bench-tabular", "--table", str(table), *extra]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1


def test_a_preset_the_table_cannot_run_is_one_sentence():
    from tndnas.config import ConfigError

    space = TabularSpace("acc", {c: smooth(c) for c in CELLS})
    with pytest.raises(ConfigError, match="use --preset nb201-c10"):
        tnd_search(space, 10, 0, load_search_config("paper-c10"))
    three = "stages=[{layers: 5, drop: {normal: 3}}, {layers: 5, drop: {normal: 2}}, {layers: 5}]"
    with pytest.raises(ConfigError, match="drop 5 of the 5 ops"):
        tnd_search(space, 10, 0, load_search_config("nb201-c10", overrides=[three]))
    shrinking = (
        "stages=[{layers: 5, drop: {normal: 1}}, {layers: 5, drop: {normal: 1}}, {layers: 5}]"
    )
    q = tnd_search(space, 60, 0, load_search_config("nb201-c10", overrides=[shrinking]))
    assert len(q.observed) == 60 and all(0 <= o < len(NB201_OPS) for o in q.final)


def test_optuna_nsga2_and_tpe_are_methods_at_the_same_budget(tmp_path, capsys):
    """Optuna's NSGA-II and multi-objective TPE (a well-kept library's baselines) run through the
    same strategy interface, spend the same budget of distinct cells and are scored as the
    others; on the smooth landscape they beat a budget's worth of nothing (random's floor)."""
    space = TabularSpace("acc", {c: smooth(c) for c in CELLS})
    space.costs["lat"] = {c: 1.0 + sum(c) for c in CELLS}
    cfg = load_search_config("nb201-c10")
    res = run_benchmark(space, cfg, [60], 2, ["lat"], methods=["random", "nsga2", "motpe"])
    for name in ("accuracy", "accuracy+lat"):
        for method in ("nsga2", "motpe"):
            r = res["results"][name][method][60]
            assert len(r["runs"]) == 2 and 0.0 < r["mean"] <= (100.0 if name == "accuracy" else 1.0)
    assert res["results"]["accuracy"]["motpe"][60]["mean"] > 60.0
    table = write_table(tmp_path / "t.csv", CELLS, {"acc": smooth})
    argv = ["bench-tabular", "--table", str(table), "--objective", "acc", "--queries", "20",
            "--seeds", "1", "--methods", "random,nsga2", "--json", str(tmp_path / "r.json")]  # fmt: skip
    assert main(argv) == 0
    assert set(json.loads((tmp_path / "r.json").read_text())["results"]["accuracy"]) == {
        "random",
        "nsga2",
    }
    capsys.readouterr()
    bad = [
        "bench-tabular",
        "--table",
        str(table),
        "--objective",
        "acc",
        "--methods",
        "random,nsga3",
    ]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "unknown method 'nsga3'" in err and err.count("\n") == 1


def test_a_family_of_policies_shares_the_budget_and_finds_each_members_answer():
    """tnd-family: one member per beta, every member learning from all the samples; the budget
    is the family's, and a member that ignores the cost finds the best cell."""
    from tndnas.objectives import RewardTerm
    from tndnas.tabular_benchmark.methods import tnd_family

    space = TabularSpace("acc", {c: smooth(c) for c in CELLS})
    space.costs["lat"] = {c: 1.0 + sum(o == CONV3 for o in c) for c in CELLS}
    cfg = load_search_config("nb201-c10")
    q = tnd_family(space, 300, 0, cfg, [[], [RewardTerm("lat", 1.0, 1.0, -2.0)]])
    assert len(q.observed) == 300 and len(q.finals) == 2
    assert q.finals[0] == (CONV3,) * 6  # accuracy alone: the best cell
    assert sum(o == CONV3 for o in q.finals[1]) < 6  # the cost's member: a cheaper one


def test_the_hypervolume_agrees_with_pymoos_exact_indicator():
    """Two objectives: tndnas.pareto.hypervolume equals pymoo's on random fronts; three: the
    N-D hypervolume (pymoo) of one point is its box, and of two boxes their union."""
    import random as rnd

    from tndnas.pareto import hypervolume_nd

    r = rnd.Random(0)
    for _ in range(20):
        pts = [(r.uniform(50, 95), r.uniform(0.1, 2.0)) for _ in range(r.randrange(1, 40))]
        ref = (r.uniform(40, 80), r.uniform(1.0, 2.5))
        ours = hypervolume(pts, ref)
        assert hypervolume_nd(pts, ref, (True, False)) == pytest.approx(ours, rel=1e-12, abs=1e-12)
    one = hypervolume_nd([(0.9, 1.0, 2.0)], (0.5, 3.0, 4.0), (True, False, False))
    assert one == pytest.approx(0.4 * 2.0 * 2.0)
    two = hypervolume_nd([(0.9, 1.0, 2.0), (0.7, 0.5, 1.0)], (0.5, 3.0, 4.0), (True, False, False))
    assert two == pytest.approx(1.6 + 0.2 * 2.5 * 3.0 - 0.2 * 2.0 * 2.0)


def test_a_front_of_two_costs_is_scored_by_the_exact_three_objective_hypervolume(tmp_path):
    """--cost A+B: Eq. (10) rewards (one term per cost) and the exact 3-D hypervolume (pymoo);
    querying every cell finds the table's front exactly."""
    table = write_table(tmp_path / "t.csv", CELLS, {"acc": smooth, "lat": lambda c: 1.0 + sum(c)})
    space = load_tabular_space(table, "acc", ["params+lat"])
    assert {"params", "lat"} <= set(space.costs)
    cfg = load_search_config("nb201-c10")
    res = run_benchmark(space, cfg, [len(CELLS)], 1, ["params+lat"], methods=["random"])
    assert res["results"]["accuracy+params+lat"]["random"][len(CELLS)]["mean"] == pytest.approx(1.0)
    res = run_benchmark(
        space, cfg, [30], 2, ["params+lat"], methods=["tnd-nas", "evolution", "nsga2"]
    )
    for method in ("tnd-nas", "evolution", "nsga2"):
        assert 0.0 < res["results"]["accuracy+params+lat"][method][30]["mean"] < 1.0
