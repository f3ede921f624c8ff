"""Bad input to every command, table-driven: exit status 2, one line on stderr that starts with
``tndnas: error:``, no traceback, nothing half-written left behind -- and the corrected command
then works.  Every row is a mistake a user makes (a value out of range or overflowing, an
unknown name, a binary or truncated file, a folder where a file belongs and the reverse, an
output path that cannot be written)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tndnas.cli import main

from .tiny import TINY_SEARCH

ONE_STAGE = "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, drop: {normal: 4, reduce: 2}}]"
SEARCH = ["search", "--preset", "quick", "--no-progress", "--no-plots",
          *[a for s in [*TINY_SEARCH, ONE_STAGE] for a in ("--set", s)]]  # fmt: skip
TRAIN = ["train", "--genotype", "darts-v2", "--preset", "quick", "--no-progress",
         *[a for s in ("channels=4", "layers=3", "epochs=1", "max_steps_per_epoch=1") for a in ("--set", s)]]  # fmt: skip
TABLE = ["latency-table", "--preset", "quick", "--min-time", "0.001", "--rounds", "1", "--check", "0",
         "--calibrate", "0", *[a for s in TINY_SEARCH for a in ("--set", s)]]  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Inputs of every kind: binary, empty, truncated, a folder, a plain file, trained weights."""
    from tndnas.macro import Macro
    from tndnas.spaces import load_genotype
    from tndnas.spaces.darts.network import EvalNetwork
    from tndnas.train.weights import save_weights

    d = tmp_path_factory.mktemp("inputs")
    (d / "bin.dat").write_bytes(bytes(range(256)) * 4)
    (d / "empty.json").write_text("")
    (d / "trunc.json").write_text('{"normal": [["sep_conv_3x3", 0')
    (d / "bad.yaml").write_text("weights: {lr: [1, 2\n")
    (d / "folder").mkdir()
    (d / "afile.txt").write_text("not a folder\n")
    geno = load_genotype("darts-v2")
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=1, image_size=8)
    save_weights(EvalNetwork(geno, macro, auxiliary=False), d / "w.pt", geno, macro, False)
    darts = json.loads(geno.to_json())
    (d / "steps.json").write_text(json.dumps({**darts, "steps": 10**30}))
    (d / "newer.json").write_text(json.dumps({**darts, "format": "tndnas-genotype/9"}))
    cells = ["|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|",
             "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"]  # fmt: skip
    (d / "abc.csv").write_text("acc,ArchitectureString\n" + "".join(
        f"{v},{c}\n" for v, c in zip(("91.2", "abc", "88.0"), cells, strict=True)))  # fmt: skip
    (d / "trainrun").mkdir()
    (d / "trainrun" / "run.json").write_text(json.dumps({"command": "train", "status": "finished"}))
    (d / "trainrun" / "metrics.jsonl").write_text('{"kind": "train", "epoch": 0}\n')
    import itertools

    from tndnas.spaces.nb201.genotype import NB201_OPS

    cells = ["|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
             for ops in itertools.product(NB201_OPS, repeat=6)]  # fmt: skip
    (d / "full.csv").write_text("CIFAR10TestAccuracy200Epochs,ArchitectureString\n" + "".join(
        f"{50 + i % 47},{c}\n" for i, c in enumerate(cells)))  # fmt: skip
    names = ("full.csv", "trainrun", "abc.csv", "bin.dat", "empty.json", "trunc.json", "bad.yaml", "folder", "afile.txt", "w.pt",
             "steps.json", "newer.json")  # fmt: skip
    return {name.split(".")[0]: str(d / name) for name in names}


# (row id, the mistaken command, words its one line must hold, the corrected command or None);
# "{x}" is one of the files above, "{out}" a fresh path in the test's own folder
# fmt: off
ROWS = [
    # info
    ("info-unknown-name", ["info", "darts-v9"], "is neither a genotype JSON file", ["info", "darts-v2"]),
    ("info-binary", ["info", "{bin}"], "is not text", None),
    ("info-truncated", ["info", "{trunc}"], "not valid JSON", None),
    ("info-folder", ["info", "{folder}"], "genotype", None),
    ("info-width-0", ["info", "darts-v2", "--channels", "0"], "channels must be a positive integer", None),
    ("info-depth-overflow", ["info", "darts-v2", "--layers", "9" * 25], "must be at most 1000", None),
    ("info-costs-unknown", ["info", "--costs", "nope"], "--costs takes a search preset", ["info", "--costs", "quick"]),
    ("info-set-without-costs", ["info", "darts-v2", "--set", "seed=1"], "--set is for --costs", ["info", "darts-v2"]),
    ("info-widths-text", ["info", "darts-v2", "--widths", "16,x"], "comma-separated list", ["info", "darts-v2", "--widths", "16,24"]),
    ("info-not-a-number", ["info", "darts-v2", "--channels", "abc"], "invalid int value", None),
    ("info-unknown-dataset", ["info", "darts-v2", "--dataset", "cifar11"], "unknown dataset", None),
    ("info-table-binary", ["info", "darts-v2", "--latency-table", "{bin}"], "latency table", None),
    ("info-table-empty", ["info", "darts-v2", "--latency-table", "{empty}"], "latency table", None),
    # config
    ("config-unknown-key", ["config", "show", "--set", "weights.lrr=0.1"], "weights.lrr", ["config", "show", "--set", "weights.lr=0.1"]),
    ("config-ill-typed", ["config", "show", "--set", "policy.samples=many"], "policy.samples", None),
    ("config-overflow", ["config", "show", "--set", "policy.samples=" + "9" * 26], "too large", None),
    ("config-unknown-preset", ["config", "show", "--preset", "paper-c11"], "paper-c11", None),
    ("config-binary", ["config", "show", "--config", "{bin}"], "not UTF-8 text", None),
    ("config-empty", ["config", "show", "--config", "{empty}"], "is empty", None),
    ("config-malformed", ["config", "show", "--config", "{bad}"], "cannot parse", None),
    ("config-folder", ["config", "show", "--config", "{folder}"], "config file", None),
    ("config-unknown-command", ["config", "shw"], "invalid choice", None),
    # search (corrected with --dry-run: checked, nothing written)
    ("search-negative-lr", [*SEARCH, "--set", "weights.lr=-1", "--dry-run"], "weights.lr", [*SEARCH, "--dry-run"]),
    ("search-unknown-op-set", [*SEARCH, "--set", "space.normal_ops=tnd-normall", "--dry-run"], "tnd-normall", None),
    ("search-unknown-cost", [*SEARCH, "--set", "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, costs: [{cost: watts}]}]", "--dry-run",], "watts", None),
    ("search-reward-overflow", [*SEARCH, "--set", "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, costs: [{cost: params, ref: 0.05, beta: 1.0e+300}]}]", "--out", "{out}",], "too large to be a reward", None),
    ("search-seed-overflow", [*SEARCH, "--seed", "9" * 23, "--dry-run"], "too large", None),
    ("search-missing-data", [*SEARCH, "--dataset", "imagefolder", "--data-dir", "{out}", "--dry-run"], "does not exist", None),
    ("search-out-is-a-file", [*SEARCH, "--out", "{afile}"], "choose", None),
    ("search-out-under-a-file", [*SEARCH, "--out", "{afile}/run"], "choose", None),
    ("search-out-empty", [*SEARCH, "--out", ""], "is empty; name the folder", None),
    ("search-dist-timeout-negative", [*SEARCH, "--dist-timeout", "-5", "--dry-run"], "not a positive number of seconds", None),
    ("search-resume-a-file", ["search", "--resume", "{afile}"], "search run directory", None),
    ("search-resume-empty-folder", ["search", "--resume", "{folder}"], "holds no search run yet", None),
    ("search-config-binary", ["search", "--config", "{bin}", "--dry-run"], "not UTF-8 text", None),
    # train
    ("train-unknown-genotype", [*TRAIN, "--genotype", "darts-v9", "--out", "{out}"], "darts-v9", None),
    ("train-truncated-genotype", [*TRAIN, "--genotype", "{trunc}", "--out", "{out}"], "not valid JSON", None),
    ("train-zero-epochs", [*TRAIN, "--set", "epochs=0", "--out", "{out}"], "epochs", [*TRAIN, "--out", "{out}"]),
    ("train-missing-data", [*TRAIN, "--dataset", "imagefolder", "--data-dir", "{folder}/none", "--out", "{out}"], "does not exist", [*TRAIN, "--out", "{out}"]),
    ("train-resume-a-search", ["train", "--resume", "{folder}"], "not a train run directory", None),
    # export
    ("export-binary-weights", ["export", "darts-v2", "--weights", "{bin}", "--out", "{out}.onnx"], "unreadable", None),
    ("export-missing-weights", ["export", "darts-v2", "--weights", "{out}.pt", "--out", "{out}.onnx"], "no weights file", None),
    ("export-other-genotype", ["export", "pdarts", "--weights", "{w}", "--out", "{out}.pt", "--format", "torchscript"], "there but", ["export", "darts-v2", "--weights", "{w}", "--out", "{out}.pt", "--format", "torchscript"]),
    ("export-unknown-format", ["export", "darts-v2", "--weights", "{w}", "--out", "{out}.x", "--format", "tflite"], "invalid choice", None),
    ("export-out-under-a-file", ["export", "darts-v2", "--weights", "{w}", "--out", "{afile}/m.pt", "--format", "torchscript",], "choose", None),
    ("export-out-a-folder", ["export", "darts-v2", "--weights", "{w}", "--out", "{folder}", "--format", "torchscript"], "is a folder", None),
    ("export-batch-overflow", ["export", "darts-v2", "--weights", "{w}", "--out", "{out}.pt", "--batch", "9" * 20], "from 1 to 65536", None),
    # plot
    ("plot-a-file", ["plot", "{afile}"], "run director", None),
    ("plot-a-train-run", ["plot", "{trainrun}"], "is a train run", None),
    ("plot-other-folder", ["plot", "{folder}"], "run director", None),
    # sweep
    ("sweep-betas-text", ["sweep", "--preset", "quick", "--betas", "-0.1,x", "--out", "{out}"], "--betas", None),
    ("sweep-refs-count", ["sweep", "--preset", "quick", "--betas", "-0.1,-0.3", "--refs", "1,2,3", "--out", "{out}"], "--refs", None),
    ("sweep-jobs-overflow", ["sweep", "--preset", "quick", "--betas", "-0.1", "--jobs", "9" * 20, "--out", "{out}"], "from 1 to 1024", None),
    ("sweep-jobs-0", ["sweep", "--preset", "quick", "--betas", "-0.1", "--jobs", "0", "--out", "{out}"], "--jobs", None),
    ("sweep-negative-retries", ["sweep", "--preset", "quick", "--betas", "-0.1", "--max-retries", "-3", "--out", "{out}"], "--max-retries", None),
    ("sweep-unknown-train-preset", ["sweep", "--preset", "quick", "--betas", "-0.1", "--train-preset", "evall", "--out", "{out}"], "evall", None),
    # latency-table (checked before any measuring)
    ("latency-batch-0", [*TABLE, "--batch", "0", "--out", "{out}.json"], "--batch=0", None),
    ("latency-backend", [*TABLE, "--backend", "tensorrt", "--out", "{out}.json"], "tensorrt", None),
    ("latency-out-under-a-file", [*TABLE, "--out", "{afile}/t.json"], "cannot be written", None),
    ("latency-check-json-without-check", [*TABLE, "--check-json", "{out}.c.json", "--out", "{out}.json"], "--check-json", None),
    # nb201 and bench-tabular tables
    ("nb201-binary-table", ["nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", "{bin}"], "table", None),
    ("nb201-accuracy-not-a-number", ["nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", "{abc}"], "row 3 holds 'abc', not a finite number", None),
    ("nb201-bad-cell", ["nb201", "|conv_9x9~0|", "--table", "{empty}"], "conv_9x9", None),
    ("info-genotype-steps-overflow", ["info", "{steps}"], "'steps' must be an integer from 1 to 64", None),
    ("info-genotype-newer-format", ["info", "{newer}"], "is not one this tndnas reads", None),
    ("bench-tabular-queries-overflow", ["bench-tabular", "--table", "{empty}", "--queries", "9" * 23], "at most 1000000", None),
    ("bench-tabular-missing-table", ["bench-tabular", "--table", "{out}.csv"], "does not exist", None),
    # values accepted at the start that would fail at the end: checked before the first step
    ("search-width-overflow", [*SEARCH, "--set", "space.channels=100000", "--dry-run"], "channels must be at most 4096", None),
    ("search-target-width-overflow", [*SEARCH, "--set", "target.channels=5000", "--dry-run"], "channels must be at most 4096", None),
    ("train-width-overflow", [*TRAIN, "--channels", "100000", "--out", "{out}"], "channels must be at most 4096", None),
    ("train-depth-overflow", [*TRAIN, "--layers", "5000", "--out", "{out}"], "layers must be at most 1000", None),
    ("train-width-beyond-memory", [*TRAIN, "--channels", "4000", "--layers", "20", "--out", "{out}"], "for its weights, gradients and momentum alone", [*TRAIN, "--out", "{out}"]),
    ("train-widths-text", [*TRAIN, "--widths", "4,x", "--out", "{out}"], "--widths='4,x' is not", None),
    ("train-widths-twice", [*TRAIN, "--widths", "4,4", "--out", "{out}"], "names a width twice", None),
    ("train-widths-with-channels", [*TRAIN, "--widths", "4,8", "--channels", "4", "--out", "{out}"], "takes no --channels", None),
    # devices the docs list that this build of torch cannot use
    ("search-device-mps", [*SEARCH, "--device", "mps", "--dry-run"], "cannot be used by this build of torch", [*SEARCH, "--device", "cpu", "--dry-run"]),
    ("search-device-unknown", [*SEARCH, "--device", "gpu", "--dry-run"], "device='gpu' is invalid", None),
    ("train-device-mps", [*TRAIN, "--device", "mps", "--out", "{out}"], "cannot be used by this build of torch", None),
    ("latency-device-mps", [*TABLE, "--device", "mps", "--out", "{out}.json"], "cannot be used by this build of torch", None),
    # success reported for nothing
    ("search-no-alpha-update", [*SEARCH, "--set", "stages=[{layers: 3, epochs: 1, pretrain_epochs: 1, drop: {normal: 4, reduce: 2}}]", "--dry-run"], "makes no alpha update", None),
    ("search-no-alpha-update-before-drops", [*SEARCH, "--set", "stages=[{layers: 3, epochs: 2, pretrain_epochs: 2, drop: {normal: 4, reduce: 2}}, {layers: 3, epochs: 1, pretrain_epochs: 0}]", "--dry-run"], "its drops would follow the initial alpha", None),
    ("latency-calibrate-1", [*TABLE, "--calibrate", "1", "--out", "{out}.json"], "--calibrate=1 fits a scale and an offset", None),
    ("latency-check-2", [*TABLE, "--check", "2", "--out", "{out}.json"], "--check=2 cannot give a share", None),
    ("bench-tabular-queries-above-table", ["bench-tabular", "--table", "{full}", "--queries", "100,20000", "--seeds", "1"], "more than the 15,625 cells the table holds", None),
    # output paths and formats, checked before the work starts
    ("bench-tabular-plot-format", ["bench-tabular", "--table", "{full}", "--queries", "10", "--seeds", "1", "--plot", "{out}.xyz"], "not a figure format matplotlib writes", ["bench-tabular", "--table", "{full}", "--queries", "10", "--seeds", "1", "--cost", "params", "--plot", "{out}.png"]),
    ("bench-tabular-json-under-a-file", ["bench-tabular", "--table", "{full}", "--queries", "10", "--seeds", "1", "--json", "{afile}/r.json"], "cannot be written", None),
    # advice that works: addresses checked before anything starts
    ("sweep-ray-address-malformed", ["sweep", "--preset", "quick", "--betas", "-0.1", "--backend", "ray", "--ray-address", "not a host", "--out", "{out}"], "is not an address", None),
    ("sweep-ray-address-unreachable", ["sweep", "--preset", "quick", "--betas", "-0.1", "--backend", "ray", "--ray-address", "127.0.0.1:1", "--out", "{out}"], "nothing answers at --ray-address 127.0.0.1:1", None),
    ("sweep-one-supernet-on-ray", ["sweep", "--preset", "quick", "--betas", "-0.1", "--one-supernet", "--backend", "ray", "--out", "{out}"], "--one-supernet runs one search process", None),
    ("sweep-ray-address-without-ray", ["sweep", "--preset", "quick", "--betas", "-0.1", "--ray-address", "auto", "--out", "{out}"], "--ray-address is for --backend ray", None),
    # one row at least for every flag of every command
    ("info-data-dir-missing", ["info", "darts-v2", "--dataset", "imagefolder", "--data-dir", "{out}"], "does not exist", None),
    ("info-json-with-value", ["info", "darts-v2", "--json=yes"], "ignored explicit argument", None),
    ("search-check-sync-with-value", [*SEARCH, "--check-sync=yes", "--dry-run"], "ignored explicit argument", None),
    ("search-config-and-preset", [*SEARCH, "--config", "{bad}", "--dry-run"], "not allowed with argument --preset", None),
    ("train-config-malformed", ["train", "--genotype", "darts-v2", "--config", "{bad}", "--out", "{out}"], "cannot parse", None),
    ("train-epochs-negative", [*TRAIN, "--epochs", "-3", "--out", "{out}"], "epochs=-3 is invalid", None),
    ("train-seed-negative", [*TRAIN, "--seed", "-1", "--out", "{out}"], "seed=-1 is invalid", None),
    ("train-dist-timeout-0", [*TRAIN, "--dist-timeout", "0", "--out", "{out}"], "not a positive number of seconds", None),
    ("train-channels-0", [*TRAIN, "--channels", "0", "--out", "{out}"], "channels", None),
    ("export-raw-input-with-value", ["export", "darts-v2", "--weights", "{w}", "--raw-input=yes", "--out", "{out}.pt"], "ignored explicit argument", None),
    ("sweep-train-epochs-0", ["sweep", "--preset", "quick", "--betas", "-0.1", "--train-epochs", "0", "--out", "{out}"], "--train-epochs=0 is invalid", None),
    ("sweep-seed-negative", ["sweep", "--preset", "quick", "--betas", "-0.1", "--seed", "-4", "--out", "{out}"], "seed=-4 is invalid", None),
    ("sweep-device-unknown", ["sweep", "--preset", "quick", "--betas", "-0.1", "--device", "gpu", "--out", "{out}"], "device='gpu' is invalid", None),
    ("sweep-config-binary", ["sweep", "--config", "{bin}", "--betas", "-0.1", "--out", "{out}"], "not UTF-8 text", None),
    ("sweep-unknown-key", ["sweep", "--preset", "quick", "--betas", "-0.1", "--set", "nope=1", "--out", "{out}"], "unknown config key 'nope'", None),
    ("sweep-no-progress-with-value", ["sweep", "--preset", "quick", "--betas", "-0.1", "--no-progress=yes", "--out", "{out}"], "ignored explicit argument", None),
    ("sweep-no-plots-with-value", ["sweep", "--preset", "quick", "--betas", "-0.1", "--no-plots=yes", "--out", "{out}"], "ignored explicit argument", None),
    ("sweep-cpus-per-job-0", ["sweep", "--preset", "quick", "--betas", "-0.1", "--backend", "ray", "--cpus-per-job", "0", "--out", "{out}"], "--cpus-per-job must be > 0", None),
    ("sweep-gpus-per-job-negative", ["sweep", "--preset", "quick", "--betas", "-0.1", "--backend", "ray", "--gpus-per-job", "-1", "--out", "{out}"], "--gpus-per-job >= 0", None),
    ("latency-threads-0", [*TABLE, "--threads", "0", "--out", "{out}.json"], "--threads=0 is invalid", None),
    ("latency-check-time-negative", [*TABLE, "--check-time", "-1", "--out", "{out}.json"], "--check-time=-1.0 is invalid", None),
    ("latency-min-time-0", [*TABLE, "--min-time", "0", "--out", "{out}.json"], "--min-time=0.0 is invalid", None),
    ("latency-rounds-0", [*TABLE, "--rounds", "0", "--out", "{out}.json"], "--rounds=0 is invalid", None),
    ("latency-unknown-dataset", [*TABLE, "--dataset", "cifar11", "--out", "{out}.json"], "unknown dataset 'cifar11'", None),
    ("latency-data-dir-missing", [*TABLE, "--dataset", "imagefolder", "--data-dir", "{out}", "--out", "{out}.json"], "does not exist", None),
    ("latency-config-and-preset", [*TABLE, "--config", "{bad}", "--out", "{out}.json"], "not allowed with argument --preset", None),
    ("latency-channels-last-with-value", [*TABLE, "--channels-last=yes", "--out", "{out}.json"], "ignored explicit argument", None),
    ("latency-pieces-csv-under-a-file", [*TABLE, "--pieces-csv", "{afile}/p.csv"], "choose", None),
    ("latency-import-missing", [*TABLE, "--import-csv", "{out}.csv", "--device-name", "x", "--out", "{out}.json"], "does not exist", None),
    ("latency-import-not-a-table", [*TABLE, "--import-csv", "{afile}", "--device-name", "x", "--out", "{out}.json"], "needs the columns 'piece' and 'latency_ms'", None),
    ("nb201-arch-column", ["nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", "{full}", "--arch-column", "Arch"], "has no column 'Arch'", ["nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", "{full}", "--json"]),
    ("nb201-json-with-value", ["nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--table", "{full}", "--json=yes"], "ignored explicit argument", None),
    ("bench-tabular-objective", ["bench-tabular", "--table", "{full}", "--objective", "acc"], "no numeric column 'acc' for --objective", None),
    ("bench-tabular-cost", ["bench-tabular", "--table", "{full}", "--cost", "watts"], "--cost watts", None),
    ("bench-tabular-betas-text", ["bench-tabular", "--table", "{full}", "--betas", "x"], "'x' is not a number", None),
    ("bench-tabular-acc-noise-0", ["bench-tabular", "--table", "{full}", "--acc-noise", "0"], "--acc-noise 0 is invalid", None),
    ("bench-tabular-methods", ["bench-tabular", "--table", "{full}", "--queries", "10", "--seeds", "1", "--methods", "random,nsga3"], "unknown method 'nsga3'", ["bench-tabular", "--table", "{full}", "--queries", "10", "--seeds", "1", "--methods", "random,nsga2"]),
    ("bench-tabular-unknown-preset", ["bench-tabular", "--table", "{full}", "--preset", "nope"], "unknown preset 'nope'", None),
    ("bench-tabular-unknown-key", ["bench-tabular", "--table", "{full}", "--set", "nope=1"], "unknown config key 'nope'", None),
    ("bench-tabular-arch-column", ["bench-tabular", "--table", "{full}", "--arch-column", "Arch"], "has no column 'Arch'", None),
    ("bench-tabular-seeds-0", ["bench-tabular", "--table", "{full}", "--seeds", "0"], "--seeds 0 is invalid", None),
    ("config-train-unknown-key", ["config", "show", "--train", "--set", "lrr=1"], "did you mean 'lr'", ["config", "show", "--train", "--set", "lr=1"]),
]
# fmt: on


def _fill(argv: list[str], files: dict[str, str], out: str) -> list[str]:
    filled = []
    for a in argv:
        for name, path in {**files, "out": out}.items():
            a = a.replace("{" + name + "}", path)
        filled.append(a)
    return filled


@pytest.mark.parametrize(("words", "argv", "fixed"), [(words, argv, fixed) for _, argv, words, fixed in ROWS],
                         ids=[r[0] for r in ROWS])  # fmt: skip
def test_a_mistake_is_one_sentence_and_the_corrected_command_works(
    files, tmp_path, capsys, argv, words, fixed
):
    out = str(tmp_path / "out")
    before = set(os.listdir(tmp_path))
    try:
        code = main(_fill(argv, files, out))
    except SystemExit as stop:  # argparse's own exit, after its one line
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tndnas: error: "), err
    assert "tndnas:" not in lines[0][len("tndnas: error: ") :], lines[0]  # one prefix, once
    assert "Traceback" not in err and words in lines[0], lines[0]
    assert set(os.listdir(tmp_path)) == before  # nothing half-written in the way
    if fixed is not None:
        try:
            code = main(_fill(fixed, files, out))
        except SystemExit as stop:
            code = stop.code
        assert code == 0, capsys.readouterr().err
    assert Path(files["afile"]).read_text() == "not a folder\n"  # an input is never written


def test_every_flag_of_every_command_has_a_row():
    """The table covers the whole command line: each option of each command appears in at
    least one mistaken command (the base commands' own flags count for their command)."""
    import argparse

    from tndnas.cli import build_parser

    used: dict[str, set[str]] = {}
    for _, argv, _, _ in ROWS:
        used.setdefault(argv[0], set()).update(a.split("=")[0] for a in argv if a.startswith("--"))
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = {
        name: flags
        for name, parser in commands.choices.items()
        if (flags := sorted({o for a in parser._actions for o in a.option_strings
                             if o.startswith("--") and o != "--help"} - used.get(name, set())))
    }  # fmt: skip
    assert not missing, f"flags without a bad-input row: {missing}"
