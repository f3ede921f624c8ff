"""Bad input and faults end in one sentence, never in a silently wrong result."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import time
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

from . import forked
from .tiny import TINY, TINY_SEARCH, tiny


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
    # stopped before even its config.yaml: --resume names the command that starts it again
    early = tmp_path / "earlier"
    (early / "alpha").mkdir(parents=True)
    (early / ".lock").write_text("123")
    assert main(["search", "--resume", str(early)]) == 2
    err = capsys.readouterr().err
    assert "holds no search run yet" in err and "start it again with the same" in err
    assert main(["search", "--resume", str(tmp_path)]) == 2  # a folder of something else
    assert "is not a search run directory" in capsys.readouterr().err


def _same_run(run: Path, reference: Path) -> None:
    """``run`` ended as ``reference`` did: genotype, final alpha, every metrics record."""
    assert (run / "genotype.json").read_text() == (reference / "genotype.json").read_text()
    last = [sorted((r / "alpha").glob("*.json"))[-1].read_text() for r in (run, reference)]
    assert last[0] == last[1]
    timing = ("seconds", "eval_seconds", "peak_memory_mb")
    records = [
        [{k: v for k, v in json.loads(x).items() if k not in timing}
         for x in (r / "metrics.jsonl").read_text().splitlines()]
        for r in (run, reference)
    ]  # fmt: skip
    assert records[0] == records[1]


def _kill(proc, run: Path, lines: int, delay: float) -> bool:
    """SIGKILL ``proc`` ``delay`` seconds after ``run`` holds ``lines`` metrics records (with
    ``lines`` < 0: as soon as it holds its run.json, before any checkpoint); False if the
    process ended first."""
    metrics, deadline = run / "metrics.jsonl", time.monotonic() + 120
    while time.monotonic() < deadline and proc.exitcode is None:
        if lines < 0 and (run / "run.json").exists():
            break
        if lines >= 0 and metrics.exists() and metrics.read_bytes().count(b"\n") >= lines:
            time.sleep(delay)
            break
        time.sleep(0.002)
    if proc.exitcode is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    return True


@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_search_killed_at_random_moments_resumes_to_the_unbroken_result(tiny_run, tmp_path):
    """SIGKILL at random moments of a real search process (one before its first checkpoint,
    one that kills the continuation as well), each continued to its end as the messages say
    (--resume; the first command again if the run had not written its config yet): every run
    ends bit for bit as the uninterrupted one."""
    flags = ["--no-progress", "--no-plots"]
    start = ["search", "--preset", "quick", *flags, *[a for s in TINY for a in ("--set", s)]]

    def going_on(run: Path) -> list[str]:
        if (run / "config.yaml").exists():
            return ["search", "--resume", str(run), *flags]
        if run.exists():  # killed before its config was written: --resume says to start again
            assert forked.run(["search", "--resume", str(run)], log=tmp_path / "refused.log") == 2
            assert "start it again with the same" in (tmp_path / "refused.log").read_text()
        return [*start, "--out", str(run)]

    # a moment: the number of metrics records the run has written, then a random delay
    records = (tiny_run / "metrics.jsonl").read_text().count("\n")
    rng = random.Random(15)

    def moment() -> tuple[int, float]:
        return rng.randrange(records), rng.uniform(0.0, 0.3)

    schedules = [[(-1, 0.0)], [moment()], [moment()], [moment(), moment()]]
    kills = 0
    for n, schedule in enumerate(schedules):
        run = tmp_path / f"run{n}"
        for i, (lines, delay) in enumerate(schedule):
            proc = forked.start(going_on(run) if i else [*start, "--out", str(run)])
            kills += _kill(proc, run, lines, delay)
            if lines < 0:
                assert not (run / "checkpoint.pt").exists()  # killed before its first checkpoint
        assert forked.run(going_on(run), log=tmp_path / f"run{n}.log") == 0
        _same_run(run, tiny_run)
        assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert kills >= 4  # at most one moment fell after the end of its run


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


# ------------------------------------------------------------------ integrity
def _flip_bit_in_largest_entry(path: Path) -> None:
    """One bit flipped in the middle of the largest tensor stored in a torch zip file: the file
    still reads, its numbers are wrong."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little"), \
        int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")  # fmt: skip
    at = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
    raw[at] ^= 0x10
    path.write_bytes(bytes(raw))


@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_flipped_bit_a_missing_key_or_a_newer_format_is_refused(tiny_run, tmp_path, capsys):
    import torch

    from tndnas.runtime import CheckpointError, load_checkpoint, save_atomic

    run = tmp_path / "r"
    shutil.copytree(tiny_run, run)
    (run / "summary.json").unlink()
    ckpt_path = run / "checkpoint.pt"
    good = ckpt_path.read_bytes()
    _flip_bit_in_largest_entry(ckpt_path)
    torch.load(ckpt_path, weights_only=True)  # torch itself reads it without complaint
    with pytest.raises(CheckpointError, match="fails its checksum"):
        load_checkpoint(ckpt_path)
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "fails its checksum" in err and err.count("\n") == 1
    # a checkpoint without its progress, and one of a newer format: one sentence each
    state = torch.load(io.BytesIO(good), weights_only=True)
    save_atomic({k: v for k, v in state.items() if k != "progress"}, ckpt_path)
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "lacks 'progress'" in err and err.count("\n") == 1
    save_atomic({**state, "version": 99}, ckpt_path)
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
    assert "format version 99, newer than this tndnas reads (1)" in capsys.readouterr().err


def test_a_flipped_bit_in_a_weights_file_is_refused(tmp_path):
    from tndnas.macro import Macro
    from tndnas.runtime import CheckpointError
    from tndnas.spaces import load_genotype
    from tndnas.spaces.darts.network import EvalNetwork
    from tndnas.train.weights import load_weights, save_weights

    geno = load_genotype("darts-v2")
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=1, image_size=8)
    path = tmp_path / "weights_last.pt"
    save_weights(EvalNetwork(geno, macro, auxiliary=False), path, geno, macro, False)
    load_weights(path)  # as written: fine
    _flip_bit_in_largest_entry(path)
    with pytest.raises(CheckpointError, match="weights file .* fails its checksum") as info:
        load_weights(path)
    assert "\n" not in str(info.value)


@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_resume_refuses_an_edited_config_naming_the_keys(tiny_run, tmp_path, capsys):
    import yaml

    run = tmp_path / "r"
    shutil.copytree(tiny_run, run)
    (run / "summary.json").unlink()
    original = (run / "config.yaml").read_text()
    edits = {
        "seed": ("seed: 0", "seed: 7", "seed: 0 -> 7"),
        "width": ("channels: 4", "channels: 6", "space.channels: 4 -> 6"),
    }
    for before, after, named in edits.values():
        assert before in original
        (run / "config.yaml").write_text(original.replace(before, after, 1))
        assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
        err = capsys.readouterr().err
        assert "was edited after the run started (" in err and named in err, err
        assert err.count("\n") == 1
    # an op set: the list is named by its entries
    cfg = yaml.safe_load(original)
    cfg["space"]["normal_ops"] = ["skip_connect", "sep_conv_3x3"]
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
    assert "space.normal_ops" in capsys.readouterr().err
    # where the data lie may change: the run goes on
    (run / "config.yaml").write_text(original.replace("data_dir: null", "data_dir: /elsewhere"))
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 0
    assert (run / "genotype.json").read_text() == (tiny_run / "genotype.json").read_text()


def test_a_train_resume_refuses_an_edited_config_or_genotype(tmp_path, capsys):
    out = tmp_path / "t"
    argv = ["train", "--genotype", "darts-v2", "--preset", "quick", "--out", str(out), "--no-progress",
            *[a for s in ("channels=4", "layers=3", "epochs=2", "max_steps_per_epoch=1", "device=cpu")
              for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    (out / "summary.json").unlink()
    capsys.readouterr()
    original = (out / "config.yaml").read_text()
    (out / "config.yaml").write_text(original.replace("epochs: 2", "epochs: 3"))
    assert main(["train", "--resume", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "was edited after the run started (epochs: 2 -> 3)" in err and err.count("\n") == 1
    (out / "config.yaml").write_text(original)
    genotype = (out / "genotype.json").read_text()
    (out / "genotype.json").write_text(genotype.replace("sep_conv_3x3", "dil_conv_5x5", 1))
    assert main(["train", "--resume", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "genotype.json was edited after the run started (normal edge" in err
    (out / "genotype.json").write_text(genotype)
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    # stopped before its config.yaml was written: --resume says to start it again
    early = tmp_path / "early"
    early.mkdir()
    (early / "run.json").write_text(json.dumps({"command": "train", "status": "running"}))
    assert main(["train", "--resume", str(early), "--no-progress"]) == 2
    assert "holds no train run yet" in capsys.readouterr().err
    restart = [str(early) if a == str(out) else a for a in argv]
    assert main(restart) == 0 and (early / "weights_last.pt").exists()


def test_diverged_weights_stop_the_run_in_one_sentence(tmp_path, capsys):
    """A loss that is no longer a number ends the run before the epoch is written (its
    accuracies and alpha would be meaningless), and run.json says why."""
    stages = "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, drop: {normal: 4, reduce: 2}}]"
    argv = ["search", "--preset", "quick", "--out", str(tmp_path / "s"), "--no-progress", "--no-plots",
            *[a for s in [*TINY_SEARCH, stages, "weights.lr=1e30"] for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "the weights diverged in stage 0 epoch 0 (training loss nan); lower weights.lr" in err
    assert err.count("\n") == 1 and not (tmp_path / "s" / "checkpoint.pt").exists()
    info = json.loads((tmp_path / "s" / "run.json").read_text())
    assert info["status"] == "failed" and "diverged" in info["failure"]
    argv = ["train", "--genotype", "darts-v2", "--preset", "quick", "--out", str(tmp_path / "t"), "--no-progress",
            *[a for s in ("channels=4", "layers=3", "epochs=1", "max_steps_per_epoch=2", "lr=1e30")
              for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 2
    assert (
        "the weights diverged in epoch 0 (training loss nan); lower lr" in capsys.readouterr().err
    )


@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_damaged_summary_is_one_sentence_and_written_again(tiny_run, tmp_path, capsys):
    run = tmp_path / "r"
    shutil.copytree(tiny_run, run)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_bytes(b"\xf1\x00garbage")
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "summary.json is damaged (not a JSON object); delete it" in err and err.count("\n") == 1
    (run / "summary.json").unlink()  # as the sentence says: the last checkpoint writes it again
    assert main(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 0
    again = json.loads((run / "summary.json").read_text())
    assert again["genotype"] == summary["genotype"] and again["params"] == summary["params"]


def _wait_for(what: str, ready, proc, seconds: float = 120.0) -> None:
    """Wait until ``ready()`` (an event in the run's files), failing with ``what`` if the
    process ends first or it does not come."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert proc.exitcode is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what} after {seconds:.0f} s"
        time.sleep(0.01)


def _records(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_search_records_it_and_resumes(tiny_run, tmp_path, signum):
    run, log = tmp_path / "run", tmp_path / "search.log"
    argv = ["search", "--preset", "quick", "--out", str(run), "--no-progress", "--no-plots"]
    proc = forked.start([*argv, *[a for s in TINY for a in ("--set", s)]], log=log)
    _wait_for("its first metrics record", lambda: _records(run / "metrics.jsonl") >= 1, proc)
    os.kill(proc.pid, signum)
    forked.wait(proc, 120, f"the search to stop after {signal.Signals(signum).name}")
    name = signal.Signals(signum).name
    said = log.read_text().strip().splitlines()
    assert proc.exitcode == 128 + signum, said
    assert said[-2:] == [
        f"continue with: tndnas search --resume {run}",
        f"tndnas: stopped by {name}",
    ]
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["failure"] == f"stopped by {name}"
    assert forked.run(["search", "--resume", str(run), "--no-progress", "--no-plots"]) == 0
    _same_run(run, tiny_run)


def test_a_terminated_training_records_it(tmp_path):
    run, log = tmp_path / "train", tmp_path / "train.log"
    sets = ["channels=4", "layers=3", "epochs=50", "batch_size=32", "device=cpu"]
    argv = ["train", "--genotype", "darts-v2", "--preset", "quick", "--out", str(run),
            "--no-progress", *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    proc = forked.start(argv, log=log)
    _wait_for("its first epoch", lambda: _records(run / "metrics.jsonl") >= 1, proc)
    os.kill(proc.pid, signal.SIGTERM)
    forked.wait(proc, 120, "the training to stop after SIGTERM")
    said = log.read_text().strip().splitlines()
    assert proc.exitcode == 143, said
    assert said[-2:] == [
        f"continue with: tndnas train --resume {run}",
        "tndnas: stopped by SIGTERM",
    ]
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "interrupted" and info["failure"] == "stopped by SIGTERM"


def test_a_signal_during_a_whole_file_write_stops_the_run_after_the_write(tmp_path):
    from tndnas.atomic_write import atomic_file
    from tndnas.signals import Terminated, signals_as_interrupts

    path = tmp_path / "checkpoint.bin"
    before = signal.getsignal(signal.SIGTERM)  # the test process's own (Ray installs one)
    with pytest.raises(Terminated, match="stopped by SIGTERM"), signals_as_interrupts():
        with atomic_file(path, "wb") as f:
            f.write(b"first half ")
            os.kill(os.getpid(), signal.SIGTERM)  # delivered here, held until the file is whole
            f.write(b"second half")
        raise AssertionError("the signal was not raised when the write ended")
    assert path.read_bytes() == b"first half second half"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.bin"]  # no temporary file left
    assert signal.getsignal(signal.SIGTERM) is before  # the handlers are put back


@pytest.mark.xdist_group("tiny_run")  # reads the shared tiny search
def test_a_resume_writes_again_what_the_run_holds_and_names_what_is_lost(
    tiny_run, tmp_path, capsys
):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)  # its last checkpoint: after its last stage
    for name in ("summary.json", "genotype.json", "config.yaml", "run.json"):
        (run / name).unlink()
    shutil.rmtree(run / "alpha")
    records = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    (run / "metrics.jsonl").write_text("".join(records[:2]))
    resume = ["search", "--resume", str(run), "--no-progress", "--no-plots"]
    assert main(resume) == 0
    warned = [w for w in capsys.readouterr().err.splitlines() if w.startswith("tndnas: warning:")]
    assert warned[:2] == [
        "tndnas: warning: config.yaml was missing; written again from checkpoint.pt",
        "tndnas: warning: run.json was missing; written again (the run's start environment is lost)",
    ]
    assert f"holds 2 of the {len(records)} records the checkpoint counted" in warned[2]
    assert (
        "alpha was missing: the alpha records of the epochs before the checkpoint are lost"
        in warned[3]
    )
    assert load_search_config(config_file=run / "config.yaml") == load_search_config(
        config_file=tiny_run / "config.yaml"
    )
    assert (run / "genotype.json").read_text() == (tiny_run / "genotype.json").read_text()
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    # a finished run's deleted genotype.json: written again from its summary, not just named
    (run / "genotype.json").unlink()
    assert main(resume) == 0
    assert "genotype.json was missing; written again from summary.json" in capsys.readouterr().err
    assert (run / "genotype.json").read_text() == (tiny_run / "genotype.json").read_text()


def test_a_failing_run_leaves_the_programs_own_signal_handlers_alone(tmp_path):
    """tndnas as a library: a run that fails does not touch the caller's SIGTERM handling."""
    from tndnas.runtime.lock import locked_run

    before = signal.getsignal(signal.SIGTERM)
    (tmp_path / "run.json").write_text('{"status": "running"}')
    with pytest.raises(ValueError), locked_run(tmp_path, "search", tmp_path / "run.json") as lock:
        lock.acquire()
        raise ValueError("a failing run")
    assert signal.getsignal(signal.SIGTERM) is before
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "failed"
