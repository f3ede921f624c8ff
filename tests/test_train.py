"""Evaluation training: config, run directory, resume, weights check, export, CLI errors."""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tndnas.cli import main
from tndnas.config import (
    ConfigError,
    DatasetConfig,
    TrainConfig,
    config_to_dict,
    load_search_config,
    load_train_config,
    save_config,
    train_preset_names,
)
from tndnas.macro import Macro
from tndnas.report.metrics import read_metrics
from tndnas.runtime import save_atomic
from tndnas.search import CheckpointError, RunDirError
from tndnas.spaces.darts.genotype import Genotype, load_genotype
from tndnas.train import run as train_run
from tndnas.train.run import read_train_run, train_network
from tndnas.train.weights import WeightsMismatchError, load_weights, save_weights

TINY = [
    "channels=4",
    "layers=3",
    "epochs=2",
    "batch_size=32",
    "max_steps_per_epoch=3",
    "device=cpu",
    "seed=3",
]
RUN_FILES = [
    "config.yaml",
    "genotype.json",
    "run.json",
    "metrics.jsonl",
    "checkpoint.pt",
    "weights_last.pt",
    "weights_best.pt",
    "summary.json",
    "plots/learning_curve.png",
]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The tiny networks run faster on one thread, above all on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny_cfg() -> TrainConfig:
    return load_train_config("quick", overrides=TINY)


def _other_genotype(geno: Genotype) -> Genotype:
    """``geno`` with normal edge 0->2 turned into conv_1x1."""
    normal = tuple(
        ("conv_1x1", s, d) if (s, d) == (0, 2) else (op, s, d) for op, s, d in geno.normal
    )
    return Genotype(normal, geno.reduce, geno.steps)


@pytest.fixture(scope="session")  # once per worker, whatever runs between its tests
def trained(tmp_path_factory):
    """One uninterrupted tiny training run: (run dir, summary)."""
    out = tmp_path_factory.mktemp("train") / "run"
    summary = train_network(_tiny_cfg(), load_genotype("darts-v2"), out, progress=False)
    return out, summary


def _without_timing(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("seconds", "peak_memory_mb")} for r in records]


def _state(path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tndnas: error:") and "\n" not in err, err
    return err


# --------------------------------------------------------------------------- config


def test_train_presets():
    assert train_preset_names() == ["darts-c10", "darts-c100", "eval-c10", "eval-c100", "quick"]
    c10 = load_train_config("eval-c10")
    # the defaults are the paper's Table V, on the default dataset: the width its search costs
    assert c10 == dataclasses.replace(TrainConfig(), dataset=DatasetConfig(name="cifar10"))
    assert (c10.dataset.name, c10.channels, c10.layers, c10.epochs) == ("cifar10", 24, 20, 600)
    assert (c10.channels, c10.layers) == (
        load_search_config("paper-c10").target.channels,
        load_search_config("paper-c10").target.layers,
    )
    # the DARTS protocol: eval-c10 at 36 channels, nothing else changed
    for name, base in (("darts-c10", "eval-c10"), ("darts-c100", "eval-c100")):
        wide = load_train_config(name)
        assert wide == dataclasses.replace(load_train_config(base), channels=36)
    assert (c10.batch_size, c10.lr, c10.momentum, c10.weight_decay) == (128, 0.025, 0.9, 3e-4)
    assert (c10.auxiliary, c10.auxiliary_weight, c10.drop_path, c10.cutout) == (True, 0.4, 0.3, 16)
    c100 = config_to_dict(load_train_config("eval-c100"))
    assert c100["dataset"]["name"] == "cifar100"
    c100["dataset"]["name"] = "cifar10"
    assert c100 == config_to_dict(c10)
    q = load_train_config("quick")
    assert (q.dataset.name, q.channels, q.layers, q.epochs, q.batch_size) == (
        "digits",
        8,
        5,
        10,
        64,
    )
    assert (q.cutout, q.crop_padding, q.flip, q.auxiliary) == (0, 1, False, True)


def test_train_config_errors_and_round_trip(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'lr'"):
        load_train_config("quick", overrides=["lrr=0.1"])
    with pytest.raises(ConfigError, match="unknown train preset 'quik'.*quick"):
        load_train_config("quik")
    with pytest.raises(ConfigError, match="drop_path"):
        load_train_config(overrides=["drop_path=1.0"])
    with pytest.raises(ConfigError, match="layers"):
        load_train_config(overrides=["layers=2"])
    cfg = load_train_config("quick", overrides=["max_steps_per_epoch=4", "dataset.data_dir=/x"])
    save_config(cfg, tmp_path / "c.yaml")
    assert (tmp_path / "c.yaml").read_text().startswith("# tndnas train configuration")
    assert load_train_config(config_file=tmp_path / "c.yaml") == cfg


# --------------------------------------------------------------------------- training


def test_training_writes_every_file(trained):
    out, summary = trained
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    records = read_metrics(out)
    assert [r["epoch"] for r in records] == [0, 1]
    keys = {"epoch", "lr", "drop_path", "train_loss", "train_acc", "test_loss", "test_acc",
            "test_error", "seconds", "peak_memory_mb"}  # fmt: skip
    assert all(keys <= set(r) for r in records)
    assert [r["lr"] for r in records] == pytest.approx([0.025, 0.0125])
    assert [r["drop_path"] for r in records] == pytest.approx([0.0, 0.15])
    acc = records[-1]["test_acc"]
    assert 0.0 <= acc <= 1.0
    assert summary["test_error"] == pytest.approx(100.0 - 100.0 * acc)
    best = max(r["test_acc"] for r in records)
    assert summary["best_test_error"] == pytest.approx(100.0 - 100.0 * best)
    assert 0 < summary["params"] < summary["params_with_auxiliary"]
    assert summary["flops"] > 0 and summary["macs"] * 2 == summary["flops"]
    assert (summary["channels"], summary["layers"], summary["epochs"], summary["seed"]) == (
        4, 3, 2, 3,
    )  # fmt: skip
    assert summary["device"] == "cpu" and "torch" in summary["versions"]
    assert json.loads((out / "summary.json").read_text()) == summary
    assert json.loads((out / "run.json").read_text())["command"] == "train"
    cfg, geno = read_train_run(out)
    assert cfg == _tiny_cfg() and geno == load_genotype("darts-v2")
    model, meta = load_weights(out / "weights_last.pt", genotype=geno)
    assert meta["auxiliary"] is True and meta["macro"].channels == 4
    assert sum(p.numel() for p in model.parameters()) == summary["params_with_auxiliary"]


def test_finished_run_returns_summary_and_existing_dir_is_refused(trained):
    out, summary = trained
    assert train_network(_tiny_cfg(), load_genotype("darts-v2"), out, resume=True) == summary
    with pytest.raises(RunDirError, match="--resume"):
        train_network(_tiny_cfg(), load_genotype("darts-v2"), out)


def test_interrupted_run_resumes_to_identical_result(trained, tmp_path, monkeypatch):
    out_ref, _ = trained
    out = tmp_path / "run"
    cfg, geno = _tiny_cfg(), load_genotype("darts-v2")
    original = train_run.train_step
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == cfg.max_steps_per_epoch + 2:  # the second step of epoch 2
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(train_run, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_network(cfg, geno, out, progress=False)
    assert len(read_metrics(out)) == 1 and not (out / "summary.json").exists()
    monkeypatch.setattr(train_run, "train_step", original)

    summary = train_network(cfg, geno, out, resume=True, progress=False)
    assert _without_timing(read_metrics(out)) == _without_timing(read_metrics(out_ref))
    for name in ("weights_last.pt", "weights_best.pt"):
        ref, got = _state(out_ref / name), _state(out / name)
        assert ref.keys() == got.keys()
        assert all(torch.equal(ref[k], got[k]) for k in ref), name
    ref_summary = json.loads((out_ref / "summary.json").read_text())
    for key in ("test_error", "best_test_error", "best_epoch", "params", "flops"):
        assert summary[key] == ref_summary[key]


def test_resume_on_another_kind_of_device_is_refused(trained, tmp_path, capsys):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    (out / "summary.json").unlink()
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["device_type"] == "cpu"
    save_atomic({**ckpt, "device_type": "cuda"}, out / "checkpoint.pt")
    err = _one_line_error(capsys, ["train", "--resume", str(out)])
    assert "written by a run on cuda and cannot continue on cpu" in err
    assert "device: cuda" in err


# --------------------------------------------------------------------------- weights


def test_weights_refuse_another_architecture(trained, tmp_path):
    out, _ = trained
    path = out / "weights_last.pt"
    with pytest.raises(WeightsMismatchError) as info:
        load_weights(path, genotype=_other_genotype(load_genotype("darts-v2")))
    msg = str(info.value)
    assert "normal edge 0->2 is sep_conv_3x3 there but conv_1x1 here" in msg and "\n" not in msg
    with pytest.raises(WeightsMismatchError, match="channels is 4 there but 8 here"):
        load_weights(path, macro=Macro(channels=8, layers=3, num_classes=10, in_channels=1,
                                       image_size=8))  # fmt: skip
    # a state dict that does not fit its own architecture is explained, not loaded
    data = torch.load(path, weights_only=True)
    key = next(iter(data["state_dict"]))
    del data["state_dict"][key]
    save_atomic(data, tmp_path / "edited.pt")
    with pytest.raises(WeightsMismatchError, match=f"missing \\(first: {key}\\)"):
        load_weights(tmp_path / "edited.pt")


def test_save_load_weights_round_trip(tmp_path):
    geno = load_genotype("pdarts")
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=1, image_size=8)
    from tndnas.spaces.darts.network import EvalNetwork

    net = EvalNetwork(geno, macro, auxiliary=False).eval()
    save_weights(net, tmp_path / "w.pt", geno, macro, auxiliary=False)
    loaded, meta = load_weights(tmp_path / "w.pt", genotype=geno, macro=macro)
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(net(x)[0], loaded(x)[0])
    assert meta == {"genotype": geno, "macro": macro, "auxiliary": False, "normalization": None}


def test_corrupt_weights_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file at all")
    err = _one_line_error(
        capsys, ["export", "darts-v2", "--weights", str(bad), "--out", str(tmp_path / "m.onnx")]
    )
    assert "bad.pt" in err and "corrupt" in err
    with pytest.raises(CheckpointError):
        load_weights(tmp_path / "missing.pt")


# --------------------------------------------------------------------------- export


def _reference_logits(weights, x: torch.Tensor) -> np.ndarray:
    model, _ = load_weights(weights)
    with torch.no_grad():
        return model(x)[0].numpy()


def test_export_onnx_round_trip(trained, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    out, _ = trained
    onnx_path = tmp_path / "net.onnx"
    argv = ["export", "darts-v2", "--weights", str(out / "weights_best.pt"),
            "--format", "onnx", "--out", str(onnx_path), "--batch", "2"]  # fmt: skip
    assert main(argv) == 0
    assert str(onnx_path) in capsys.readouterr().out
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = torch.randn(5, 1, 8, 8)  # another batch size than traced: the batch axis is dynamic
    (got,) = session.run(["logits"], {"images": x.numpy()})
    np.testing.assert_allclose(got, _reference_logits(out / "weights_best.pt", x), atol=1e-4)
    import onnx

    assert onnx.load(str(onnx_path)).opset_import[0].version >= 17


def test_export_raw_input_bakes_in_the_training_normalisation(trained, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    out, _ = trained
    from tndnas.train.weights import load_weights

    _, meta = load_weights(out / "weights_last.pt")
    norm = meta["normalization"]
    assert len(norm["mean"]) == 1 and 0 < norm["mean"][0] < 1 and norm["std"][0] > 0
    onnx_path = tmp_path / "raw.onnx"
    argv = ["export", str(out), "--weights", str(out / "weights_last.pt"), "--format", "onnx",
            "--out", str(onnx_path), "--raw-input"]  # fmt: skip
    assert main(argv) == 0
    assert "scaled to [0, 1]" in capsys.readouterr().out
    raw = torch.rand(3, 1, 8, 8)  # images in [0, 1]
    normalised = (raw - norm["mean"][0]) / norm["std"][0]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run(["logits"], {"images": raw.numpy()})
    np.testing.assert_allclose(
        got, _reference_logits(out / "weights_last.pt", normalised), atol=1e-4
    )
    # without --raw-input the printed message gives the statistics to apply
    assert main(["export", str(out), "--weights", str(out / "weights_last.pt"), "--format", "onnx",
                 "--out", str(tmp_path / "n.onnx")]) == 0  # fmt: skip
    assert f"{norm['mean'][0]:.4f}" in capsys.readouterr().out


def test_export_torchscript_round_trip(trained, tmp_path):
    out, _ = trained
    ts_path = tmp_path / "net.pt"
    argv = ["export", str(out), "--weights", str(out / "weights_last.pt"),
            "--format", "torchscript", "--out", str(ts_path)]  # fmt: skip
    assert main(argv) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in 2.13
        module = torch.jit.load(str(ts_path))
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        got = module(x).numpy()
    np.testing.assert_array_equal(got, _reference_logits(out / "weights_last.pt", x))


def test_export_with_wrong_genotype_exits_2(trained, tmp_path, capsys):
    out, _ = trained
    other = tmp_path / "other.json"
    _other_genotype(load_genotype("darts-v2")).to_json(other)
    err = _one_line_error(
        capsys,
        ["export", str(other), "--weights", str(out / "weights_last.pt"),
         "--out", str(tmp_path / "m.onnx")],
    )  # fmt: skip
    assert "normal edge 0->2 is sep_conv_3x3 there but conv_1x1 here" in err
    assert not (tmp_path / "m.onnx").exists()


# --------------------------------------------------------------------------- command line


def test_train_command_errors(tmp_path, capsys, trained):
    err = _one_line_error(capsys, ["train", "--genotype", "darts-v2", "--set", "lrr=0.1"])
    assert "lrr" in err and "'lr'" in err
    err = _one_line_error(capsys, ["train", "--genotype", "darts-v2", "--preset", "nope"])
    assert "unknown train preset" in err
    err = _one_line_error(capsys, ["train", "--resume", str(tmp_path)])
    assert "not a train run directory" in err
    out, _ = trained
    err = _one_line_error(capsys, ["train", "--resume", str(out), "--epochs", "3"])
    assert "--epochs" in err
    err = _one_line_error(capsys, ["train", "--genotype", "darts-v2", "--out", str(out)])
    assert "--resume" in err


def test_train_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["train", "--genotype", "darts-v2", "--channels", "4", "--layers", "3",
            "--epochs", "1", "--seed", "1", "--device", "cpu", "--set", "max_steps_per_epoch=2",
            "--set", "auxiliary=false", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert f"test error {summary['test_error']:.2f}%" in text and "weights_last.pt" in text
    assert summary["params"] == summary["params_with_auxiliary"]
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0  # finished: the summary


def _searched(tmp_path: Path, channels: int, layers: int, dataset: str) -> Path:
    """darts-v2 as a search would write it: with the target network its reward measured."""
    geno = load_genotype("darts-v2")
    meta = {"source": "tndnas search", "target": {"channels": channels, "layers": layers,
                                                  "dataset": dataset, "params": 123}}  # fmt: skip
    path = tmp_path / "searched.json"
    dataclasses.replace(geno, metadata=meta).to_json(path)
    return path


def test_training_another_size_than_the_search_costed_says_so(tmp_path, capsys):
    # the search costed 4 x 3 on CIFAR-10 (another classifier): counted again on digits
    genotype = _searched(tmp_path, 4, 3, "cifar10")
    argv = ["train", "--genotype", str(genotype), "--preset", "quick", "--layers", "3",
            "--epochs", "1", "--set", "max_steps_per_epoch=1", "--no-progress"]  # fmt: skip
    assert main([*argv, "--channels", "6", "--out", str(tmp_path / "wide")]) == 0
    err = capsys.readouterr().err.strip()
    wide = json.loads((tmp_path / "wide" / "summary.json").read_text())
    at_target = wide["searched_target"]["params"]
    assert err == (
        f"tndnas: warning: this trains 6 channels x 3 cells ({wide['params']:,} params), but the "
        f"search's reward measured 4 x 3 ({at_target:,} params on digits): "
        f"{100 * (wide['params'] - at_target) / at_target:+.0f} % parameters; --channels 4 "
        "--layers 3 trains the network the search costed."
    )
    assert main([*argv, "--channels", "4", "--out", str(tmp_path / "same")]) == 0
    assert "warning" not in capsys.readouterr().err  # the size the search costed: no word
    same = json.loads((tmp_path / "same" / "summary.json").read_text())
    assert same["params"] == at_target and same["searched_target"]["params_ratio"] == 1.0
    assert wide["searched_target"]["params_ratio"] == wide["params"] / at_target > 1.5
    # a bundled genotype came from no search: nothing to compare
    assert main([*argv, "--genotype", "darts-v2", "--out", str(tmp_path / "bundled")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_one_cell_at_several_widths_is_a_family(tmp_path, capsys):
    genotype = _searched(tmp_path, 4, 3, "digits")
    out = tmp_path / "family"
    argv = ["train", "--genotype", str(genotype), "--preset", "quick", "--layers", "3",
            "--epochs", "1", "--set", "max_steps_per_epoch=1", "--no-progress",
            "--widths", "4,8", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr()
    assert "warning" not in said.err  # the table compares the sizes instead
    rows = json.loads((out / "widths.json").read_text())["widths"]
    assert [(r["channels"], r["run"]) for r in rows] == [(4, "c4"), (8, "c8")]
    for r in rows:
        summary = json.loads((out / r["run"] / "summary.json").read_text())
        assert (summary["channels"], summary["params"]) == (r["channels"], r["params"])
        assert summary["test_error"] == r["test_error"]
    assert rows[1]["params"] > 2 * rows[0]["params"]
    assert rows[0]["params_ratio_to_searched"] == pytest.approx(rows[0]["params"] / 123)
    assert f"{rows[1]['params']:,}" in said.out and "widths.json" in said.out
    # the same command again: every width finished, read back unchanged
    before = (out / "c8" / "weights_last.pt").stat().st_mtime_ns
    assert main(argv) == 0
    assert json.loads((out / "widths.json").read_text())["widths"] == rows
    assert (out / "c8" / "weights_last.pt").stat().st_mtime_ns == before
    capsys.readouterr()
    # another configuration into the same folder, or flags --widths cannot take: one sentence
    err = _one_line_error(capsys, [*argv, "--seed", "5"])
    assert "c4 holds a training of another configuration (seed differ" in err
    for bad, words in ((["--widths", "4,x"], "is not a comma-separated list"),
                       (["--widths", "4,4"], "names a width twice"),
                       (["--channels", "4"], "takes no --channels")):  # fmt: skip
        assert words in _one_line_error(capsys, [*argv, *bad])


def test_a_train_resume_writes_again_what_its_checkpoint_holds(trained, tmp_path, capsys):
    out, summary = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    for name in ("config.yaml", "genotype.json", "run.json", "summary.json"):
        (run / name).unlink()
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    warned = [w for w in capsys.readouterr().err.splitlines() if "warning" in w]
    assert warned == [
        "tndnas: warning: config.yaml was missing; written again from checkpoint.pt",
        "tndnas: warning: genotype.json was missing; written again from checkpoint.pt",
        "tndnas: warning: run.json was missing; written again (the run's start environment is lost)",
    ]
    assert read_train_run(run) == read_train_run(out)
    again = json.loads((run / "summary.json").read_text())
    assert (again["test_error"], again["params"]) == (summary["test_error"], summary["params"])
    assert json.loads((run / "run.json").read_text())["status"] == "finished"


def test_train_and_info_of_a_search_use_the_network_it_costed(tmp_path, capsys):
    """Without --channels/--layers, `train` and `info` of a search's genotype use the network
    its reward measured (its dataset too, for info), and say so; a flag still wins."""
    genotype = _searched(tmp_path, 4, 3, "digits")
    argv = ["train", "--genotype", str(genotype), "--preset", "quick", "--epochs", "1",
            "--set", "max_steps_per_epoch=1", "--no-progress"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "t")]) == 0
    said = capsys.readouterr()
    assert "training the network the search costed: 4 channels x 3 cells" in said.out
    assert "warning" not in said.err
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert (summary["channels"], summary["layers"]) == (4, 3)
    assert (summary["searched_target"]["channels"], summary["searched_target"]["layers"]) == (4, 3)
    assert main([*argv, "--channels", "6", "--out", str(tmp_path / "w")]) == 0
    said = capsys.readouterr()
    assert "training at the search's layers = 3" in said.out and "6 channels x 3 cells" in said.err
    assert main(["info", str(genotype)]) == 0
    out = capsys.readouterr().out
    assert "(digits, 10 classes)" in out and "4 channels x 3 cells on digits" in out
    row = [line.split() for line in out.splitlines() if line.strip().startswith("4 ")]
    assert row and row[0][:3] == ["4", "3", f"{summary['params']:,}"]
    assert main(["info", "darts-v2"]) == 0  # no search: the CIFAR-10 36 x 20 network
    assert "(cifar10, 10 classes)" in capsys.readouterr().out
