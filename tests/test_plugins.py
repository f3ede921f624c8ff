"""Users' own code from the CLI: a plug-in module registering an op, an op set, a cost, a dataset
and a search space reaches search, train, export, info and a sweep without editing tndnas."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.tiny import TINY_SEARCH
from tndnas.cli import main
from tndnas.config import load_search_config
from tndnas.plugins import PluginError, import_plugins, plugin_scope, run_plugins
from tndnas.report.metrics import read_metrics

PLUGIN = textwrap.dedent(
    """
    import torch.nn as nn

    from tndnas.data import register_dataset
    from tndnas.data.datasets import read_digits
    from tndnas.objectives import register_cost
    from tndnas.ops import register_op
    from tndnas.op_sets import register_op_set
    from tndnas.spaces import register_space
    from tndnas.spaces.darts import DartsSpace


    class WideConv(nn.Sequential):
        def __init__(self, C, stride, affine):
            super().__init__(
                nn.ReLU(inplace=False),
                nn.Conv2d(C, C, 5, stride, 2, bias=False),
                nn.BatchNorm2d(C, affine=affine),
            )


    def few_digits(data_dir, download):
        ds = read_digits()
        ds.name = "plug-digits"
        ds.train_x, ds.train_y = ds.train_x[:400], ds.train_y[:400]
        return ds


    register_op("plug_conv_5x5", WideConv, overwrite=True)
    register_op_set(
        "plug-normal", ["skip_connect", "plug_conv_5x5", "max_pool_3x3"], overwrite=True
    )
    register_cost(
        "plug_edges",
        lambda g, ctx: float(sum(e[0] == "plug_conv_5x5" for e in g.normal)) + 1.0,
        unit="edges",
        overwrite=True,
    )
    register_dataset("plug-digits", few_digits, overwrite=True)


    class NoSkipSpace(DartsSpace):
        # DARTS cells without skip_connect among the candidates; its genotypes are refused
        # with one, its networks are marked and its diagrams are text

        def candidate_ops(self, space_cfg):
            ops = super().candidate_ops(space_cfg)
            return {ct: tuple(o for o in v if o != "skip_connect") for ct, v in ops.items()}

        def genotype_from_dict(self, data, where):
            geno = super().genotype_from_dict(data, where)
            if any(e[0] == "skip_connect" for ct in self.cell_types for e in geno.cell(ct)):
                from tndnas.spaces.base import GenotypeError

                raise GenotypeError(f"{where}: a plug-noskip genotype has no skip_connect")
            return geno

        def network(self, genotype, macro, *, auxiliary=False):
            net = super().network(genotype, macro, auxiliary=auxiliary)
            net.built_by = "plug-noskip"
            return net

        def draw(self, genotype, out_dir):
            path = out_dir / "cells.txt"
            path.write_text(genotype.describe())
            return [path]


    register_space("plug-noskip", NoSkipSpace(), overwrite=True)
    """
)

STAGE = "stages=[{layers: 3, epochs: 2, pretrain_epochs: 1, drop: {normal: 2, reduce: 2}, costs: [{cost: plug_edges, beta: -0.5, ref: 4.0}]}]"


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder holding the plug-in module ``tndplug`` as the current folder."""
    (tmp_path / "tndplug.py").write_text(PLUGIN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _search_args(out: Path) -> list[str]:
    sets = [*TINY_SEARCH, "dataset.name=plug-digits", "space.normal_ops=plug-normal",
            STAGE]  # fmt: skip
    return ["search", "--preset", "quick", "--out", str(out), "--no-progress", "--no-plots",
            *[a for s in sets for a in ("--set", s)]]  # fmt: skip


def test_plugin_op_cost_and_dataset_through_search_train_export_info(plugin_dir, capsys):
    run = plugin_dir / "run"
    assert main(["--plugin", "tndplug", *_search_args(run)]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["plugins"] == ["tndplug"]  # recorded: resume and train import it again
    assert run_plugins(run) == ["tndplug"] == run_plugins(run / "genotype.json")
    geno = json.loads((run / "genotype.json").read_text())
    normal_ops = {edge[0] for edge in geno["normal"]}
    assert normal_ops <= {"skip_connect", "plug_conv_5x5", "max_pool_3x3"}
    alpha = [r for r in read_metrics(run / "metrics.jsonl") if r.get("kind") == "alpha"]
    assert alpha and all(r["costs_mean"]["plug_edges"] >= 1.0 for r in alpha)  # the reward's cost

    # train and export the found network: the plug-in comes from the search run's config
    train_dir = plugin_dir / "train"
    sets = ["channels=4", "layers=3", "batch_size=64", "max_steps_per_epoch=2",
            "dataset.name=plug-digits"]  # fmt: skip
    argv = ["train", "--genotype", str(run), "--preset", "quick", "--epochs", "1", "--out",
            str(train_dir), "--no-progress", *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    assert yaml.safe_load((train_dir / "config.yaml").read_text())["plugins"] == ["tndplug"]
    onnx = plugin_dir / "m.onnx"
    argv = ["export", str(run), "--weights", str(train_dir / "weights_last.pt"), "--out", str(onnx)]
    assert main(argv) == 0 and onnx.stat().st_size > 0
    assert (
        main(["info", str(run), "--dataset", "plug-digits", "--channels", "4", "--layers", "3"])
        == 0
    )
    capsys.readouterr()


def test_plugin_in_a_config_file_and_as_a_path(plugin_dir):
    cfg_file = plugin_dir / "my.yaml"
    cfg_file.write_text("plugins: [tndplug]\nspace: {normal_ops: plug-normal}\n")
    cfg = load_search_config(config_file=cfg_file)
    assert cfg.plugins == ["tndplug"] and cfg.space.normal_ops == "plug-normal"
    # a .py path is recorded absolute, so a resume from another folder finds it
    with plugin_scope(["./tndplug.py"]):
        cfg = load_search_config(preset="quick")
    assert cfg.plugins == [str(plugin_dir / "tndplug.py")]
    assert load_search_config(preset="quick").plugins == []  # the scope has ended


def test_plugin_errors_are_one_line(plugin_dir, capsys):
    assert main(["--plugin", "no_such_plugin_module", "info", "darts-v2"]) == 2
    err = capsys.readouterr().err
    assert "cannot find plug-in module 'no_such_plugin_module'" in err and err.count("\n") == 1
    (plugin_dir / "broken_plug.py").write_text("raise RuntimeError('boom')\n")
    assert main(["--plugin", "broken_plug", "info", "darts-v2"]) == 2
    assert (
        "plug-in 'broken_plug' failed while importing: RuntimeError: boom"
        in capsys.readouterr().err
    )
    assert main(["--plugin", "missing/file.py", "info", "darts-v2"]) == 2
    assert "plug-in file 'missing/file.py' does not exist" in capsys.readouterr().err
    with pytest.raises(PluginError, match="does not exist"):
        load_search_config(overrides=["plugins=[./nope.py]"])


def test_a_sweep_hands_its_plugins_to_the_jobs(plugin_dir):
    """A sweep's jobs are separate processes: they get the plug-in through TNDNAS_PLUGINS."""
    import_plugins(["tndplug"])
    sets = [*TINY_SEARCH, "dataset.name=plug-digits", "space.normal_ops=plug-normal",
            STAGE.replace("epochs: 2, pretrain_epochs: 1", "epochs: 1, pretrain_epochs: 0")]  # fmt: skip
    argv = [sys.executable, "-m", "tndnas.cli", "--plugin", "tndplug", "sweep", "--preset", "quick",
            "--betas", "-0.5", "--jobs", "1", "--out", str(plugin_dir / "sw"),
            *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (job,) = [p for p in (plugin_dir / "sw").iterdir() if p.is_dir()]
    assert (job / "genotype.json").exists()
    assert yaml.safe_load((job / "config.yaml").read_text())["plugins"] == ["tndplug"]


def test_a_plugin_search_space(plugin_dir, capsys):
    """A space registered by a plug-in is named in space.name: its candidates are searched."""
    run = plugin_dir / "space"
    sets = [*TINY_SEARCH, "space.name=plug-noskip", STAGE]
    argv = ["--plugin", "tndplug", "search", "--preset", "quick", "--out", str(run),
            "--no-progress", "--no-plots", *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    first = json.loads((run / "alpha" / "stage0_epoch000.json").read_text())
    assert len(first["normal"]["ops"][0]) == 9 and len(first["reduce"]["ops"][0]) == 5
    assert all(
        "skip_connect" not in edge for ct in ("normal", "reduce") for edge in first[ct]["ops"]
    )
    geno = json.loads((run / "genotype.json").read_text())
    assert all(e[0] != "skip_connect" for ct in ("normal", "reduce") for e in geno[ct])
    assert geno["space"] == "plug-noskip"  # the space builds, draws and validates it
    # train, export and plot take the space from the genotype: its network, its diagrams
    train_dir = plugin_dir / "space-train"
    sets = ["channels=4", "layers=3", "batch_size=64", "max_steps_per_epoch=2"]
    argv = ["train", "--genotype", str(run), "--preset", "quick", "--epochs", "1", "--out",
            str(train_dir), "--no-progress", *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    from tndnas.train.weights import load_weights

    model, meta = load_weights(train_dir / "weights_last.pt")
    assert model.built_by == "plug-noskip" and meta["genotype"].space == "plug-noskip"
    onnx = plugin_dir / "space.onnx"
    argv = ["export", str(run), "--weights", str(train_dir / "weights_last.pt"), "--out", str(onnx)]
    assert main(argv) == 0 and onnx.stat().st_size > 0
    assert main(["plot", str(run)]) == 0
    assert "live edges" in (run / "plots" / "cells.txt").read_text()
    assert (run / "plots" / "accuracy.png").exists()  # the metric plots, drawn by the command
    assert not (run / "plots" / "cell_normal.png").exists()
    # the space validates its genotypes; a genotype of a space nobody registered is refused
    bad = plugin_dir / "bad.json"
    geno["normal"][0][0] = "skip_connect"
    bad.write_text(json.dumps(geno))
    capsys.readouterr()
    assert main(["info", str(bad)]) == 2
    assert "a plug-noskip genotype has no skip_connect" in capsys.readouterr().err
    bad.write_text(json.dumps({**geno, "space": "never-registered"}))
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "search space 'never-registered', which is not registered" in err
    assert "--plugin" in err and err.count("\n") == 1
    capsys.readouterr()
    assert (
        main(["search", "--preset", "quick", "--set", "space.name=nope", "--out", str(run / "x")])
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown search space 'nope'" in err and err.count("\n") == 1


NO_OVERWRITE = textwrap.dedent(
    """
    import torch.nn as nn

    from tndnas.op_sets import register_op_set
    from tndnas.ops import register_op


    class WideConv(nn.Sequential):
        def __init__(self, C, stride, affine):
            super().__init__(nn.ReLU(inplace=False), nn.Conv2d(C, C, 5, stride, 2, bias=False),
                             nn.BatchNorm2d(C, affine=affine))


    register_op("{name}", WideConv)  # no overwrite=True: a second import would raise
    register_op_set("{name}-set", ["skip_connect", "{name}", "max_pool_3x3"])
    """
)


def test_a_plugin_is_imported_once_however_it_is_named(tmp_path, monkeypatch):
    """A relative path, the absolute path, the module name and the same name twice are one
    import: registration without overwrite=True never sees its own op twice."""
    name = f"once_{tmp_path.name.replace('-', '_')}"  # unique in this test process
    (tmp_path / f"{name}.py").write_text(NO_OVERWRITE.replace("{name}", name))
    monkeypatch.chdir(tmp_path)
    first = import_plugins([f"./{name}.py"])[0]
    again = import_plugins([str(tmp_path / f"{name}.py"), name, f"./{name}.py", f"{name}.py"])
    assert all(m is first for m in again)
    # module name first, then its path: also one import
    other = f"twice_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{other}.py").write_text(NO_OVERWRITE.replace("{name}", other))
    by_name = import_plugins([other])[0]
    assert import_plugins([f"./{other}.py", str(tmp_path / f"{other}.py")]) == [by_name, by_name]


def test_a_relative_plugin_path_works_in_search_and_sweep(tmp_path):
    """``--plugin ./x.py`` of a plug-in that does not overwrite: the command line's import and
    the config's (absolute) record are one import, in the command and in a sweep's jobs."""
    (tmp_path / "myops.py").write_text(NO_OVERWRITE.replace("{name}", "my_conv_5x5"))
    stage = "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, drop: {normal: 0}, costs: [{cost: params, ref: 0.05, beta: -0.3}]}]"
    sets = [*TINY_SEARCH, "space.normal_ops=my_conv_5x5-set", stage]
    sets = [a for s in sets for a in ("--set", s)]
    cli = [sys.executable, "-m", "tndnas.cli", "--plugin", "./myops.py"]
    runs = [
        [*cli, "search", "--preset", "quick", "--out", "run", "--no-progress", "--no-plots", *sets],
        [*cli, "sweep", "--preset", "quick", "--betas", "-0.5", "--out", "sw", "--no-plots", *sets],
        [*cli, "config", "show", "--preset", "quick"],
    ]
    for argv in runs:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    geno = json.loads((tmp_path / "run" / "genotype.json").read_text())
    assert {e[0] for e in geno["normal"]} <= {"skip_connect", "my_conv_5x5", "max_pool_3x3"}
    (job,) = [p for p in (tmp_path / "sw").iterdir() if p.is_dir()]
    assert yaml.safe_load((job / "config.yaml").read_text())["plugins"] == [
        str(tmp_path / "myops.py")
    ]
