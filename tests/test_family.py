"""A family of policies on one supernet (``family.betas``, ``tndnas sweep --one-supernet``):
member folders, a family of one equals a search, resume, the sweep's table, errors."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from tndnas.cli import main
from tndnas.config import ConfigError, load_search_config
from tndnas.search import search
from tndnas.search.stages import member_config, member_names, member_samples, member_terms
from tndnas.strategy import FamilyStrategy, PolicyStrategy

from .tiny import tiny

FAMILY = "family.betas=[0.0,-3.0]"


@pytest.fixture(scope="module")
def family_run(tmp_path_factory):
    """One finished tiny family search of two members, beta 0 and -3."""
    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("family") / "run"
    search(tiny(FAMILY), run, progress=False, plots=False)
    return run


def test_members_share_out_the_samples_and_keep_their_own_reward():
    cfg = tiny("policy.samples=6", "family.betas=[-0.1,-0.5,-1.5]", "family.refs=[0.2]")
    assert member_samples(cfg) == 2  # 6 shared by 3 members
    assert member_samples(tiny("policy.samples=5", "family.betas=[-0.1,-0.5]")) == 3
    assert member_samples(tiny("family.betas=[-0.1,-0.5]", "family.samples_per_member=4")) == 4
    terms = member_terms(cfg, 1)
    assert [t[0].beta for t in terms] == [-0.1, -0.5, -1.5]
    assert all(t[0].ref == 0.2 and t[0].cost == "params" for t in terms)
    own = member_config(cfg, 2)
    assert not own.family.betas and all(st.costs[0].beta == -1.5 for st in own.stages)
    assert member_names(cfg) == [
        "member-0-beta-0.1-ref0.2", "member-1-beta-0.5-ref0.2", "member-2-beta-1.5-ref0.2"
    ]  # fmt: skip
    assert member_terms(tiny(), 0)[0][0].beta == -0.3  # no family: the stage's own term


def test_mixture_and_turns_of_a_family():
    cfg = tiny("family.betas=[0.0,-1.0]")
    gens = [torch.Generator().manual_seed(i) for i in range(4)]
    members = [
        PolicyStrategy({"normal": 3}, 2, cfg.policy, terms, init=gens[i], generator=gens[i + 2])
        for i, terms in enumerate(member_terms(cfg, 0))
    ]
    members[0].policy.alpha["normal"][:] = torch.tensor([[4.0, 0, 0], [0, 0, 0]])
    members[1].policy.alpha["normal"][:] = torch.tensor([[0.0, 0, 4.0], [0, 0, 0]])
    family = FamilyStrategy(members)
    p = family.policy.probs()["normal"]
    expected = (members[0].policy.probs()["normal"] + members[1].policy.probs()["normal"]) / 2
    assert torch.allclose(p, expected) and torch.allclose(p.sum(1), torch.ones(2))
    assert torch.allclose(torch.softmax(family.policy.alpha["normal"], -1), p)
    # single paths come from the members in turn: member 0 prefers op 0, member 1 op 2
    firsts = [family.sample(1)[0]["normal"][0] for _ in range(40)]
    assert firsts[0::2].count(0) > 15 and firsts[1::2].count(2) > 15
    state = family.state_dict()
    assert state["turn"] == 40
    family.turn = 0
    family.load_state_dict(state)
    assert family.turn == 40


def test_family_search_writes_a_folder_per_member(family_run):
    summary = json.loads((family_run / "summary.json").read_text())
    assert not (family_run / "genotype.json").exists()  # no one genotype: one per member
    rows = summary["family"]
    assert [r["beta"] for r in rows] == [0.0, -3.0]
    for r in rows:
        folder = family_run / r["folder"]
        own = load_search_config(config_file=folder / "config.yaml")
        assert not own.family.betas and own.stages[-1].costs[0].beta == r["beta"]
        member = json.loads((folder / "summary.json").read_text())
        assert (
            member["genotype"]
            == r["genotype"]
            == json.loads((folder / "genotype.json").read_text())
        )
        assert member["costs"] == r["costs"] and 0 < r["arch_acc_argmax"] <= 1
        assert (folder / "genotype_stage0.json").exists()
    records = [json.loads(line) for line in (family_run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert all(len(r["arch_acc_members"]) == 2 for r in epochs)
    assert epochs[-1]["arch_acc_members"] == [r["arch_acc_argmax"] for r in rows]
    alphas = [r for r in records if r["kind"] == "alpha"]
    assert all(len(r["entropies"]) == 2 for r in alphas)
    stages = [r for r in records if r["kind"] == "stage"]
    assert [len(r["members"]) for r in stages] == [2, 2]
    snap = json.loads(next((family_run / "alpha").glob("stage1_*.json")).read_text())
    assert len(snap["members"]) == 2 and "normal" in snap


def test_a_family_of_one_is_the_search_itself(tmp_path, tiny_run):
    """One member at the stages' own beta: the same updates, weights and genotype as a search."""
    run = tmp_path / "one"
    search(tiny("family.betas=[-0.3]"), run, progress=False, plots=False)
    (member,) = json.loads((run / "summary.json").read_text())["family"]
    assert member["genotype"] == json.loads((tiny_run / "genotype.json").read_text())
    alone = json.loads((tiny_run / "summary.json").read_text())
    assert member["costs"] == alone["costs"]


def test_family_resume_gives_the_same_members(tmp_path, monkeypatch, family_run):
    import tndnas.search.epoch as alg

    real, calls = alg.weight_step, {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 8:  # stage 0's second epoch, after one checkpoint
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(alg, "weight_step", dying)
    with pytest.raises(KeyboardInterrupt):
        search(tiny(FAMILY), tmp_path / "cut", progress=False, plots=False)
    monkeypatch.setattr(alg, "weight_step", real)
    search(tiny(FAMILY), tmp_path / "cut", resume=True, progress=False, plots=False)
    cut = json.loads((tmp_path / "cut" / "summary.json").read_text())["family"]
    full = json.loads((family_run / "summary.json").read_text())["family"]
    assert [r["genotype"] for r in cut] == [r["genotype"] for r in full]
    assert [r["arch_acc_argmax"] for r in cut] == [r["arch_acc_argmax"] for r in full]


def test_a_member_folder_trains_and_the_cli_lists_members(family_run, tmp_path, capsys):
    rows = json.loads((family_run / "summary.json").read_text())["family"]
    out = tmp_path / "train"
    member = family_run / rows[1]["folder"]
    assert main(["train", "--genotype", str(member), "--preset", "quick", "--epochs", "1",
                 "--out", str(out), "--no-progress", "--set", "channels=4", "--set", "layers=3",
                 "--set", "max_steps_per_epoch=2"]) == 0  # fmt: skip
    assert json.loads((out / "summary.json").read_text())["test_error"] is not None
    capsys.readouterr()
    shutil.copytree(family_run, tmp_path / "s")
    assert main(["search", "--resume", str(tmp_path / "s"), "--no-progress"]) == 0  # finished
    text = capsys.readouterr().out
    assert "family of 2 on one supernet" in text and text.count("members/member-") == 2
    # the family's folder as a genotype: one sentence naming a member's folder
    assert main(["info", str(family_run)]) == 2
    assert "is a family search" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("family.refs=[0.1,0.2,0.3]", "family.refs gives 3 values for 2 betas"),
        ("family.refs=[-1.0]", "family.refs.0"),
        ("family.samples_per_member=0", "family.samples_per_member"),
    ],
)
def test_bad_family_is_one_sentence(override, message):
    with pytest.raises(ConfigError, match=message):
        tiny("family.betas=[0.0,-1.0]", override)


def test_family_needs_a_cost_term_to_vary():
    with pytest.raises(ConfigError, match="stages.0.costs is empty"):
        tiny("family.betas=[0.0,-1.0]", "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0}]")
    with pytest.raises(ConfigError, match="family.betas is empty"):
        tiny("family.refs=[0.1]")
    assert math.isfinite(tiny("family.betas=[-1.0]").family.betas[0])


def test_sweep_one_supernet_trains_each_member_and_collects_the_front(
    tmp_path, monkeypatch, capsys
):
    import sys

    import tndnas.sweep as sweep_mod
    from tndnas.commands import sweep as sweep_cmd

    from .test_sweep import FAKE_TRAIN, parse, read_csv
    from .test_sweep import TINY as SWEEP_TINY

    monkeypatch.setattr(
        sweep_mod, "train_command",
        lambda job_dir, preset, epochs, device: [sys.executable, "-c", FAKE_TRAIN, str(job_dir),
                                                 str(job_dir / "train")],
    )  # fmt: skip
    out = tmp_path / "sweep"
    sets = [a for o in SWEEP_TINY for a in ("--set", o)]
    args = parse("--preset", "quick", "--betas", "0,-3", "--one-supernet", "--out", str(out),
                 "--device", "cpu", "--no-plots", "--train-epochs", "1", *sets)  # fmt: skip
    assert sweep_cmd.run(args) == 0
    text = capsys.readouterr().out
    assert text.count("search started") == 1 and text.count("train started") == 2
    assert "costs: of the evaluation network, 8 channels x 5 cells (each search's target" in text
    rows = read_csv(out / "pareto.csv")
    assert [r["job"] for r in rows] == ["member-0-beta0-ref0.05", "member-1-beta-3-ref0.05"]
    family = json.loads((out / "family" / "summary.json").read_text())["family"]
    for row, member in zip(rows, family, strict=True):
        assert float(row["params"]) == pytest.approx(member["costs"]["params"])
        assert float(row["arch_acc"]) == pytest.approx(100 * member["arch_acc_argmax"])
        assert float(row["test_error"]) > 5  # FAKE_TRAIN's
    assert float(rows[1]["params"]) <= float(rows[0]["params"])
    assert json.loads((out / "sweep.json").read_text())["one_supernet"] is True
    assert sweep_cmd.run(args) == 0  # everything done: nothing runs again
    assert "started" not in capsys.readouterr().out
    with pytest.raises(ConfigError, match="different configuration"):
        sweep_cmd.run(parse("--preset", "quick", "--betas", "0,-3", "--one-supernet", "--out",
                            str(out), *sets, "--set", "policy.samples=2"))  # fmt: skip


def test_sweep_one_supernet_failure_marks_every_member(tmp_path, capsys):
    from tndnas.commands import sweep as sweep_cmd

    from .test_sweep import TINY as SWEEP_TINY
    from .test_sweep import parse

    sets = [a for o in SWEEP_TINY for a in ("--set", o)]
    # a dataset that is not there: the family's search fails once, for all its members
    args = parse("--preset", "quick", "--betas", "0,-3", "--one-supernet", "--out",
                 str(tmp_path / "s"), "--device", "cpu", "--no-plots", *sets,
                 "--set", "dataset.name=cifar10", "--set", f"dataset.data_dir={tmp_path / 'none'}")  # fmt: skip
    assert sweep_cmd.run(args) == 1
    text = capsys.readouterr().out
    assert "family: search FAILED" in text and "2 of 2 jobs failed" in text
    with pytest.raises(ConfigError, match="--backend local"):
        sweep_cmd.run(parse("--betas", "0,-3", "--one-supernet", "--backend", "ray",
                            "--out", str(tmp_path / "r")))  # fmt: skip


def test_members_follow_their_own_beta_on_a_cost_only_reward(tmp_path):
    """Accuracy off, two members on one supernet, beta +2 and -2 on params: each member's alpha
    goes its own way (conv_3x3 for +2, none/skip for -2; as two separate searches do,
    test_search.py), learning from both members' samples."""
    from tndnas.search.algorithm import Search
    from tndnas.search.steps import alpha_step
    from tndnas.spaces.darts.genotype import derive_genotype

    from .test_search import cost_only

    cfg = cost_only("ref: 3.0, beta: 2.0", 350, "family.betas=[2.0,-2.0]")
    s = Search(cfg, tmp_path / "r")
    stage = s._new_stage(0, s.initial_candidates)
    assert len(stage.policies) == 2 and member_samples(cfg) == cfg.policy.samples // 2
    x = torch.zeros(2, s.data.in_channels, s.data.image_size, s.data.image_size)
    for _ in range(cfg.weights.max_steps_per_epoch):
        alpha_step(
            cfg, 0, stage, x, s.data.train_y[:2], s.initial_candidates, s.costs, s.cost_ctx, False
        )
    genos = [
        derive_genotype(p.probs(), s.initial_candidates, cfg.space.steps) for p in stage.policies
    ]
    big, small = ([e[0] for e in g.to_dict()["normal"]] for g in genos)
    assert sum(o == "conv_3x3" for o in big) >= 7, big
    assert sum(o in ("none", "skip_connect") for o in small) >= 6, small
    params = [s.cost_ctx.table.cost(g).params for g in genos]
    assert params[0] > 3 * params[1], params
