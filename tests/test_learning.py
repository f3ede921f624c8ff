"""Does alpha learn, and only from signal?  Baselines, the skip-dropout schedule, the per-stage
learning figures, a pure-noise control in a real search, and the dynamics benchmark."""

import dataclasses
import json
import math

import pytest
import torch

from tndnas.config import ConfigError, load_search_config
from tndnas.data import register_dataset
from tndnas.data.datasets import read_digits
from tndnas.search import search
from tndnas.search.diagnostics import STILL_ENTROPY_RATIO, max_entropy, still_warning
from tndnas.search.stages import alpha_updates
from tndnas.search.weight_step import SKIP_DROPOUT_SCHEDULES, pdarts_skip_dropout
from tndnas.strategy import CategoricalPolicy, MovingAverageBaseline, Reinforce, policy_lr

from .tiny import TINY_SEARCH


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------ baselines
def test_leave_one_out_baseline_is_the_other_samples_mean():
    b = MovingAverageBaseline(decay=0.9, mode="leave_one_out")
    r = torch.tensor([1.0, 2.0, 6.0])
    assert b.current(r).tolist() == [4.0, 3.5, 1.5]
    b.update(r)
    r2 = torch.tensor([10.0, 10.0, 10.0])  # same batch, same reward: no advantage at all
    assert torch.equal(b.current(r2), r2)
    assert torch.equal(b.current(torch.tensor([5.0])), torch.tensor([5.0]))  # M = 1: no step


def test_leave_one_out_steps_ignore_a_shift_common_to_the_batch():
    """The same rewards plus a constant (an easier batch, or weights that improved since the last
    update) give the same step: only differences between the samples move alpha."""
    steps = []
    for shift in (0.0, 0.3):
        gen = torch.Generator().manual_seed(0)
        pol = CategoricalPolicy({"normal": 4, "reduce": 3}, 14, gen)
        rl = Reinforce(pol, 0.1, (0.5, 0.999), 0.0, 0.0, 0.95, baseline_mode="leave_one_out")
        rl.optimizer = torch.optim.SGD(rl.params, lr=1.0)  # the step is the gradient itself
        before = {ct: a.clone() for ct, a in pol.alpha.items()}
        s = pol.sample(6, gen)
        rl.step(s, torch.tensor([0.1, 0.5, 0.2, 0.4, 0.3, 0.6]) + shift)
        steps.append({ct: pol.alpha[ct] - before[ct] for ct in before})
    for ct in steps[0]:
        torch.testing.assert_close(steps[0][ct], steps[1][ct])
        assert steps[0][ct].abs().sum() > 0


def test_unknown_baseline_is_one_line_error():
    with pytest.raises(ConfigError, match="policy.baseline='mean' is invalid; use 'leave_one_out'"):
        load_search_config(preset="quick", overrides=["policy.baseline=mean"])


# ------------------------------------------------------------------ skip-connect dropout
def test_pdarts_skip_dropout_schedule():
    """P-DARTS: linear fall over the weight-only epochs, then start * exp(-0.2 * epochs since)."""
    rates = [pdarts_skip_dropout(0.4, e, 25, 10, 0.2) for e in range(25)]
    assert rates[0] == pytest.approx(0.4 * 24 / 25) and rates[9] == pytest.approx(0.4 * 15 / 25)
    assert rates[10] == pytest.approx(0.4)  # alpha starts: back to the stage's start rate
    assert rates[24] == pytest.approx(0.4 * math.exp(-0.2 * 14))
    assert all(a > b for a, b in zip(rates[10:], rates[11:]))
    assert SKIP_DROPOUT_SCHEDULES["constant"](0.4, 24, 25, 10, 0.2) == 0.4


def test_search_applies_the_skip_dropout_schedule(tmp_path):
    stages = "stages=[{layers: 3, epochs: 3, pretrain_epochs: 1, drop: {normal: 4, reduce: 2}, skip_dropout: 0.5}]"  # fmt: skip
    cfg = load_search_config(preset="quick", overrides=[*TINY_SEARCH, stages, "weights.max_steps_per_epoch=1"])  # fmt: skip
    search(cfg, tmp_path / "r", progress=False, plots=False)
    rates = [r["skip_dropout"] for r in _records(tmp_path / "r") if r["kind"] == "epoch"]
    assert rates == pytest.approx([0.5 * 2 / 3, 0.5, 0.5 * math.exp(-0.2)])
    with pytest.raises(ConfigError, match="weights.skip_dropout_schedule='cosine' is invalid"):
        search(load_search_config(preset="quick", overrides=[*TINY_SEARCH, stages, "weights.skip_dropout_schedule=cosine"]),
               tmp_path / "bad", progress=False, plots=False)  # fmt: skip


# ------------------------------------------------------------------ what a run reports
def test_alpha_update_count_and_stage_learning_figures(tmp_path):
    """The planned number of alpha updates is what a search does; summary.json says per stage how
    far alpha moved and at which learning rate, and a stage whose alpha barely moved is warned
    about on stderr."""
    stages = ("stages=[{layers: 3, epochs: 3, pretrain_epochs: 1, drop: {normal: 4, reduce: 2}},"
              " {layers: 3, epochs: 2, pretrain_epochs: 1, drop: {normal: 3, reduce: 2}}]")  # fmt: skip
    over = ["policy.lr=auto", "policy.noise_walk=1e-4", "weights.batch_size=256"]  # alpha stays
    cfg = load_search_config(preset="quick", overrides=[*TINY_SEARCH, stages, *over])
    summary = search(cfg, tmp_path / "r", progress=False, plots=False)
    recs = _records(tmp_path / "r")
    n_train = len(read_digits().train_y)
    for k in range(2):
        done = [r for r in recs if r["kind"] == "alpha" and r["stage"] == k]
        assert len(done) == alpha_updates(cfg, k, n_train) > 0
        # lr: auto, the budget rule: noise_walk / sqrt(the stage's updates), recorded per stage
        assert summary["stages"][k]["policy_lr"] == pytest.approx(1e-4 / math.sqrt(len(done)))
    assert alpha_updates(cfg, 0, n_train) != alpha_updates(cfg, 1, n_train)
    assert [s["stage"] for s in summary["stages"]] == [0, 1]
    first = summary["stages"][0]
    assert first["entropy_max"] == pytest.approx((math.log(10) + math.log(6)) / 2)
    assert first["entropy_start"] == pytest.approx(first["entropy_max"], rel=1e-5)
    assert first["entropy_end_ratio"] >= STILL_ENTROPY_RATIO  # lr 1e-5: alpha did not move
    assert "barely moved" in first["warning"] and "policy.samples" in first["warning"]
    assert 0 <= first["argmax_changed_share"] <= 1
    stage_recs = [r for r in recs if r["kind"] == "stage"]
    assert stage_recs[1]["entropy_max"] == pytest.approx((math.log(6) + math.log(4)) / 2)


def test_lr_auto_is_checked_and_a_fixed_rate_kept():
    """A fixed ``policy.lr`` is every stage's rate; ``auto`` needs the stage's updates; a wrong
    value is one line."""
    fixed = load_search_config(preset="quick", overrides=["policy.lr=0.02"]).policy
    assert policy_lr(fixed, 7) == policy_lr(fixed, 700) == 0.02
    auto = load_search_config(preset="quick", overrides=["policy.lr=auto", "policy.noise_walk=3"])
    assert policy_lr(auto.policy, 25) == pytest.approx(0.6)
    with pytest.raises(ConfigError, match="policy.lr='fast' is invalid"):
        load_search_config(preset="quick", overrides=["policy.lr=fast"])
    with pytest.raises(ConfigError, match="policy.noise_walk"):
        load_search_config(preset="quick", overrides=["policy.lr=auto", "policy.noise_walk=0"])


def test_lr_auto_keeps_the_noise_walk_of_a_short_and_a_long_stage():
    """The budget rule's promise: on pure noise a stage of 9 updates and one of 900, each at
    noise_walk / sqrt(updates), end at about the same entropy (both near the maximum), where one
    fixed rate lets the long stage wander 10 times as far; on a known answer the long stage,
    which has more signal, is the surer."""
    from tndnas.strategy import PolicyStrategy

    cfg = load_search_config(preset="quick", overrides=["policy.lr=auto"]).policy
    best = [2, 0, 3, 1, 2]
    h_max = math.log(4)

    def run(updates: int, policy_cfg, signal: bool) -> float:
        s = PolicyStrategy({"normal": 4}, 5, policy_cfg, (), updates=updates,
                           init=torch.Generator().manual_seed(0), generator=torch.Generator().manual_seed(1))  # fmt: skip
        noise = torch.Generator().manual_seed(2)
        for _ in range(updates):
            paths = s.ask()
            if signal:
                accs = [sum(o == b for o, b in zip(p["normal"], best)) / 5 for p in paths]
            else:
                accs = torch.rand(len(paths), generator=noise).tolist()
            s.tell(paths, accs, [{} for _ in paths])
        return float(s.policy.entropy()) / h_max, s

    (short, _), (long, _) = run(9, cfg, False), run(900, cfg, False)
    assert short > 0.9 and long > 0.9 and abs(short - long) < 0.05, (short, long)
    fixed = dataclasses.replace(cfg, lr=policy_lr(cfg, 9))  # the short stage's rate, kept fixed
    wander, _ = run(900, fixed, False)
    assert 1 - wander > 3 * (1 - long), (wander, long)
    (h_short, _), (h_long, s_long) = run(9, cfg, True), run(900, cfg, True)
    assert s_long.best()["normal"] == best and h_long < h_short


def test_still_warning_only_for_a_stage_that_did_not_move():
    moved = {"entropy_end": 1.5, "entropy_max": 2.0, "entropy_end_ratio": 0.75, "alpha_updates": 9}
    still = {
        "entropy_end": 1.99,
        "entropy_max": 2.0,
        "entropy_end_ratio": 0.995,
        "alpha_updates": 9,
    }
    assert still_warning(0, moved) is None
    assert still_warning(2, still).startswith("stage 2's alpha barely moved")
    one_op = {"entropy_end": 0.0, "entropy_max": 0.0, "entropy_end_ratio": 0.0, "alpha_updates": 9}
    assert still_warning(0, one_op) is None
    assert max_entropy({"normal": torch.zeros(14, 3), "reduce": torch.zeros(14, 2)}) == (
        pytest.approx((math.log(3) + math.log(2)) / 2)
    )


def test_ranking_check_parts():
    """The noise level of Kendall's tau, which ops count as weight-free (by their weights, so a
    plug-in's op is judged too), the argmax share, and the warning only at or below noise."""
    from tndnas.search.trust import (
        candidates_weight_free_share,
        noise_tau,
        untrusted_warning,
        weight_free,
        weight_free_share,
    )

    assert noise_tau(32) == pytest.approx(0.205, abs=1e-3) and noise_tau(100) < noise_tau(32)
    free = ["none", "skip_connect", "avg_pool_3x3", "max_pool_3x3"]
    assert all(weight_free(n) for n in free)
    assert not any(weight_free(n) for n in ["sep_conv_3x3", "dil_conv_5x5", "nor_conv_3x3"])
    cands = {"normal": [["none", "sep_conv_3x3"]] * 3, "reduce": [["avg_pool_3x3", "conv_1x1"]]}
    argmax = {"normal": torch.tensor([0, 1, 1]), "reduce": torch.tensor([0])}
    assert weight_free_share(argmax, cands) == 0.5
    assert candidates_weight_free_share(cands) == 0.5  # half of each edge's two candidates
    nb201 = {"normal": [["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]]}
    assert candidates_weight_free_share(nb201) == pytest.approx(0.6)
    check = {"ranking_tau": 0.2, "ranking_noise_tau": 0.205, "ranking_cells": 32}
    assert "no better than noise" in untrusted_warning(1, check, 128)
    assert "stages.N.pretrain_epochs" in untrusted_warning(1, check, 128)
    assert untrusted_warning(1, {**check, "ranking_tau": 0.5}, 128) is None
    biased = {**check, "ranking_tau": 0.6, "weight_free_share": 0.83, "weight_free_candidates": 0.6}
    assert "prefers ops without weights: 83 %" in untrusted_warning(0, biased, 128)
    fair = {**biased, "weight_free_share": 0.71}  # within 0.2 of the candidates' share
    assert untrusted_warning(0, fair, 128) is None


def _noise_digits(data_dir=None, download=False):
    """digits with every label redrawn at random: no architecture can beat chance."""
    ds = read_digits()
    gen = torch.Generator().manual_seed(0)
    ds.train_y = torch.randint(0, 10, ds.train_y.shape, generator=gen)
    return ds


def test_pure_noise_control_in_a_real_search(tmp_path):
    """Random labels and no cost term: every reward is noise.  With the quick preset's policy
    (lr, baseline, Adam) and as many updates as its first stage, alpha must stay near uniform:
    entropy at least 0.9 of its maximum (the dynamics benchmark's target for quick)."""
    register_dataset("noise-digits", _noise_digits, overwrite=True)
    quick = load_search_config(preset="quick")
    updates = alpha_updates(quick, 0, len(read_digits().train_y))
    overrides = [
        *TINY_SEARCH, "dataset.name=noise-digits", "weights.mode=sampled", "policy.samples=4",
        "weights.batch_size=8", f"weights.max_steps_per_epoch={updates}", "policy.eval_images=256",
        "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, drop: {normal: 4, reduce: 2}}]",
    ]  # fmt: skip
    cfg = load_search_config(preset="quick", overrides=overrides)
    summary = search(cfg, tmp_path / "noise", progress=False, plots=False)
    stage = summary["stages"][0]
    assert stage["alpha_updates"] == updates
    assert stage["entropy_end_ratio"] >= 0.9, stage
    # the ranking check sees it without a table: two halves of the data rank the sub-networks
    # no better than noise; with the real labels, the same short search ranks them alike
    assert stage["ranking_tau"] <= stage["ranking_noise_tau"], stage
    assert "no better than noise" in stage["trust_warning"]
    real = load_search_config(preset="quick", overrides=[*overrides, "dataset.name=digits"])
    stage = search(real, tmp_path / "real", progress=False, plots=False)["stages"][0]
    assert stage["ranking_tau"] > stage["ranking_noise_tau"] and stage["trust_warning"] is None
    # normal cells: 2 of 10 candidates weight-free; reduction cells: all 6 (at stride 1)
    assert stage["weight_free_candidates"] == pytest.approx(0.6)
    assert 0 <= stage["weight_free_share"] <= 1


# ------------------------------------------------------------------ the dynamics benchmark
def test_policy_dynamics_benchmark_shape_and_quick_targets(tmp_path, capsys):
    from benchmarks.policy_dynamics import main as dynamics

    out = tmp_path / "dyn.json"
    res = dynamics(["--preset", "quick", "--seeds", "4", "--jobs", "1", "--json", str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(res))
    assert set(saved) == {"preset", "stages"} and saved["preset"] == "quick"
    assert [s["candidates"] for s in saved["stages"]] == [
        {"normal": 10, "reduce": 6}, {"normal": 6, "reduce": 4}, {"normal": 3, "reduce": 2},
    ]  # fmt: skip
    quick = load_search_config(preset="quick")
    n_train = len(read_digits().train_y)
    for k, st in enumerate(saved["stages"]):
        assert set(st) == {
            "candidates",
            "updates",
            "p_best",
            "correct_argmax_share",
            "noise_entropy_ratio",
        }
        assert st["updates"] == alpha_updates(quick, k, n_train)
        assert set(st["p_best"]) == set(st["correct_argmax_share"]) == {"0.05", "0.1", "0.3"}
        assert st["noise_entropy_ratio"] >= 0.88  # pure noise: alpha stays put (4 seeds)
        # a strong signal is found on most edges (chance: 1/10 to 1/2; 0.89 in stage 1 here)
        assert st["correct_argmax_share"]["0.3"] >= 0.8
        assert st["p_best"]["0.3"] > st["p_best"]["0.05"]
    assert "noise entropy" in capsys.readouterr().out
