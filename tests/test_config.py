"""Typed search config: presets, merging, overrides, errors, validation, round trip."""

from __future__ import annotations

import dataclasses
import warnings

import pytest
import yaml

from tndnas.config import (
    DEFAULT_PRESET,
    ConfigError,
    CostTerm,
    SearchConfig,
    StageConfig,
    config_to_dict,
    load_search_config,
    preset_names,
    save_config,
    validate,
)
from tndnas.search.stages import stage_drops

PRESETS = sorted(["paper-c10", "paper-c100", "pdarts-c10", "quick", "nb201-c10", "nb201-c10-cpu"])


def _error(**kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_search_config(**kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def _write(tmp_path, text: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- presets


def test_preset_names():
    assert preset_names() == PRESETS
    assert DEFAULT_PRESET in preset_names()


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_and_validates(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no OmegaConf conversion warnings either
        cfg = load_search_config(name)
    assert isinstance(cfg, SearchConfig)
    assert all(isinstance(s, StageConfig) for s in cfg.stages)
    assert validate(cfg) is cfg
    assert len(cfg.stages) == (1 if name.startswith("nb201") else 3)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_starts_with_comment_and_sets_every_key(name):
    from importlib import resources

    text = (resources.files("tndnas") / "configs" / f"{name}.yaml").read_text()
    assert text.startswith(f"# {name}:")
    raw = yaml.safe_load(text)
    from tndnas.config.space_schema import SPACE_CONFIGS

    space = SPACE_CONFIGS.get(raw["space"]["name"])  # the space's own group of keys
    defaults = config_to_dict(SearchConfig(space=space()))
    for section, values in defaults.items():
        assert section in raw
        if isinstance(values, dict):
            assert set(raw[section]) == set(values), section


def test_paper_c10_matches_table_iii():
    cfg = load_search_config("paper-c10")
    assert cfg.dataset.name == "cifar10"
    assert (cfg.space.normal_ops, cfg.space.reduce_ops) == ("tnd-normal", "tnd-reduce")
    assert cfg.space.channels == 24
    assert [s.layers for s in cfg.stages] == [5, 12, 20]
    assert [s.epochs for s in cfg.stages] == [25, 25, 25]
    assert [s.pretrain_epochs for s in cfg.stages] == [10, 10, 10]
    assert [s.drop["normal"] for s in cfg.stages] == [4, 3, 2]
    assert [s.drop["reduce"] for s in cfg.stages] == [2, 2, 1]
    # Eq. (9) on the params of the target network, one term per stage
    assert [s.costs for s in cfg.stages] == [
        [CostTerm("params", 1.0, ref, -0.6)] for ref in (4.4, 3.2, 1.8)
    ]
    # the skip-connect dropout the authors ran: P-DARTS rates per stage, decaying within each
    assert [s.skip_dropout for s in cfg.stages] == [0.1, 0.4, 0.7]
    w = cfg.weights
    assert (w.skip_dropout_schedule, w.skip_dropout_decay) == ("pdarts", 0.2)
    assert (w.mode, w.batch_size, w.lr, w.lr_min) == ("mixed", 128, 0.025, 0.0)
    assert (w.momentum, w.weight_decay, w.grad_clip) == (0.9, 4e-5, 5.0)
    assert (w.crop_padding, w.flip, w.cutout) == (4, True, 0)
    p = cfg.policy
    assert (p.samples, p.rl_interval, p.arch_batch_size, p.lr) == (10, 1, 128, 0.01)
    # no decay on alpha (the authors' logged searches) and the leave-one-out baseline
    assert (p.betas, p.weight_decay, p.baseline) == ([0.5, 0.999], 0.0, "leave_one_out")
    assert (cfg.reward.log_costs, cfg.reward.accuracy) == (["params", "flops"], True)
    assert (cfg.target.channels, cfg.target.layers) == (24, 20)


def test_paper_c100_differs_only_in_dataset_and_betas():
    c10 = config_to_dict(load_search_config("paper-c10"))
    c100 = config_to_dict(load_search_config("paper-c100"))
    assert c100["dataset"]["name"] == "cifar100"
    assert [s["costs"][0]["beta"] for s in c100["stages"]] == [-0.75, -0.85, -0.85]
    c100["dataset"]["name"] = "cifar10"
    for s10, s100 in zip(c10["stages"], c100["stages"]):
        s100["costs"][0]["beta"] = s10["costs"][0]["beta"]
    assert c10 == c100


def test_quick_and_pdarts_schedules():
    q = load_search_config("quick")
    assert q.dataset.name == "digits" and q.space.channels == 8
    assert [s.layers for s in q.stages] == [3, 4, 5]
    # shares of the candidates, which on its 10/6 op sets are the counts 4/2, 3/2, 2/1
    assert [s.drop for s in q.stages] == [
        {"normal": n, "reduce": r} for n, r in [(0.4, 0.34), (0.5, 0.5), (0.67, 0.5)]
    ]
    assert stage_drops(q) == [{"normal": n, "reduce": r} for n, r in [(4, 2), (3, 2), (2, 1)]]
    # 66 / 55 / 33 alpha updates (11 weight steps per epoch on digits), 24 samples each
    assert [(s.epochs, s.pretrain_epochs) for s in q.stages] == [(7, 1), (6, 1), (4, 1)]
    assert (q.policy.samples, q.policy.lr, q.policy.weight_decay) == (24, 0.07, 0.0)
    assert (q.target.channels, q.target.layers) == (16, 8)
    p = load_search_config("pdarts-c10")
    assert (p.space.normal_ops, p.space.reduce_ops, p.space.channels) == ("darts", "darts", 16)
    assert [s.layers for s in p.stages] == [5, 11, 17]
    assert sum(s.drop["normal"] for s in p.stages) == 8 - 1
    assert sum(s.drop["reduce"] for s in p.stages) == 8 - 1
    assert [s.skip_dropout for s in p.stages] == [0.1, 0.4, 0.7]
    assert all(s.costs == [] for s in p.stages)  # accuracy alone, as P-DARTS
    assert (p.weights.batch_size, p.weights.weight_decay) == (96, 3e-4)


def test_defaults_without_preset():
    cfg = load_search_config()
    assert cfg == SearchConfig()
    assert cfg.stages == [StageConfig()]


# --------------------------------------------------------------------------- merging


def test_file_merges_over_preset_and_stage_entries_take_defaults(tmp_path):
    path = _write(
        tmp_path,
        "weights:\n  lr: 1e-3\npolicy:\n  betas: [0.9, 0.99]\n"
        "stages:\n  - {layers: 4, epochs: 2, pretrain_epochs: 0}\n  - {layers: 6}\n",
    )
    cfg = load_search_config("quick", config_file=path)
    assert cfg.weights.lr == pytest.approx(1e-3)
    assert cfg.weights.batch_size == 64  # from the preset, untouched by the file
    assert cfg.policy.betas == [0.9, 0.99]
    assert len(cfg.stages) == 2  # lists are replaced whole
    assert cfg.stages[0] == StageConfig(layers=4, epochs=2, pretrain_epochs=0)
    assert cfg.stages[1] == StageConfig(layers=6)


def test_empty_file_is_no_change(tmp_path):
    assert load_search_config("quick", config_file=_write(tmp_path, "# nothing\n")) == (
        load_search_config("quick")
    )


def test_overrides():
    cfg = load_search_config(
        "quick",
        overrides=[
            "stages.2.costs.0.beta=-0.8",
            "policy.betas=[0.9,0.99]",
            "dataset.data_dir=null",
            "dataset.download=true",
            "weights.flip=yes",
            "weights.max_steps_per_epoch=7",
            "policy.lr=1e-3",
            "stages.1={epochs: 9}",
            "device=cpu",
            "seed= 3",
        ],
    )
    assert cfg.stages[2].costs[0].beta == -0.8
    assert cfg.stages[0].costs[0].beta == -0.3 and cfg.stages[1].costs[0].beta == -0.3
    assert cfg.policy.betas == [0.9, 0.99]
    assert cfg.dataset.data_dir is None and cfg.dataset.download is True
    assert cfg.weights.flip is True and cfg.weights.max_steps_per_epoch == 7
    assert cfg.policy.lr == pytest.approx(1e-3) and isinstance(cfg.policy.lr, float)
    assert cfg.stages[1].epochs == 9 and cfg.stages[1].layers == 4  # merged into the stage
    assert cfg.device == "cpu" and cfg.seed == 3


def test_a_star_index_overrides_every_entry_of_a_list():
    cfg = load_search_config(
        "quick", overrides=["stages.*.costs.0.cost=flops", "stages.*.costs.*.ref=30"]
    )
    assert [(t.cost, t.ref) for s in cfg.stages for t in s.costs] == [("flops", 30.0)] * 3
    assert "'seed' is not a list" in _error(overrides=["seed.*=1"])
    assert "'stages.0.foo'" in _error(preset="quick", overrides=["stages.*.foo=1"])
    assert "did you mean 'stages'" in _error(overrides=["stagez.*.epochs=3"])
    assert "out of range" in _error(preset="quick", overrides=["stages.9.costs.*.beta=1"])
    message = _error(preset="pdarts-c10", overrides=["stages.*.costs.*.beta=-0.5"])
    assert "which is empty" in message  # a '*' that matches nothing is not silently ignored


def test_overrides_apply_in_order_after_file(tmp_path):
    path = _write(tmp_path, "seed: 5\ndataset: {data_dir: /data}\n")
    cfg = load_search_config(config_file=path, overrides=["seed=6", "seed=7"])
    assert cfg.seed == 7 and cfg.dataset.data_dir == "/data"
    cfg = load_search_config(config_file=path, overrides=["dataset.data_dir=null"])
    assert cfg.dataset.data_dir is None


def test_override_replaces_list_of_stages_and_list_leaf_index():
    cfg = load_search_config(
        "quick", overrides=["stages=[{layers: 5}, {layers: 8, epochs: 12}]", "policy.betas.1=0.9"]
    )
    assert cfg.stages == [StageConfig(layers=5), StageConfig(layers=8, epochs=12)]
    assert cfg.policy.betas == [0.5, 0.9]


def test_cost_terms_eq10():
    cfg = load_search_config(
        "quick",
        overrides=[
            "stages.0.costs.0.weight=0.7",
            "stages.0.costs=[{ref: 0.05, weight: 0.7}, {cost: flops, weight: 0.3, ref: 2, beta: -0.5}]",
        ],
    )
    assert cfg.stages[0].costs == [CostTerm("params", 0.7, 0.05), CostTerm("flops", 0.3, 2.0, -0.5)]
    assert all(isinstance(t, CostTerm) for t in cfg.stages[0].costs)
    assert cfg.stages[1].costs == [CostTerm("params", 1.0, "auto", -0.3)]  # untouched


def test_old_reward_layout_is_read_with_a_warning(tmp_path):
    """A config (or a run's config.yaml) written by tndnas 0.1 -- reward.cost/weight with
    per-stage ref/beta/beta_below/extra_costs -- still loads, as one cost list per stage."""
    old = (
        "reward: {accuracy: true, cost: params, weight: 0.8, latency_table: null}\n"
        "stages:\n"
        "  - {layers: 3, ref: 2.0, beta: -0.5, beta_below: 0.0,"
        " extra_costs: [{cost: flops, weight: 0.2, ref: 30, beta: -1}]}\n"
        "  - {layers: 4}\n"
    )
    with pytest.warns(UserWarning, match="tndnas 0.1"):
        cfg = load_search_config(config_file=_write(tmp_path, old))
    assert cfg.stages[0].costs == [
        CostTerm("params", 0.8, 2.0, -0.5, 0.0),
        CostTerm("flops", 0.2, 30.0, -1.0),
    ]
    assert cfg.stages[1].costs == [CostTerm("params", 0.8)]  # old defaults: ref 1, beta 0
    # old keys on the command line are pointed to their new place
    message = _error(preset="quick", overrides=["stages.1.beta=-0.8"])
    assert "stages.1.costs.0.beta" in message
    assert "stages.N.costs.0.cost" in _error(overrides=["reward.cost=flops"])
    message = _error(config_file=_write(tmp_path, "reward: {cost: flops}\n"))
    assert "now per stage" in message
    old_bad = "stages:\n  - {layers: 3, beta: -1, extra_costs: [{cost: flops, bogus: 1}]}\n"
    assert "'stages.0.extra_costs.0.bogus'" in _error(config_file=_write(tmp_path, old_bad))


# --------------------------------------------------------------------------- errors


def test_unknown_key_in_override_has_hint():
    message = _error(preset="quick", overrides=["weights.lrr=0.1"])
    assert "weights.lrr" in message and "did you mean 'weights.lr'" in message
    assert "override" in message
    message = _error(overrides=["stages.0.layrs=1"])
    assert "stages.0.layrs" in message and "did you mean 'stages.0.layers'" in message
    message = _error(preset="quick", overrides=["stages.0.costs.0.bta=1"])
    assert "stages.0.costs.0.bta" in message and "'stages.0.costs.0.beta'" in message
    message = _error(overrides=["lr=0.1"])  # section left out: suggest full paths
    assert "weights.lr" in message and "policy.lr" in message
    message = _error(overrides=["zzzz=1"])
    assert "zzzz" in message and "valid keys" in message


def test_unknown_key_in_file_has_hint(tmp_path):
    path = _write(tmp_path, "policy:\n  sampels: 3\n")
    message = _error(config_file=path)
    assert "policy.sampels" in message and "policy.samples" in message
    assert str(path) in message
    path = _write(tmp_path, "stages:\n  - {layers: 5, epohcs: 3}\n")
    message = _error(config_file=path)
    assert "stages.0.epohcs" in message and "stages.0.epochs" in message


@pytest.mark.parametrize(
    "override, key",
    [
        ("stages.0.epochs=abc", "stages.0.epochs"),
        ("stages.0.layers=3.5", "stages.0.layers"),
        ("weights.flip=[1]", "weights.flip"),
        ("policy.betas=0.5", "policy.betas"),
        ("policy.betas=[a, b]", "policy.betas.0"),
        ("dataset.name=null", "dataset.name"),
        ("dataset=3", "dataset"),
        ("stages=[3]", "stages.0"),
    ],
)
def test_ill_typed_value(override, key):
    message = _error(preset="quick", overrides=[override])
    assert f"'{key}'" in message and "expected" in message


def test_ill_typed_value_in_file(tmp_path):
    message = _error(config_file=_write(tmp_path, "stages:\n  - {epochs: abc}\n"))
    assert "stages.0.epochs" in message and "'abc'" in message and "int" in message
    # a mapping where a list belongs, and lists of plain values with the wrong elements
    for text, key in [
        ("stages: {a: 1}\n", "'stages'"),
        ("policy: {betas: {a: 1}}\n", "'policy.betas'"),
        ("plugins: [[a]]\n", "'plugins.0'"),
        ("reward: {log_costs: [{a: 1}]}\n", "'reward.log_costs.0'"),
    ]:
        message = _error(config_file=_write(tmp_path, text))
        assert key in message and "wrong type" in message, message


def test_index_out_of_range():
    message = _error(preset="quick", overrides=["stages.3.layers=6"])
    assert "stages.3" in message and "out of range" in message
    message = _error(preset="quick", overrides=["stages.x.layers=6"])
    assert "stages.x" in message and "integer" in message
    assert "out of range" in _error(preset="quick", overrides=["policy.betas.2=0.1"])
    assert "out of range" in _error(preset="quick", overrides=["stages.0.costs.1.weight=1"])
    message = _error(preset="quick", overrides=["seed.x=1"])
    assert "not a section" in message


@pytest.mark.parametrize("override", ["seed", "=3", "stages..beta=1", "seed.x=1"])
def test_malformed_override(override):
    _error(overrides=[override])


def test_unknown_preset_lists_presets():
    message = _error(preset="quik")
    assert "quik" in message and "quick" in message and "paper-c10" in message


def test_missing_and_bad_yaml_file(tmp_path):
    assert "does not exist" in _error(config_file=tmp_path / "nope.yaml")
    message = _error(config_file=_write(tmp_path, "a: [1,\n"))
    assert "cannot parse" in message and "line" in message
    message = _error(config_file=_write(tmp_path, "- 1\n- 2\n"))
    assert "mapping" in message


@pytest.mark.parametrize(
    "overrides, needle",
    [
        (["weights.mode=foo"], "weights.mode"),
        (
            ["weights.compile_mode=reduce-overhead"],
            "weights.compile_mode='reduce-overhead' is invalid; use one of: default, max-autotune-no-cudagraphs",
        ),
        (["stages.0.pretrain_epochs=9"], "pretrain_epochs"),
        (["stages.0.costs=[{weight: 0.5}, {cost: flops, weight: 0.4}]"], "Eq. (10)"),
        (["stages.1.costs=[{weight: 0.6}, {weight: 0.3}]"], "stages.1.costs sum to 0.9"),
        (["reward.accuracy=false", "stages.1.costs=[]"], "reward.accuracy=false needs"),
        (["stages=[]"], "stages"),
        (["stages.1.layers=2"], "stages.1.layers"),
        (["stages.2.layers=3"], "must not decrease"),
        (["stages.0.skip_dropout=1.0"], "skip_dropout"),
        (["stages.0.costs.0.ref=0"], "stages.0.costs.0.ref"),
        (["stages.0.costs.0.beta_below=.inf"], "stages.0.costs.0.beta_below"),
        (["stages.0.costs=[{cost: flops, beta_below: .nan}]"], "stages.0.costs.0.beta_below"),
        (["stages.0.costs.0.cost=''"], "stages.0.costs.0.cost is empty"),
        (["stages.0.drop.normal=-1"], "stages.0.drop.normal"),
        (["dataset.arch_fraction=1.0"], "arch_fraction"),
        (["policy.samples=0"], "policy.samples"),
        (["policy.rl_interval=0"], "rl_interval"),
        (["policy.baseline_decay=1"], "baseline_decay"),
        (["policy.betas=[0.9]"], "policy.betas"),
        (["weights.batch_size=0"], "batch_size"),
        (["device=gpu"], "device"),
    ],
)
def test_semantic_errors(overrides, needle):
    assert needle in _error(preset="quick", overrides=overrides)


def test_validate_direct():
    cfg = SearchConfig()
    assert validate(cfg) is cfg
    bad = dataclasses.replace(cfg, stages=[StageConfig(epochs=3, pretrain_epochs=5)])
    with pytest.raises(ConfigError, match="pretrain_epochs"):
        validate(bad)
    ok = dataclasses.replace(cfg, stages=[StageConfig(costs=[CostTerm(weight=0.5)] * 2)])
    assert validate(ok) is ok


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", PRESETS)
def test_save_load_round_trip(tmp_path, name):
    cfg = load_search_config(
        name,
        overrides=[
            "stages.0.costs=[{weight: 0.75}, {cost: flops, weight: 0.25, ref: 30.5, beta: -0.1}]",
            "dataset.data_dir=/tmp/data",
            "policy.lr=3e-4",
        ],
    )
    path = tmp_path / "sub" / "config.yaml"
    save_config(cfg, path)
    assert load_search_config(config_file=path) == cfg
    assert yaml.safe_load(path.read_text()) == config_to_dict(cfg)


def test_config_to_dict_is_plain():
    d = config_to_dict(load_search_config("quick"))
    assert isinstance(d["stages"], list) and isinstance(d["stages"][0], dict)
    assert d["policy"]["betas"] == [0.5, 0.999]
    yaml.safe_dump(d)  # only plain types


# --------------------------------------------------------------------------- the reference
def _leaf_fields(cls, prefix=""):
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if dataclasses.is_dataclass(tp) or args:
            yield from _leaf_fields(
                tp if dataclasses.is_dataclass(tp) else args[0], f"{prefix}{f.name}."
            )
        yield f"{prefix}{f.name}", f


def test_every_config_key_has_help():
    from tndnas.config import TrainConfig

    for schema in (SearchConfig, TrainConfig):
        missing = [k for k, f in _leaf_fields(schema) if not f.metadata.get("help")]
        assert missing in (
            [],
            ["dataset", "space", "weights", "policy", "reward", "target", "family"],
        ), missing


def test_configuration_page_is_generated_from_the_schema():
    """docs/configuration.md's key tables are the schema's: `make docs` rewrites them."""
    from pathlib import Path

    from tndnas.config.reference import update_page

    page = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    assert not update_page(page, check=True), "docs/configuration.md is stale: run `make docs`"


@pytest.mark.parametrize("train", [False, True])
def test_config_show_prints_a_commented_config_that_loads_back(tmp_path, capsys, train):
    from tndnas.cli import main
    from tndnas.config import load_train_config

    argv = ["config", "show", "--set", "seed=7"] + (
        ["--train", "--preset", "eval-c10"] if train else ["--preset", "paper-c10"]
    )
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("# tndnas ") and "# random seed; valid: >= 0\nseed: 7\n" in text
    path = tmp_path / "shown.yaml"
    path.write_text(text)
    if train:
        expect = load_train_config(preset="eval-c10", overrides=["seed=7"])
        assert load_train_config(config_file=path) == expect
    else:
        expect = load_search_config(preset="paper-c10", overrides=["seed=7"])
        assert load_search_config(config_file=path) == expect
        assert (
            "# Adam learning rate for alpha; auto: " in text and "> 0 or auto\n  lr: 0.01\n" in text
        )
    assert main(["config", "show", "--set", "policy.lrr=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'policy.lr'?" in err


def test_the_train_protocol_table_of_the_docs_is_the_eval_preset():
    """docs/commands.md's table of the evaluation protocol states the values of `eval-c10`."""
    import re
    from pathlib import Path

    from tndnas.config import load_train_config

    text = (Path(__file__).resolve().parents[1] / "docs" / "commands.md").read_text()
    table = text.split("### The protocol (presets `eval-c10`, `eval-c100`; paper Table V)")[1]
    rows = table.split("\n\n")[1].splitlines()[2:]
    cfg = load_train_config("eval-c10")
    checked = 0
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        keys = re.findall(r"`([a-z_]+)`", cells[0])
        for key, text_value in zip(keys, cells[1].split(",")):
            assert yaml.safe_load(text_value.replace("3e-4", "3.0e-4")) == getattr(cfg, key), key
            checked += 1
    assert checked >= 18


def test_nb201_presets_state_the_published_protocol():
    """nb201-c10: the benchmark's weight-sharing protocol; nb201-c10-cpu: its reduced proxy."""
    c = load_search_config("nb201-c10")
    assert (c.space.name, c.space.normal_ops, c.space.channels) == ("nb201", "nb201", 16)
    assert (c.dataset.name, c.dataset.arch_fraction) == ("cifar10", 0.5)
    w = c.weights
    assert (w.batch_size, w.lr, w.lr_min, w.momentum, w.weight_decay) == (
        64,
        0.025,
        0.001,
        0.9,
        5e-4,
    )
    assert [(s.layers, s.epochs, s.costs) for s in c.stages] == [(17, 100, [])]
    assert (c.target.channels, c.target.layers) == (16, 17)
    p = load_search_config("nb201-c10-cpu")
    assert (p.space.channels, p.stages[0].layers, p.weights.max_steps_per_epoch) == (8, 5, None)
    assert (p.weights.mode, p.stages[0].epochs, p.stages[0].pretrain_epochs) == ("sampled", 150, 75)
    assert (p.target.channels, p.target.layers) == (16, 17)  # costs of the published network


def test_drops_of_tndnas_0_2_load_as_the_drop_mapping_with_one_warning(tmp_path):
    """A 0.2 config (stages.N.drop_normal / drop_reduce) and 0.2 overrides still load."""
    old = tmp_path / "old.yaml"
    old.write_text(
        "stages:\n  - {layers: 5, epochs: 3, pretrain_epochs: 1, drop_normal: 2, drop_reduce: 1}\n  - {layers: 5}\n"
    )
    with pytest.warns(
        UserWarning,
        match=r"stages.N.drop_normal / drop_reduce of tndnas 0.2; read as the mapping stages.N.drop",
    ) as got:
        cfg = load_search_config("quick", old)
    assert len([w for w in got if "0.2" in str(w.message)]) == 1
    assert cfg.stages[0].drop == {"normal": 2, "reduce": 1} and cfg.stages[1].drop == {}
    with pytest.warns(UserWarning, match=r"stages.1.drop_reduce is now stages.1.drop.reduce"):
        cfg = load_search_config("quick", overrides=["stages.1.drop_reduce=0"])
    assert cfg.stages[1].drop == {"normal": 0.5, "reduce": 0}
    with pytest.raises(ConfigError, match="mixes 'drop' with the old keys"):
        load_search_config(
            "quick", overrides=["stages=[{layers: 5, drop: {normal: 1}, drop_normal: 1}]"]
        )
    assert "'stages.0.drop.normal' has the wrong type" in _error(
        overrides=["stages.0.drop.normal=two"]
    )


def test_each_space_has_its_own_group_of_keys(tmp_path):
    from tndnas.config import DartsSpaceConfig, Nb201SpaceConfig

    assert isinstance(load_search_config("quick").space, DartsSpaceConfig)
    nb = load_search_config("nb201-c10").space
    assert isinstance(nb, Nb201SpaceConfig) and not hasattr(nb, "reduce_ops")
    message = _error(preset="nb201-c10", overrides=["space.steps=3"])
    assert "unknown config key 'space.steps'" in message and "normal_ops" in message
    # a run directory's config.yaml of 0.2 wrote the DARTS keys for every space
    old = tmp_path / "nb201-0.2.yaml"
    old.write_text(
        "space: {name: nb201, normal_ops: nb201, reduce_ops: tnd-reduce, channels: 16, steps: 4}\n"
    )
    with pytest.warns(
        UserWarning,
        match=r"sets space.reduce_ops, space.steps, which the 'nb201' space does not have; ignored",
    ) as got:
        cfg = load_search_config("nb201-c10", old)
    assert len(got) == 1 and isinstance(cfg.space, Nb201SpaceConfig)
    # switching a DARTS preset to another space keeps only that space's keys
    with pytest.warns(UserWarning, match="'nb201' space does not have"):
        cfg = load_search_config("quick", overrides=["space.name=nb201", "space.normal_ops=nb201"])
    assert isinstance(cfg.space, Nb201SpaceConfig) and cfg.space.channels == 8
    assert "unknown search space 'nb210'. Did you mean 'nb201'?" in _error(
        overrides=["space.name=nb210"]
    )
