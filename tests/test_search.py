"""TND-NAS search: policy gradient, baseline, shrinking, scoring, cost-only convergence, resume."""

import json
import math
import shutil

import pytest
import torch

from tndnas.cli import main
from tndnas.config import ConfigError, load_search_config
from tndnas.macro import Macro
from tndnas.op_sets import resolve_op_set
from tndnas.runtime import save_atomic
from tndnas.search import search
from tndnas.search.scoring import score_paths
from tndnas.spaces.darts.supernet import Supernet
from tndnas.strategy import CategoricalPolicy, MovingAverageBaseline, Reinforce, shrink_keep

from .tiny import TINY, TINY_SEARCH, tiny


# ------------------------------------------------------------------ policy and REINFORCE
def test_analytic_gradient_equals_autograd():
    gen = torch.Generator().manual_seed(0)
    pol = CategoricalPolicy({"normal": 6, "reduce": 4}, 14, gen, init_std=1.0)
    samples = pol.sample(7, gen)
    coeff = torch.randn(7, generator=gen)
    analytic = pol.log_prob_grad(samples, coeff)
    for a in pol.alpha.values():
        a.requires_grad_(True)
    (coeff * pol.log_prob(samples)).sum().backward()
    for ct, a in pol.alpha.items():
        torch.testing.assert_close(analytic[ct], a.grad)
    # entropy gradient as well
    for a in pol.alpha.values():
        a.grad = None
    n_edges = 28
    (pol.entropy() * n_edges).backward()
    for ct, g in pol.entropy_grad().items():
        torch.testing.assert_close(g, pol.alpha[ct].grad)


def test_reinforce_step_matches_autograd_loss():
    gen = torch.Generator().manual_seed(1)
    pol = CategoricalPolicy({"normal": 5, "reduce": 3}, 14, gen, init_std=0.5)
    ref = {ct: a.clone().requires_grad_(True) for ct, a in pol.alpha.items()}
    rl = Reinforce(
        pol, lr=0.1, betas=(0.5, 0.999), weight_decay=0.0, grad_clip=0.0, baseline_decay=0.9
    )
    # plain SGD on both sides: Adam's first step is sign-like and amplifies float noise near 0
    rl.optimizer = torch.optim.SGD(rl.params, lr=0.1)
    samples = pol.sample(5, gen)
    rewards = torch.rand(5, generator=gen)
    opt = torch.optim.SGD(list(ref.values()), lr=0.1)
    logp = sum(torch.log_softmax(ref[ct], -1).gather(1, samples[ct].T).sum(0) for ct in ref)
    loss = -((rewards - rewards.mean()) * logp).mean()  # Eq. (8), first step: b = batch mean
    loss.backward()
    opt.step()
    rl.step(samples, rewards)
    for ct in ref:
        torch.testing.assert_close(pol.alpha[ct], ref[ct].detach())


@pytest.mark.parametrize(
    "mode, expect_up",
    [({}, False), ({"decoupled_weight_decay": True}, True), ({"normalize_advantage": True}, True)],
)
def test_tiny_rewards_are_not_swamped_by_weight_decay(mode, expect_up):
    """Rewards of 1e-6: Adam's coupled decay outweighs them and alpha follows the decay, against
    the reward (the trap the README warns of); AdamW or a normalised advantage follow the reward."""
    gen = torch.Generator().manual_seed(3)
    pol = CategoricalPolicy({"normal": 2, "reduce": 2}, 14, gen)
    for a in pol.alpha.values():
        a.data[:, 0], a.data[:, 1] = 1.0, 0.0  # op 0 likelier and rewarded
    rl = Reinforce(pol, 0.01, (0.5, 0.999), 0.01, 0.0, 0.9, **mode)
    for _ in range(40):
        s = pol.sample(8, gen)
        rewards = 1e-6 * (s["normal"][:, 0] == 0).float()  # op 0 on the first normal edge
        rl.step(s, rewards)
    gap = float(pol.alpha["normal"][0, 0] - pol.alpha["normal"][0, 1])
    assert (gap > 1.0) == expect_up, gap


def test_normalized_advantage_of_equal_rewards_is_no_step():
    """Equal rewards (or M = 1) have no spread: no step, not a division by about zero."""
    gen = torch.Generator().manual_seed(4)
    pol = CategoricalPolicy({"normal": 3, "reduce": 3}, 14, gen, init_std=0.5)
    rl = Reinforce(pol, 0.1, (0.5, 0.999), 0.0, 0.0, 0.9, normalize_advantage=True)
    rl.optimizer = torch.optim.SGD(rl.params, lr=0.1)  # plain SGD: the step is the gradient
    s = pol.sample(4, gen)
    rl.step(s, torch.tensor([1.0, 2.0, 3.0, 4.0]))  # a real step; the baseline is now 2.5
    for rewards in (torch.full((4,), 7.0), torch.tensor([5.0])):
        before = {ct: a.clone() for ct, a in pol.alpha.items()}
        rl.step({ct: v[: len(rewards)] for ct, v in s.items()}, rewards)
        for ct in before:
            assert torch.equal(pol.alpha[ct], before[ct])


def test_baseline_uses_only_previous_rewards():
    b = MovingAverageBaseline(decay=0.9)
    r0, r1, r2 = torch.tensor([1.0, 3.0]), torch.tensor([10.0, 10.0]), torch.tensor([0.0, 0.0])
    assert b.current(r0).tolist() == [2.0, 2.0]  # first step: its own mean
    b.update(r0)
    assert b.current(r1).tolist() == [2.0, 2.0]  # not influenced by r1
    b.update(r1)
    assert b.current(r2).tolist() == pytest.approx([0.9 * 2.0 + 0.1 * 10.0] * 2)


def test_reinforce_returns_previous_baseline():
    gen = torch.Generator().manual_seed(2)
    pol = CategoricalPolicy({"normal": 3, "reduce": 3}, 14, gen)
    rl = Reinforce(pol, 0.01, (0.5, 0.999), 0.0, 5.0, baseline_decay=0.5)
    s = pol.sample(2, gen)
    assert rl.step(s, torch.tensor([1.0, 1.0])) == 1.0
    assert rl.step(s, torch.tensor([5.0, 5.0])) == 1.0
    assert rl.step(s, torch.tensor([0.0, 0.0])) == pytest.approx(3.0)


def test_shrink_keep_drops_lowest_per_edge():
    p = torch.tensor([[0.1, 0.4, 0.2, 0.3], [0.5, 0.1, 0.3, 0.1]])
    assert shrink_keep(p, 2) == [[1, 3], [0, 2]]
    assert shrink_keep(p, 0) == [[0, 1, 2, 3], [0, 1, 2, 3]]


# ------------------------------------------------------------------ scoring
def test_scoring_leaves_batchnorm_statistics_unchanged():
    cand = {
        "normal": [list(resolve_op_set("tnd-normal"))] * 14,
        "reduce": [list(resolve_op_set("tnd-reduce"))] * 14,
    }
    net = Supernet(cand, Macro(channels=4, layers=3, image_size=8, in_channels=1), skip_dropout=0.5)
    net.train()
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    net(x, {ct: torch.full((14, len(c[0])), 1.0 / len(c[0])) for ct, c in cand.items()})
    before = {k: v.clone() for k, v in net.state_dict().items()}
    paths = [{"normal": [3] * 14, "reduce": [2] * 14}, {"normal": [8] * 14, "reduce": [1] * 14}]
    a1 = score_paths(net, x, y, paths)
    a2 = score_paths(net, x, y, paths)
    torch.testing.assert_close(a1, a2)  # no dropout: deterministic
    after = net.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert net.training  # mode restored


# ------------------------------------------------------------------ end to end
def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.xdist_group("tiny_run")  # one worker runs the shared search once
def test_search_end_to_end_and_eq11_between_stages(tiny_run):
    run = tiny_run
    summary = json.loads((run / "summary.json").read_text())
    for f in (
        "config.yaml",
        "run.json",
        "metrics.jsonl",
        "genotype.json",
        "genotype_stage0.json",
        "genotype_stage1.json",
        "summary.json",
        "checkpoint.pt",
    ):
        assert (run / f).exists(), f
    for p in (
        "accuracy.png",
        "cost.png",
        "reward.png",
        "epochs.png",
        "alpha_stage0.png",
        "alpha_stage1.png",
        "cell_normal.png",
        "cell_reduce.png",
        "argmax_ops_normal.png",
    ):
        assert (run / "plots" / p).stat().st_size > 1000, p
    assert summary["params"] > 0 and summary["flops"] > 0 and len(summary["seconds_per_stage"]) == 2
    # Eq. (11): stage 1's candidates are stage 0's top-6 (normal) / top-4 (reduce) by softmax(alpha)
    last0 = json.loads((run / "alpha" / "stage0_epoch001.json").read_text())
    first1 = json.loads((run / "alpha" / "stage1_epoch000.json").read_text())
    for ct, drop in (("normal", 4), ("reduce", 2)):
        probs = torch.softmax(torch.tensor(last0[ct]["alpha"]), -1)
        keep = shrink_keep(probs, drop)
        expect = [[last0[ct]["ops"][e][i] for i in keep[e]] for e in range(14)]
        assert first1[ct]["ops"] == expect
        assert len(first1[ct]["ops"][0]) == (6 if ct == "normal" else 4)
    recs = _records(run)
    alpha = [r for r in recs if r["kind"] == "alpha"]
    assert alpha and all(r["stage"] in (0, 1) for r in alpha)
    assert all(
        r["epoch"] >= 1 for r in alpha if r["stage"] == 0
    )  # pretraining epoch has no alpha update
    assert any("argmax_acc" in r for r in alpha)
    assert all(
        set(r)
        >= {
            "reward_mean",
            "reward_max",
            "baseline",
            "acc_max",
            "entropy",
            "costs_mean",
        }
        and set(r["costs_mean"]) == {"params", "flops"}  # reward.log_costs and the reward's
        for r in alpha
    )
    epochs = [r for r in recs if r["kind"] == "epoch"]
    assert len(epochs) == 4 and all(0 <= r["arch_acc_argmax"] <= 1 for r in epochs)


def _strip(recs):
    return [
        {k: v for k, v in r.items() if k not in ("seconds", "eval_seconds", "peak_memory_mb")}
        for r in recs
    ]


@pytest.mark.xdist_group("tiny_run")  # one worker runs the shared search once
def test_resume_after_interruption_gives_same_result(tmp_path, monkeypatch, tiny_run):
    import tndnas.search.epoch as alg

    cfg = tiny()
    full = tiny_run  # the same config, run once for the whole suite
    real = alg.weight_step
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 8:  # in the middle of stage 0's 2nd epoch... after one checkpoint
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(alg, "weight_step", dying)
    with pytest.raises(KeyboardInterrupt):
        search(cfg, tmp_path / "cut", progress=False, plots=False)
    monkeypatch.setattr(alg, "weight_step", real)
    # the interrupted run left alpha records of the unfinished epoch: resume must drop them
    search(cfg, tmp_path / "cut", resume=True, progress=False, plots=False)
    assert (tmp_path / "cut" / "genotype.json").read_text() == (full / "genotype.json").read_text()
    assert _strip(_records(tmp_path / "cut")) == _strip(_records(full))
    # real kills (SIGKILL) of a search process: test_failure_paths, at random moments


def cost_only(reward: str, updates: int = 350, *extra: str):
    """A one-stage search on the costs alone (no accuracy) of ``updates`` alpha updates, with the
    policy of the ``paper-c10`` preset as it is (M, lr, Adam, baseline); a tiny sampled-weights
    supernet on digits and a 64-channel target.  ``reward``: the keys of the stage's params
    term, e.g. ``"ref: 3.0, beta: -2.0"``; ``extra``: further overrides."""
    return load_search_config(
        preset="paper-c10",
        overrides=[
            "dataset.name=digits", "space.channels=4", "weights.batch_size=2", "weights.mode=sampled",
            "weights.crop_padding=1", "weights.flip=false", f"weights.max_steps_per_epoch={updates}",
            "reward.accuracy=false", "target.channels=64", "target.layers=5",
            f"stages=[{{layers: 3, epochs: 1, pretrain_epochs: 0, skip_dropout: 0.0, costs: [{{cost: params, {reward}}}]}}]",
            *extra,
        ],
    )  # fmt: skip


def drive_cost_only(cfg, run_dir) -> tuple[list[dict], dict, float]:
    """The alpha updates of a cost-only search's single stage, without its weight steps (with
    ``reward.accuracy=false`` the weights never reach the reward): the product's policy, REINFORCE
    and reward code on the real cost table.  Returns the update records, the final genotype
    (dict) and its target network's params (M)."""
    from tndnas.search.algorithm import Search
    from tndnas.search.steps import alpha_step
    from tndnas.spaces.darts.genotype import derive_genotype

    s = Search(cfg, run_dir)
    stage = s._new_stage(0, s.initial_candidates)
    x = torch.zeros(2, s.data.in_channels, s.data.image_size, s.data.image_size)
    y = s.data.train_y[:2]
    updates = cfg.weights.max_steps_per_epoch
    records = [
        alpha_step(cfg, 0, stage, x, y, s.initial_candidates, s.costs, s.cost_ctx, False)
        for _ in range(updates)
    ]
    geno = derive_genotype(stage.policy.probs(), s.initial_candidates, cfg.space.steps)
    return records, geno.to_dict(), s.cost_ctx.table.cost(geno).params / 1e6


def test_cost_only_search_follows_the_sign_of_beta(tmp_path):
    """Acc off: beta > 0 on params drives the normal cell to conv_3x3 (Fig. 5), beta < 0 to
    none/skip (Fig. 6), with the paper-c10 preset's policy settings unchanged."""
    results = {}
    for beta in (2.0, -2.0):
        alpha, geno, _ = drive_cost_only(cost_only(f"ref: 3.0, beta: {beta}"), tmp_path / "r")
        assert all(r["acc_max"] is None for r in alpha)  # nothing was scored
        first = sum(r["costs_mean"]["params"] for r in alpha[:5]) / 5
        last = sum(r["costs_mean"]["params"] for r in alpha[-5:]) / 5
        results[beta] = ([e[0] for e in geno["normal"]], first, last)
    ops, first, last = results[2.0]
    assert sum(o == "conv_3x3" for o in ops) >= 7 and last > 2 * first, results[2.0]
    ops, first, last = results[-2.0]
    assert sum(o in ("none", "skip_connect") for o in ops) >= 8 and last < first / 2, results[-2.0]


def test_reward_terms_carry_every_exponent(tmp_path):
    from tndnas.search.algorithm import Search
    from tndnas.search.stages import reward_terms

    terms = (
        "stages.0.costs=[{cost: params, weight: 0.6, ref: 0.05, beta: -0.3, beta_below: 0.5},"
        " {cost: flops, weight: 0.4, ref: 5.0, beta: -1.0, beta_below: 0.0}]"
    )
    s = Search(tiny(terms, "reward.log_costs=[]"), tmp_path / "r")
    assert list(s.costs) == ["params", "flops"]  # every cost of the reward is computed
    primary, term = reward_terms(s.cfg, 0)
    assert (primary.cost, primary.weight, primary.beta, primary.beta_below) == (
        "params",
        0.6,
        -0.3,
        0.5,
    )
    assert (term.cost, term.weight, term.ref, term.beta, term.beta_below) == (
        "flops",
        0.4,
        5.0,
        -1.0,
        0.0,
    )
    assert reward_terms(s.cfg, 1)[0].beta_below is None  # stage 1 keeps Eq. 9


def test_candidates_left_and_too_many_drops(tmp_path):
    from tndnas.search.algorithm import Search
    from tndnas.search.stages import candidates_left

    cfg = tiny()  # quick op sets: 10 normal, 6 reduce; TINY drops 4/2 then 3/2
    assert [candidates_left(cfg, k) for k in range(3)] == [
        {"normal": 10, "reduce": 6},
        {"normal": 6, "reduce": 4},
        {"normal": 3, "reduce": 2},
    ]
    # every drop that does not fit is named at once, each with the value that fits
    with pytest.raises(ConfigError) as err:
        Search(
            tiny("stages.1.drop.reduce=4", "stages.0.drop.normal=12", "stages.0.drop.cell=1"),
            tmp_path / "r",
        )
    msg = str(err.value)
    assert (
        "stages.0.drop.cell names no cell type of space 'darts' (its cell types: normal, reduce)"
        in msg
    )
    assert "stages.0.drop.normal=12 leaves no normal candidate of 10 (at most 9)" in msg
    assert "stages.1.drop.reduce=4 leaves no reduce candidate of 4 (at most 3)" in msg
    assert "\n" not in msg


def test_drops_as_shares_follow_the_op_set(tmp_path):
    """quick's drops are shares of the candidates: its 10/6 op sets drop 4/2, 3/2, 2/1 as the
    paper's counts, and a 3-op set or one without skip_connect searches with quick as it is."""
    from tndnas.op_sets import register_op_set
    from tndnas.search.stages import candidates_left, drop_count, stage_drops

    assert stage_drops(load_search_config(preset="quick")) == [
        {"normal": 4, "reduce": 2}, {"normal": 3, "reduce": 2}, {"normal": 2, "reduce": 1}
    ]  # fmt: skip
    assert [drop_count(0.4, n) for n in (10, 3, 1)] == [4, 1, 0] and drop_count(3, 10) == 3
    register_op_set("three-ops", ["sep_conv_3x3", "max_pool_3x3", "skip_connect"], overwrite=True)
    no_skip = ["none", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
               "max_pool_3x3", "avg_pool_3x3", "conv_3x3", "conv_1x1"]  # fmt: skip
    register_op_set("no-skip", no_skip, overwrite=True)
    short = [*TINY_SEARCH, "stages.*.epochs=1", "stages.*.pretrain_epochs=0"]
    cfg = load_search_config(preset="quick", overrides=[*short, "space.normal_ops=no-skip"])
    assert [candidates_left(cfg, k)["normal"] for k in range(4)] == [9, 5, 2, 1]
    cfg = load_search_config(
        preset="quick",
        overrides=[*short, "space.normal_ops=three-ops", "space.reduce_ops=three-ops"],
    )
    assert [candidates_left(cfg, k) for k in (1, 2, 3)] == [
        {"normal": 2, "reduce": 2}, {"normal": 1, "reduce": 1}, {"normal": 1, "reduce": 1}
    ]  # fmt: skip
    summary = search(cfg, tmp_path / "three", progress=False, plots=False)
    ops = {e[0] for ct in ("normal", "reduce") for e in summary["genotype"][ct]}
    assert ops <= {"sep_conv_3x3", "max_pool_3x3", "skip_connect"}
    with pytest.raises(ConfigError, match=r"stages.0.drop.normal=2.5 is invalid; give a whole"):
        tiny("stages.0.drop.normal=2.5")


def test_beta_below_zero_makes_ref_a_budget(tmp_path):
    """Cost only, beta = -2 on params, P = 1.5 M, the first samples about 3.8 M: Eq. 9 keeps
    pushing the networks down below P, while beta_below = 0 (no reward for being smaller than
    P) lets them settle near it, and the found network is within it."""
    last, final = {}, {}
    for name, below in (("paper", "null"), ("budget", "0.0")):
        cfg = cost_only(f"ref: 1.5, beta: -2.0, beta_below: {below}", updates=450)
        alpha, _, final[name] = drive_cost_only(cfg, tmp_path / name)
        assert sum(r["costs_mean"]["params"] for r in alpha[:5]) / 5 > 3.0  # binds at first
        last[name] = sum(r["costs_mean"]["params"] for r in alpha[-20:]) / 20
    assert 1.5 * 0.8 <= last["budget"] <= 1.5 * 1.2 and final["budget"] <= 1.5, (last, final)
    assert last["paper"] < 0.9 * last["budget"], (last, final)


def test_cli_search_quick_preset_and_errors(tmp_path, capsys):
    out = tmp_path / "q"
    small = [  # the quick preset's three stages, shorter and smaller
        "weights.max_steps_per_epoch=1",
        "policy.samples=2",
        "space.channels=4",
        "policy.arch_batch_size=32",
        "policy.eval_images=32",
        "stages.0.epochs=3",
        "stages.1.epochs=3",
        "stages.2.epochs=3",
    ]
    rc = main(["search", "--preset", "quick", "--out", str(out), "--no-progress", "--no-plots",
               *[a for s in small for a in ("--set", s)]])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "genotype.json" in text and f"tndnas plot {out}" in text
    assert not (out / "plots" / "cell_normal.png").exists()
    # the same directory again is refused; resume of a finished run just reports it
    assert main(["search", "--out", str(out), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["search", "--resume", str(out), "--no-progress"]) == 0
    capsys.readouterr()  # `tndnas plot` on a run: tests/test_plugins.py, test_report.py
    for bad in (
        ["--set", "weights.lrr=0.1"],
        ["--set", "stages.0.epochs=abc"],
        ["--set", "stages.9.costs.0.beta=1"],
        ["--dataset", "mnist"],
    ):
        rc = main(["search", "--out", str(tmp_path / "bad"), "--no-progress", *bad])
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and err.startswith("tndnas: error:"), (bad, err)
    assert math.isfinite(json.loads((out / "summary.json").read_text())["seconds_total"])


def test_resume_corrupt_checkpoint_is_one_line_error(tmp_path, capsys):
    out = tmp_path / "r"
    search(
        tiny("stages=[{layers: 3, epochs: 1, pretrain_epochs: 0}]"),
        out,
        progress=False,
        plots=False,
    )
    (out / "summary.json").unlink()
    (out / "checkpoint.pt").write_bytes(b"garbage")
    capsys.readouterr()  # the search's own warnings (a tiny stage barely moves alpha)
    assert main(["search", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1


@pytest.mark.xdist_group("tiny_run")  # one worker runs the shared search once
def test_resume_on_another_kind_of_device_is_refused_in_one_line(tmp_path, capsys, tiny_run):
    """A run written on CUDA cannot continue on the CPU (nor the reverse): its generator states
    differ.  Simulated by relabelling a CPU checkpoint, and by an older checkpoint without the
    label whose generator state has the other device's size."""
    out = tmp_path / "r"
    shutil.copytree(tiny_run, out)
    (out / "summary.json").unlink()
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["device_type"] == "cpu"
    save_atomic({**ckpt, "device_type": "cuda"}, out / "checkpoint.pt")
    capsys.readouterr()  # the search's own warnings (a tiny stage barely moves alpha)
    assert main(["search", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "written by a run on cuda and cannot continue on cpu" in err and err.count("\n") == 1
    # an older checkpoint (no device_type) from inside a stage, with a CUDA-sized generator state
    cut = tmp_path / "cut"
    search(
        tiny("stages=[{layers: 3, epochs: 1, pretrain_epochs: 0}]"),
        cut,
        progress=False,
        plots=False,
    )
    (cut / "summary.json").unlink()
    ckpt = torch.load(cut / "checkpoint.pt", weights_only=True)
    ckpt.pop("device_type")
    ckpt["stage_state"] = {"gen_data": torch.zeros(16, dtype=torch.uint8)}
    save_atomic(ckpt, cut / "checkpoint.pt")
    assert main(["search", "--resume", str(cut)]) == 2
    assert "written by a run on cuda" in capsys.readouterr().err


def test_authors_baseline_variant_updates_before_use():
    """policy.baseline=current, decay 0.05: the authors' b += 0.95 * (mean - b), from b = 0."""
    b = MovingAverageBaseline(decay=0.05, mode="current")
    r0, r1 = torch.tensor([1.0, 3.0]), torch.tensor([10.0, 10.0])
    assert b.current(r0).tolist() == pytest.approx([0.95 * 2.0] * 2)
    b.update(r0)
    assert b.current(r1).tolist() == pytest.approx([0.95 * 2.0 + 0.95 * (10.0 - 0.95 * 2.0)] * 2)
    with pytest.raises(ValueError):
        MovingAverageBaseline(0.9, mode="next")
    cfg = load_search_config(preset="quick", overrides=["policy.baseline=current"])
    assert cfg.policy.baseline == "current"
    from tndnas.config import ConfigError

    with pytest.raises(ConfigError, match="policy.baseline"):
        load_search_config(preset="quick", overrides=["policy.baseline=next"])


def test_the_summary_says_whether_a_hard_budget_holds():
    from tndnas.search.summary import budgets

    term = "{cost: params, weight: 0.5, ref: 0.05, beta: -0.3, beta_below: 0.0}"
    cfg = tiny(
        f"stages=[{{layers: 3, epochs: 1, pretrain_epochs: 0, costs: [{term}, {{cost: flops, weight: 0.5, ref: 1.0, beta: -0.1}}]}}]"
    )
    over = budgets(cfg, {"params": 0.06, "flops": 2.0})  # flops: a soft term, not a budget
    assert over == [
        {"cost": "params", "budget": 0.05, "value": 0.06, "over_by_pct": pytest.approx(20.0)}
    ]
    assert budgets(cfg, {"params": 0.04, "flops": 2.0})[0]["over_by_pct"] == 0.0
    assert budgets(tiny(), {"params": 0.06}) == []  # Eq. 9 as the paper has it: no budget


def test_a_search_of_another_cell_size_ends_with_a_network_it_can_build(tmp_path):
    """space.steps other than 4: the genotype keeps its steps, so the final network, its costs
    and its training are of the searched cell (not of a 4-step one that cannot be built)."""
    from tndnas.spaces import load_genotype
    from tndnas.train.run import train_network

    from .test_train import _tiny_cfg

    summary = search(tiny("space.steps=3"), tmp_path / "s", progress=False, plots=False)
    geno = load_genotype(tmp_path / "s")
    assert (
        geno.steps == 3 and json.loads((tmp_path / "s" / "genotype.json").read_text())["steps"] == 3
    )
    assert summary["params"] > 0 and all(d <= 4 for _, _, d in geno.normal)  # nodes 2..4
    trained = train_network(_tiny_cfg(), geno, tmp_path / "t", progress=False)
    assert trained["params"] > 0


@pytest.mark.parametrize("mode", ["sampled", "uniform"])
def test_uniform_weight_mode_trains_every_candidate_whatever_the_policy(
    tmp_path, monkeypatch, mode
):
    """``weights.mode: uniform`` draws each weight step's path with every candidate equally
    likely, even from a policy sure of one op per edge; ``sampled`` draws the policy's paths."""
    import tndnas.search.algorithm as alg
    import tndnas.search.epoch as epoch

    paths, real_step, real_stage = [], epoch.weight_step, alg.Search._new_stage

    def spy(*args, path=None, **kwargs):
        paths.append(path)
        return real_step(*args, path=path, **kwargs)

    def sure_policy(self, k, candidates):  # alpha: op 3 (nor_conv_3x3) far ahead on every edge
        s = real_stage(self, k, candidates)
        with torch.no_grad():
            s.policy.alpha["normal"][:, 3] = 30.0
        return s

    monkeypatch.setattr(epoch, "weight_step", spy)
    monkeypatch.setattr(alg.Search, "_new_stage", sure_policy)
    cfg = tiny(
        "dataset.name=digits", "space.name=nb201", "space.normal_ops=nb201", f"weights.mode={mode}",
        "weights.max_steps_per_epoch=20", "policy.rl_interval=10",
        "stages=[{layers: 5, epochs: 2, pretrain_epochs: 0, costs: []}]",
    )  # fmt: skip
    search(cfg, tmp_path / "run", progress=False, plots=False)
    ops = torch.tensor([p["normal"] for p in paths])  # (2 epochs x 20 steps, 6 edges)
    assert ops.shape == (40, 6)
    if mode == "sampled":
        assert bool((ops == 3).all())
    else:  # 240 draws of 5 equally likely ops: each op's share near 1/5, every op on every edge
        shares = torch.bincount(ops.flatten(), minlength=5) / ops.numel()
        assert bool((shares - 0.2).abs().max() < 0.1), shares
        assert all(len(set(ops[:, e].tolist())) >= 4 for e in range(6))


def test_search_on_smaller_images_keeps_the_target_networks_costs(tmp_path, capsys):
    """``weights.image_size``: the supernet trains and is scored on shrunk images while every
    cost stays that of the target network at the dataset's size; a size above the dataset's
    is refused in one sentence."""
    from tndnas.search.algorithm import Search

    full = Search(tiny("dataset.name=digits"), tmp_path / "full")
    small = Search(tiny("dataset.name=digits", "weights.image_size=4"), tmp_path / "small")
    assert (full.data.image_size, small.data.image_size) == (8, 4)
    assert full.target == small.target and small.target.image_size == 8
    assert small._macro(3).image_size == 4
    geno = full.space.derive(
        full._new_stage(0, full.initial_candidates).policy.probs(), full.initial_candidates,
        full.cfg.space,
    )  # fmt: skip
    assert small.cost_ctx.table.cost(geno) == full.cost_ctx.table.cost(geno)
    summary = small.run()  # end to end on 4-pixel images
    assert summary["genotype"] and (tmp_path / "small" / "genotype.json").exists()
    capsys.readouterr()
    run = tmp_path / "big"
    argv = ["search", "--preset", "quick", "--out", str(run), "--no-progress", "--no-plots",
            *[a for s in [*TINY, "dataset.name=digits", "weights.image_size=16"] for a in ("--set", s)]]  # fmt: skip
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "weights.image_size=16 is larger than" in err[0], err
