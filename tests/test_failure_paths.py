"""Bad input and faults end in one sentence, never in a silently wrong result."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tndnas.cli import main
from tndnas.commands.options import option_overrides
from tndnas.config import load_search_config
from tndnas.data import DatasetError, load_dataset
from tndnas.objectives import RewardError, RewardTerm
from tndnas.runtime import write_json_atomic
from tndnas.runtime.lock import RunLock
from tndnas.search import search

from .tiny import TINY_SEARCH, tiny


def test_flag_values_are_taken_verbatim():
    """A path or name given as a flag is a string as typed: not YAML (no '#' comment, no
    'yes' -> true, no 'null' -> None); numbers stay numbers."""
    options = (("dataset", "dataset.name"), ("data_dir", "dataset.data_dir"), ("seed", "seed"))
    for text in ("data/weird #dir", "yes", "null", "[1, 2]", "a: b", '"quoted"'):
        args = argparse.Namespace(overrides=[], dataset="imagefolder", data_dir=text, seed=3)
        cfg = load_search_config(preset="quick", overrides=option_overrides(args, options))
        assert cfg.dataset.data_dir == text and cfg.dataset.name == "imagefolder"
        assert cfg.seed == 3


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (6, 6), (1, 2, 3)).save(path)


def test_a_dataset_of_one_class_is_refused(tmp_path, capsys):
    for split in ("train", "test"):
        _png(tmp_path / "one" / split / "cat" / "a.png")
    with pytest.raises(DatasetError, match="has 1 class; a classifier needs at least two"):
        load_dataset("imagefolder", tmp_path / "one")
    argv = ["train", "--genotype", "darts-v2", "--dataset", "imagefolder", "--data-dir",
            str(tmp_path / "one"), "--out", str(tmp_path / "t"), "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "has 1 class" in err and err.count("\n") == 1


# ------------------------------------------------------------------ no dead ends
@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_run_stopped_before_its_first_checkpoint_resumes_from_the_start(
    tiny_run, tmp_path, capsys
):
    """What a search killed before its first epoch ended leaves (config, run.json, part of
    the metrics) is continued by --resume: the run starts again and ends as an unbroken one."""
    run = tmp_path / "early"
    shutil.copytree(tiny_run, run)
    for name in ("checkpoint.pt", "summary.json", "genotype.json"):
        (run / name).unlink()
    shutil.rmtree(run / "alpha")
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 0
    assert "has no checkpoint yet: its search starts again" in capsys.readouterr().err
    assert (run / "genotype.json").read_text() == (tiny_run / "genotype.json").read_text()
    assert json.loads((run / "run.json").read_text())["status"] == "finished"


def test_train_writes_nothing_before_its_data_is_read(tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["train", "--genotype", "darts-v2", "--dataset", "imagefolder", "--data-dir",
            str(tmp_path / "missing"), "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()


# ------------------------------------------------------------------ one process per run
@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_second_process_on_a_run_is_refused_naming_the_first(tiny_run, tmp_path, capsys):
    run = tmp_path / "busy"
    shutil.copytree(tiny_run, run)
    (run / "summary.json").unlink()  # an unfinished run, which --resume would continue
    before = (run / "run.json").read_text()
    with RunLock(run, "search"):  # another process holds it (here: this one, as a stand-in)
        assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert f"is in use by another tndnas process (PID {os.getpid()})" in err
    assert err.count("\n") == 1
    assert (run / "run.json").read_text() == before  # the refused process touched nothing
    # the kernel drops the lock with its holder: nothing is left to clean up
    with RunLock(run, "search") as lock:
        assert lock.held


def test_run_json_records_how_a_run_ended(tmp_path, monkeypatch):
    import tndnas.search.epoch as epoch

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(epoch, "weight_step", stop)
    with pytest.raises(KeyboardInterrupt):
        search(tiny("stages=[{layers: 3, epochs: 1, pretrain_epochs: 0}]"), tmp_path / "r",
               progress=False, plots=False)  # fmt: skip
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["status"] == "interrupted" and info["failure"] == "KeyboardInterrupt"


# ------------------------------------------------------------------ safe numerics
@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("{cost: params, ref: 0.05, beta: 1.0e+300}", "too large to be a reward"),
        ("{cost: params, ref: 10, beta: -200}", "too large to be a reward"),
    ],
)
def test_a_reward_that_overflows_is_refused_before_anything_is_written(
    tmp_path, capsys, term, words
):
    stages = f"stages=[{{layers: 3, epochs: 1, pretrain_epochs: 0, costs: [{term}]}}]"
    argv = ["search", "--preset", "quick", "--out", str(tmp_path / "r"), "--no-progress",
            *[a for s in [*TINY_SEARCH, stages] for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "stage 0 (stages.0.costs)" in err and words in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_zero_costs_and_factors_in_log_space():
    term = RewardTerm("latency_ms", ref=20.0, beta=-0.5)
    assert term.factor(80.0) == pytest.approx(0.5)
    assert RewardTerm("params", ref=1.0, beta=-400).factor(10.0) == 0.0  # e^-921 underflows to 0
    with pytest.raises(RewardError, match="is 0.0, but a reward term"):
        term.factor(0.0)
    with pytest.raises(RewardError, match="needs a positive cost"):
        term.factor(float("nan"))
    assert RewardTerm("params", beta=0.0).factor(0.0) == 1.0  # a cost the reward ignores


def test_json_files_are_strict_and_a_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "s.json"
    write_json_atomic(path, {"a": float("inf"), "b": [float("nan"), 1.5]})
    assert json.loads(path.read_text()) == {"a": None, "b": [None, 1.5]}
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert json.loads(path.read_text())["b"] == [None, 1.5]  # the old file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left


# ------------------------------------------------------------------ untrusted files
class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_crafted_cifar_batch_is_refused_before_it_runs_code(tmp_path, monkeypatch):
    import pickle

    from tests.test_data import _write_cifar10

    _write_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _RunsCode(), b"labels": []}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="refers to posix.system, which no CIFAR batch holds"):
        load_dataset("cifar10", folder)
    assert not (tmp_path / "PWNED").exists()


# ------------------------------------------------------------------ output paths
def test_output_paths_that_cannot_be_written_are_one_sentence(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    sets = [a for s in TINY_SEARCH for a in ("--set", s)]
    for out in (a_file, a_file / "run"):
        assert main(["search", "--preset", "quick", "--out", str(out), "--no-progress", *sets]) == 2
        err = capsys.readouterr().err
        assert err.startswith("tndnas: error: ") and err.count("\n") == 1, err
        assert "choose" in err
    # a latency table is refused before minutes of measuring, not after
    argv = ["latency-table", "--preset", "quick", "--out", str(a_file / "t.json"), *sets]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "cannot be written" in err and "measuring" not in err


def test_a_checkpoint_that_cannot_be_written_is_one_sentence(tmp_path, monkeypatch):
    import torch

    from tndnas.runtime import CheckpointError, save_atomic

    def full_disk(*a, **k):
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match="check that its disk has free space"):
        save_atomic({"a": 1}, tmp_path / "checkpoint.pt")
    assert list(tmp_path.iterdir()) == []  # no temporary file left
