"""Several processes, one search (torch.distributed with gloo on the CPU): the ranks stay in
step, rank 0 alone writes, a resume continues exactly, a dead rank stops the other at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tndnas.runtime.distributed import DistributedError, World, leave_now

from . import forked
from .tiny import TINY_SEARCH

STAGES = (
    "stages=[{layers: 3, epochs: 2, pretrain_epochs: 1, drop: {normal: 4, reduce: 2}},"
    " {layers: 3, epochs: 1, pretrain_epochs: 0, drop: {normal: 3, reduce: 2}}]"
)
SETS = [*TINY_SEARCH, "weights.max_steps_per_epoch=2", "weights.memory_check=ignore", STAGES]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _search_argv(out: Path, *extra: str) -> list[str]:
    argv = ["search", "--preset", "quick", "--out", str(out), "--no-progress", "--no-plots"]
    return [*argv, *[a for s in SETS for a in ("--set", s)], *extra]


def _env(rank: int | None = None, port: int | None = None) -> dict[str, str]:
    env = {"OMP_NUM_THREADS": "1"}
    if rank is not None:
        env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))  # fmt: skip
    return env


def _ranks(argv: list[str], logs: Path) -> list:
    """Two ranks started by hand, as torchrun would start them (forked: no fresh interpreters)."""
    port = _free_port()
    return [forked.start(argv, _env(r, port), logs / f"rank{r}.log") for r in (0, 1)]


def _joined(procs: list, logs: Path) -> None:
    for r, p in enumerate(procs):
        forked.wait(p, 200, f"rank {r} to end its run")
    said = [(logs / f"rank{r}.log").read_text()[-3000:] for r in (0, 1)]
    assert [p.exitcode for p in procs] == [0, 0], "\n".join(said)


def _final_alpha(run: Path) -> dict:
    last = sorted((run / "alpha").glob("*.json"))[-1]
    return json.loads(last.read_text())


# a plug-in for the runs below: rank 0 keeps a copy of the run's first checkpoint (the end of
# its first epoch), from which a resume must continue exactly as the run itself went on
KEEP_FIRST = """
import shutil
from pathlib import Path
from tndnas.search.algorithm import Search
from tndnas.train.run import TrainRun

def keeping(save, path_of):
    def save_and_keep(self, *args):
        save(self, *args)
        src = path_of(self)
        first = src.with_name("checkpoint-first.pt")
        if self.world.main and not first.exists():
            shutil.copy(src, first)
    return save_and_keep

Search.save_checkpoint = keeping(Search.save_checkpoint, lambda run: run.rundir.checkpoint)
TrainRun._save = keeping(TrainRun._save, lambda run: run.files.checkpoint)
"""


def _torchrun(plugin: Path, argv: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), "-m", "tndnas", "--plugin", str(plugin), *argv]  # fmt: skip
    return subprocess.run(
        cmd, env={**os.environ, **_env()}, capture_output=True, text=True, timeout=240
    )


def _cut_back(run: Path, to: Path, *finished: str) -> None:
    """``run`` as it was after its first checkpoint, into ``to`` (what a resume must continue)."""
    shutil.copytree(run, to)
    (to / "checkpoint-first.pt").replace(to / "checkpoint.pt")
    for name in finished:
        (to / name).unlink()


@pytest.mark.xdist_group("distributed-search")  # two processes of its own
def test_torchrun_search_in_step_and_resumed_exactly(tmp_path):
    plugin = tmp_path / "keep_first.py"
    plugin.write_text(KEEP_FIRST)
    whole = tmp_path / "whole"
    done = _torchrun(plugin, _search_argv(whole, "--check-sync"))  # alpha compared every epoch
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("genotype: ") == 1  # rank 0 alone speaks and writes
    info = json.loads((whole / "run.json").read_text())
    assert info["distributed"] == {"world_size": 2, "backend": "gloo"}
    records = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines()]
    assert sorted({r["kind"] for r in records}) == ["alpha", "epoch", "stage"]
    assert len([r for r in records if r["kind"] == "epoch"]) == 3  # written once, not per rank
    # resumed by two processes from the end of its first epoch: the same run to the end
    part = tmp_path / "part"
    _cut_back(whole, part, "summary.json", "genotype.json")
    argv = ["search", "--resume", str(part), "--no-progress", "--no-plots", "--check-sync"]
    _joined(_ranks(argv, tmp_path), tmp_path)
    assert (part / "genotype.json").read_text() == (whole / "genotype.json").read_text()
    assert _final_alpha(part) == _final_alpha(whole)
    assert _strip(part / "metrics.jsonl") == _strip(whole / "metrics.jsonl")


def _strip(path: Path) -> list[dict]:
    drop = ("seconds", "eval_seconds", "peak_memory_mb")
    return [
        {k: v for k, v in json.loads(x).items() if k not in drop}
        for x in path.read_text().splitlines()
    ]


# a plug-in for the runs below: the rank named by TNDNAS_TEST_VICTIM kills itself (SIGKILL, as
# the kernel's OOM killer or a lost node would end it) at the moment TNDNAS_TEST_MOMENT names
KILL_AT = """
import os, signal
from tndnas.runtime.distributed import World
from tndnas.search.algorithm import Search

MOMENT = os.environ["TNDNAS_TEST_MOMENT"]
VICTIM = int(os.environ["TNDNAS_TEST_VICTIM"])
COUNT = {}

def dying(cls, name, moment, when=lambda *a: True):
    original = getattr(cls, name)
    def wrapped(self, *args, **kwargs):
        COUNT[name] = COUNT.get(name, 0) + 1
        rank = int(os.environ.get("RANK", "0"))
        if MOMENT == moment and rank == VICTIM and when(COUNT[name], *args):
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *args, **kwargs)
    setattr(cls, name, wrapped)

dying(World, "sum", "collective", lambda n, *a: n == 2)  # the second epoch's statistics
dying(World, "split_scores", "alpha update", lambda n, *a: n == 3)  # scoring samples
dying(Search, "save_checkpoint", "checkpoint", lambda n, *a: n == 2)  # rank 0 writes meanwhile
dying(Search, "evaluate", "evaluation")  # the first epoch's accuracies
dying(Search, "_new_stage", "between stages", lambda n, k, *a: k == 1)  # stage 1's supernet
"""


@pytest.mark.xdist_group("distributed-lost")  # two processes of its own
@pytest.mark.parametrize(
    "moment,victim",
    [
        ("collective", 1),
        ("alpha update", 1),
        ("checkpoint", 1),
        ("evaluation", 1),
        ("between stages", 1),
        ("collective", 0),
        ("checkpoint", 0),
    ],  # fmt: skip
)
def test_a_lost_rank_ends_the_other_with_one_sentence(tmp_path, moment, victim):
    plugin = tmp_path / "kill_at.py"
    plugin.write_text(KILL_AT)
    run = tmp_path / "run"
    argv = ["--plugin", str(plugin), *_search_argv(run, "--dist-timeout", "60")]
    port = _free_port()
    env = {"TNDNAS_TEST_MOMENT": moment, "TNDNAS_TEST_VICTIM": str(victim)}
    procs = [
        forked.start(argv, {**_env(r, port), **env}, tmp_path / f"rank{r}.log") for r in (0, 1)
    ]
    for r, p in enumerate(procs):  # the survivor ends by itself (dist timeout 60 s)
        forked.wait(p, 150, f"rank {r} to end after rank {victim} was killed at '{moment}'")
    survivor = 1 - victim
    said = (tmp_path / f"rank{survivor}.log").read_text()
    assert procs[victim].exitcode == -signal.SIGKILL, said
    assert procs[survivor].exitcode == 2, said
    lines = said.strip().splitlines()
    assert lines[-1].startswith(f"tndnas: error: rank {survivor} of 2 lost rank {victim} during ")
    assert f"`torchrun --nproc_per_node 2 -m tndnas search --resume {run}`" in lines[-1]
    assert "Traceback" not in said and "terminate called" not in said
    info = json.loads((run / "run.json").read_text())
    # how the run ended: recorded by rank 0, or by the survivor when rank 0 is the one lost
    assert info["status"] == "failed" and info["failure"] == lines[-1][len("tndnas: error: ") :]


def _dying_worker(rank: int, init: str, out: str) -> None:
    """Rank 1 is killed after a few collectives; rank 0 must stop with one sentence."""
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    world = World(rank, 2, rank, "gloo", timeout_s=60)
    start = time.time()
    try:
        for step in range(10_000):
            world.sum([1.0], "the search")
            if rank == 1 and step == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            if step == 3:
                start = time.time()
        message = "no error"
    except DistributedError as err:
        message = str(err)
    Path(out, "rank0.txt").write_text(json.dumps([message, time.time() - start]))
    leave_now(0)  # as the command does: the broken group's clean-up at exit would abort


def test_a_killed_process_stops_the_other_at_once(tmp_path):
    ctx = torch.multiprocessing.get_context("spawn")
    init = f"file://{tmp_path / 'rendezvous'}"
    procs = [ctx.Process(target=_dying_worker, args=(r, init, str(tmp_path))) for r in (0, 1)]
    for p in procs:
        p.start()
    for r, p in enumerate(procs):
        p.join(timeout=90)
        assert p.exitcode is not None, f"gave up after 90 s waiting for rank {r} to end"
    assert procs[1].exitcode == -signal.SIGKILL and procs[0].exitcode == 0
    message, seconds = json.loads((tmp_path / "rank0.txt").read_text())
    assert message.startswith("rank 0 of 2 lost rank 1 during the search (")
    assert "continue it with the same torchrun command and --resume RUN_DIR" in message
    # at once, from the closed connection: the group's own timeout is gloo's default of 30
    # minutes, so a rank that waited for it would have failed the 90 s backstop above
    assert "\n" not in message


def _check_worker(rank: int, init: str, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    world = World(rank, 2, rank, "gloo")
    alpha = {"normal": torch.ones(3, 2), "reduce": torch.zeros(3, 2)}
    world.check_same(alpha, "alpha at the start")  # the same: passes
    if rank == 1:
        alpha["reduce"][1, 0] = 1e-6
    try:
        world.check_same(alpha, "alpha after epoch 0 of stage 0")
        message = "no difference seen"
    except DistributedError as err:
        message = str(err)
    Path(out, f"rank{rank}.txt").write_text(message)
    world.close()


def test_alpha_check_stops_on_the_first_difference(tmp_path):
    init = f"file://{tmp_path / 'rendezvous'}"
    torch.multiprocessing.spawn(_check_worker, args=(init, str(tmp_path)), nprocs=2)
    for r in (0, 1):
        text = (tmp_path / f"rank{r}.txt").read_text()
        assert text.startswith("alpha after epoch 0 of stage 0: rank 1 differs from rank 0")
        assert "largest difference 1e-06" in text


def test_a_checkpoint_resumes_only_with_its_number_of_processes():
    from tndnas.runtime.distributed import check_world_size

    check_world_size({"world_size": 2}, World(1, 2), "ckpt")
    check_world_size({}, World(), "ckpt")  # written before the number was recorded: one
    with pytest.raises(
        DistributedError, match="written by a run of 2 process.es. and this one has 1"
    ):
        check_world_size({"world_size": 2}, World(), "ckpt")
    with pytest.raises(DistributedError, match="torchrun --nproc_per_node 1|plain tndnas"):
        check_world_size({}, World(0, 2), "ckpt")


def test_one_process_world_changes_nothing():
    world = World()
    x, y = torch.arange(6), torch.arange(6)
    assert world.shard(x, y) == (x, y) and world.sum([1, 2.5], "x") == [1.0, 2.5]
    assert world.split_scores([1, 2, 3], lambda v: torch.tensor(v) * 2.0, "x").tolist() == [2, 4, 6]
    world.check_same({"a": torch.ones(2)}, "x")
    assert World(0, 2).shard(x)[0].tolist() == [0, 2, 4]
    with pytest.raises(Exception, match="weights.batch_size=63 does not split evenly over 2"):
        World(0, 2).check_batch(63, "weights.batch_size")


TRAIN_SETS = ["channels=4", "layers=3", "epochs=2", "batch_size=32", "max_steps_per_epoch=2",
              "device=cpu", "seed=3"]  # fmt: skip


def _train_argv(out: Path) -> list[str]:
    argv = ["train", "--genotype", "darts-v2", "--preset", "quick", "--out", str(out),
            "--no-progress", "--dist-timeout", "60"]  # fmt: skip
    return [*argv, *[a for s in TRAIN_SETS for a in ("--set", s)]]


@pytest.mark.xdist_group("distributed-train")  # two processes of its own
def test_torchrun_training_runs_and_resumes_exactly(tmp_path):
    plugin = tmp_path / "keep_first.py"
    plugin.write_text(KEEP_FIRST)
    whole = tmp_path / "whole"
    logs = tmp_path / "logs"
    logs.mkdir()
    _joined(_ranks(["--plugin", str(plugin), *_train_argv(whole)], logs), logs)
    said = [(logs / f"rank{r}.log").read_text() for r in (0, 1)]
    assert said[0].count("summary: ") == 1 and "summary: " not in said[1]  # rank 0 alone speaks
    records = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1]
    # resumed by two processes from the end of its first epoch: the same weights at the end
    part = tmp_path / "part"
    _cut_back(whole, part, "summary.json", "weights_last.pt")
    _joined(_ranks(["train", "--resume", str(part), "--no-progress"], tmp_path), tmp_path)
    a, b = (torch.load(d / "weights_last.pt", weights_only=True) for d in (whole, part))
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert _strip(part / "metrics.jsonl") == _strip(whole / "metrics.jsonl")


@pytest.mark.xdist_group("distributed-search")  # two processes of its own
def test_under_torchrun_a_lost_rank_ends_the_run_in_one_line(tmp_path):
    """torchrun itself: rank 1 is killed in a collective; rank 0 ends with one line (the lost
    peer, or torchrun's SIGTERM, whichever comes first), never an abort, and run.json says how
    the run ended."""
    plugin = tmp_path / "kill_at.py"
    plugin.write_text(KILL_AT)
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), "-m", "tndnas", "--plugin", str(plugin),
           *_search_argv(run, "--dist-timeout", "60")]  # fmt: skip
    env = {**os.environ, **_env(), "TNDNAS_TEST_MOMENT": "collective", "TNDNAS_TEST_VICTIM": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    said = done.stdout + done.stderr
    assert done.returncode != 0, said[-2000:]
    ours = [x for x in said.splitlines() if x.startswith("tndnas: ")]
    assert ours, said[-2000:]
    assert ours[-1].startswith(
        ("tndnas: error: rank 0 of 2 lost rank 1 during ", "tndnas: stopped by SIGTERM")
    ), ours
    assert "terminate called" not in said and "core dumped" not in said
    # rank 0's line shares torchrun's stderr, whose own log lines may run into it: run.json's
    # record is matched by kind, not against the captured text
    info = json.loads((run / "run.json").read_text())
    if info["status"] == "failed":
        assert info["failure"].startswith("rank 0 of 2 lost rank 1 during ")
        assert info["failure"].endswith(f"-m tndnas search --resume {run}`.")
    else:
        assert (info["status"], info["failure"]) == ("interrupted", "stopped by SIGTERM")
