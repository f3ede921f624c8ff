"""``tndnas sweep``: Pareto fronts, parallel searches, resume, the training step, errors."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import tndnas.sweep as sweep_mod
from tndnas.commands import sweep as sweep_cmd
from tndnas.config import ConfigError
from tndnas.pareto import pareto_front
from tndnas.report.metrics import read_metrics
from tndnas.report.pareto_plot import plot_front

from .tiny import TINY_SEARCH

# the tiny search of tests/tiny.py, cut to one stage of one epoch (search_seconds of a
# few seconds; most of a job's time goes to starting Python; the jobs draw no plots)
TINY = [
    *TINY_SEARCH,
    "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, costs: [{cost: params, ref: 0.05}]}]",
    "dataset.arch_fraction=0.1",  # fewer images to score
]
TWO_STAGES = "stages=[{layers: 3, costs: [{ref: 0.05}]}, {layers: 3, costs: [{ref: 0.1}]}]"

# stands in for `tndnas train`: writes <out>/summary.json, test error falling with size
FAKE_TRAIN = textwrap.dedent(
    """
    import json, pathlib, sys
    job, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    s = json.loads((job / "summary.json").read_text())
    out.mkdir(parents=True)
    err = 5.0 + 1e5 / s["params"]
    (out / "summary.json").write_text(json.dumps(
        {"test_error": err, "params": s["params"], "flops": s["flops"]}))
    print("trained", job.name, err)
    """
)


def parse(*argv: str) -> argparse.Namespace:
    top = argparse.ArgumentParser(prog="tndnas")
    sweep_cmd.add_parser(top.add_subparsers(dest="command"))
    return top.parse_args(["sweep", *argv])


def sweep_args(out: Path, *extra: str) -> argparse.Namespace:
    sets = [a for o in TINY for a in ("--set", o)]
    return parse("--preset", "quick", "--betas", "-0.1,-2.0", "--jobs", "2", "--out", str(out),
                 "--device", "cpu", "--no-progress", "--no-plots", *sets, *extra)  # fmt: skip


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_nontrivial_png(path: Path) -> None:
    assert path.exists() and path.stat().st_size > 10_000
    img = imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 400
    assert np.std(img[..., :3]) > 0.05  # not a blank canvas


# ------------------------------------------------------------------ pareto_front
def test_pareto_front_min_max():
    pts = [(1.0, 0.5), (2.0, 0.7), (2.5, 0.6), (3.0, 0.9), (0.5, 0.1), (4.0, 0.9)]
    assert pareto_front(pts) == [True, True, False, True, True, False]


def test_pareto_front_ties_and_duplicates():
    # equal x: the higher y wins; equal y: the smaller x wins; duplicates are both kept
    assert pareto_front([(1, 0.5), (1, 0.6)]) == [False, True]
    assert pareto_front([(1, 0.5), (2, 0.5)]) == [True, False]
    assert pareto_front([(1, 0.5), (1, 0.5), (2, 0.4)]) == [True, True, False]
    assert pareto_front([(1, 0.5), (1, 0.5), (0.5, 0.5)]) == [False, False, True]
    assert pareto_front([]) == []
    assert pareto_front([(3, 3)]) == [True]


def test_pareto_front_directions_and_missing():
    pts = [(1, 10.0), (2, 5.0), (3, 7.0)]
    assert pareto_front(pts, (True, True)) == [True, True, False]  # e.g. params vs test error
    assert pareto_front(pts, (False, False)) == [True, False, True]
    # missing or NaN coordinates: never on the front, never dominate
    assert pareto_front([(1, None), (2, 0.5), (float("nan"), 0.9)]) == [False, True, False]
    assert pareto_front([(1, 2, 3), (1, 2, 4)], (True, True, True)) == [True, False]
    with pytest.raises(ValueError):
        pareto_front([(1, 2, 3)])


def test_plot_front_skips_missing(tmp_path):
    rows = [
        {"params": 1e5, "acc": 80.0, "beta": -0.1},
        {"params": 3e5, "acc": 90.0, "beta": -1.0},
        {"params": 2e5, "acc": 70.0, "beta": -0.5},
        {"params": None, "acc": None, "beta": -3.0},
    ]
    assert_nontrivial_png(plot_front(rows, "params", "acc", tmp_path / "f.png", x_scale=1e-6))
    assert plot_front(rows[3:], "params", "acc", tmp_path / "none.png") is None


# ------------------------------------------------------------------ planning and errors
def test_bad_set_key_fails_before_launching(tmp_path, monkeypatch):
    def no_launch(*a, **k):
        raise AssertionError("a process was started")

    monkeypatch.setattr(subprocess, "Popen", no_launch)
    out = tmp_path / "bad"
    for extra, word in (
        (["--set", "weights.lrr=0.1"], "lrr"),
        (["--refs", "0.1,0.2,0.3"], "--refs"),
        (["--refs", "-1"], "ref"),
        (["--jobs", "0"], "--jobs"),
    ):
        with pytest.raises(ConfigError) as err:
            sweep_cmd.run(sweep_args(out, *extra))
        msg = str(err.value)
        assert word in msg and "\n" not in msg, msg
    with pytest.raises(ConfigError, match="not a number"):
        sweep_cmd.run(parse("--betas", "-0.1,abc", "--out", str(out)))
    assert not out.exists()


def test_plan_sets_every_stage_and_pairs_refs(tmp_path):
    spec = sweep_mod.SweepSpec(
        betas=[-0.1, -2.0], refs=[0.1, 0.2], out=tmp_path, overrides=[*TINY, TWO_STAGES]
    )
    jobs = sweep_mod.plan_jobs(spec)
    assert [j.name for j in jobs] == ["job-0-beta-0.1-ref0.1", "job-1-beta-2-ref0.2"]
    terms = [s.costs[0] for s in jobs[1].config.stages]
    assert [(t.beta, t.ref) for t in terms] == [(-2.0, 0.2), (-2.0, 0.2)]
    cmd = sweep_mod.search_command(spec, jobs[0])
    assert cmd[3:5] == ["search", "--preset"] and "stages.1.costs.0.beta=-0.1" in cmd
    assert "--no-plots" not in cmd
    assert "--no-plots" in sweep_mod.search_command(dataclasses.replace(spec, plots=False), jobs[0])
    # without --refs the config's refs are kept (and named, joined, when the stages differ)
    spec = sweep_mod.SweepSpec(betas=[-0.5], out=tmp_path, overrides=[*TINY, TWO_STAGES])
    (job,) = sweep_mod.plan_jobs(spec)
    assert job.name == "job-0-beta-0.5-ref0.05_0.1" and job.ref == "0.05_0.1"
    terms = [s.costs[0] for s in job.config.stages]
    assert [(t.beta, t.ref) for t in terms] == [(-0.5, 0.05), (-0.5, 0.1)]
    # a stage without a cost term has no exponent to sweep
    spec = sweep_mod.SweepSpec(betas=[-0.5], out=tmp_path, overrides=[*TINY, "stages.0.costs=[]"])
    with pytest.raises(ConfigError, match=r"stages.0.costs is empty"):
        sweep_mod.plan_jobs(spec)
    assert sweep_mod.gpu_slots(3, "auto", ["4", "7"]) == ["4", "7", "4"]
    assert sweep_mod.gpu_slots(2, "cuda:1", ["4", "7"]) == [None, None]
    assert sweep_mod.gpu_slots(2, "auto", ["0"]) == [None, None]


# ------------------------------------------------------------------ a real sweep
@pytest.fixture(scope="session")  # once per worker, whatever runs between its tests
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "s"
    rc = sweep_cmd.run(sweep_args(out))
    return out, rc


def summary_seconds(run):
    return json.loads((run / "summary.json").read_text())["seconds_total"]


@pytest.mark.xdist_group("sweep")  # one worker runs the shared sweep once
def test_sweep_runs_jobs_and_collects_front(swept):
    out, rc = swept
    assert rc == 0
    rows = read_csv(out / "pareto.csv")
    assert [r["job"] for r in rows] == ["job-0-beta-0.1-ref0.05", "job-1-beta-2-ref0.05"]
    data = json.loads((out / "pareto.json").read_text())
    assert len(data) == 2 and any(r["pareto"] for r in data)
    for r in data:
        assert isinstance(r["params"], float) and r["params"] > 0 and r["flops"] > 0  # M, MFLOPs
        epochs = [e for e in read_metrics(out / r["job"]) if e["kind"] == "epoch"]
        assert r["arch_acc"] == pytest.approx(
            100 * epochs[-1]["arch_acc_argmax"]
        )  # the last epoch's
        assert r["search_seconds"] == pytest.approx(summary_seconds(out / r["job"]))
        assert r["test_error"] is None and r["status"] == "ok"
        summary = json.loads((out / r["job"] / "summary.json").read_text())
        assert summary["costs"]["params"] == r["params"] == pytest.approx(summary["params"] / 1e6)
        assert summary["plots"] == [] and not (out / r["job"] / "plots").exists()  # --no-plots
        assert (out / f"{r['job']}.log").exists()
    assert "beta: -2.0" in (out / "job-1-beta-2-ref0.05" / "config.yaml").read_text()
    assert_nontrivial_png(out / "pareto.png")


@pytest.mark.xdist_group("sweep")  # one worker runs the shared sweep once
def test_rerun_skips_finished_jobs(swept, capsys):
    out, _ = swept
    before = {p: p.stat().st_mtime_ns for p in out.glob("job-*/summary.json")}
    args = sweep_args(out)
    args.no_progress = False
    assert sweep_cmd.run(args) == 0
    text = capsys.readouterr().out
    assert text.count("skipped") == 2 and "started" not in text
    assert {p: p.stat().st_mtime_ns for p in out.glob("job-*/summary.json")} == before
    # another configuration into the same folder is refused
    with pytest.raises(ConfigError, match="different configuration"):
        sweep_cmd.run(sweep_args(out, "--set", "policy.samples=2"))


@pytest.mark.xdist_group("sweep")  # one worker runs the shared sweep once
def test_resume_plan_of_unfinished_jobs(swept, tmp_path):
    out = tmp_path / "s"
    shutil.copytree(swept[0], out)
    spec = sweep_mod.SweepSpec(betas=[-0.1, -2.0], out=out, overrides=[*TINY, "device=cpu"])
    done, job = sweep_mod.plan_jobs(spec)
    assert sweep_mod.search_command(spec, done) is None  # finished: skipped
    (job.dir / "summary.json").unlink()  # interrupted after a checkpoint: resumed
    cmd = sweep_mod.search_command(spec, job)
    assert cmd[3:] == ["search", "--resume", str(job.dir), "--no-progress"]
    (job.dir / "checkpoint.pt").unlink()  # killed before its first checkpoint: started afresh
    cmd = sweep_mod.search_command(spec, job)
    assert "--resume" not in cmd and "--out" in cmd and not job.dir.exists()


@pytest.mark.xdist_group("sweep")  # one worker runs the shared sweep once
def test_training_step(swept, tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    shutil.copytree(swept[0], out)
    monkeypatch.setattr(
        sweep_mod,
        "train_command",
        lambda job_dir, preset, epochs, device: [sys.executable, "-c", FAKE_TRAIN, str(job_dir),
                                         str(job_dir / "train")],
    )  # fmt: skip
    args = sweep_args(out, "--train-epochs", "1")
    args.no_progress = False
    assert sweep_cmd.run(args) == 0
    text = capsys.readouterr().out
    assert "search started" not in text and text.count("train started") == 2
    assert "trained job-1" in (out / "job-1-beta-2-ref0.05.log").read_text()
    data = json.loads((out / "pareto.json").read_text())
    assert all(r["test_error"] is not None and r["test_error"] > 5 for r in data)
    assert any(r["pareto_test"] for r in data)
    assert read_csv(out / "pareto.csv")[0]["test_error"] != ""
    assert_nontrivial_png(out / "pareto_test.png")
    # trained jobs are skipped next time
    assert sweep_cmd.run(args) == 0
    assert "started" not in capsys.readouterr().out


@pytest.mark.xdist_group("sweep")  # one worker runs the shared sweep once
def test_failed_job_is_reported_and_others_continue(swept, tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    shutil.copytree(swept[0], out)
    fail = "import sys; print('tndnas: error: no such genotype'); sys.exit(2)"

    def train(job_dir: Path, preset: str, epochs: int, device: str | None) -> list[str]:
        code = FAKE_TRAIN if job_dir.name.startswith("job-0") else fail
        return [sys.executable, "-c", code, str(job_dir), str(job_dir / "train")]

    monkeypatch.setattr(sweep_mod, "train_command", train)
    assert sweep_cmd.run(sweep_args(out, "--train-epochs", "1")) == 1
    text = capsys.readouterr().out
    assert "job-1-beta-2-ref0.05: train FAILED" in text
    assert "tndnas: error: no such genotype" in text and "job-1-beta-2-ref0.05.log" in text
    data = json.loads((out / "pareto.json").read_text())
    assert data[0]["test_error"] is not None and data[1]["status"] == "train failed"


def test_train_command_runs_on_the_sweeps_device():
    cmd = sweep_mod.train_command(Path("runs/s/job-0"), "quick", 3, "cpu")
    assert cmd[cmd.index("--device") + 1] == "cpu" and cmd[cmd.index("--epochs") + 1] == "3"
    assert "--device" not in sweep_mod.train_command(Path("runs/s/job-0"), "quick", 3, None)


def test_jobs_that_cannot_run_together_stop_at_once(tmp_path, monkeypatch, capsys):
    """The sweep divides the memory it finds among the jobs it runs at once; jobs whose stages
    would not fit in their share stop in their memory check, naming how many can run at once."""
    import tndnas.runtime
    from tndnas.config import load_search_config
    from tndnas.search.algorithm import Search

    s = Search(load_search_config(preset="quick", overrides=TINY), tmp_path / "probe")
    need = max(r["total_mb"] for r in s.memory_plan(0, s.initial_candidates)) * 2**20
    monkeypatch.setattr(tndnas.runtime, "available_memory_bytes", lambda device: int(1.5 * need))
    out = tmp_path / "s"
    assert sweep_cmd.run(sweep_args(out)) == 1
    text = capsys.readouterr().out
    plan = json.loads((out / "sweep.json").read_text())
    assert (
        plan["memory_shares"] == [{"processes": 2, "pool_bytes": int(1.5 * need), "devices": 1}] * 2
    )
    assert text.count("search FAILED") == 2
    assert "this sweep runs 2 jobs at once on cpu" in text and "tndnas sweep --jobs 1" in text
    assert not any(p.is_dir() for p in out.iterdir())  # no run directory was started


def test_latency_sweep_front_is_over_latency(tmp_path):
    """A sweep whose cost term is latency_ms collects each job's predicted latency and draws
    its fronts over latency, not over params."""
    spec = sweep_mod.SweepSpec(
        betas=[-0.1, -0.5, -1.0],
        refs=[20.0],
        out=tmp_path,
        overrides=[*TINY, "stages.0.costs.0.cost=latency_ms", "reward.latency_table=lat.json"],
    )
    jobs = sweep_mod.plan_jobs(spec)
    # (latency ms, params, arch acc): over latency jobs 0 and 2 are the front, over params 1 and 2
    for job, (lat, params, acc) in zip(
        jobs, [(10.0, 3e6, 0.8), (20.0, 1e6, 0.7), (30.0, 2e6, 0.9)]
    ):
        job.dir.mkdir()
        costs = {"params": params / 1e6, "flops": 10.0, "latency_ms": lat}
        (job.dir / "summary.json").write_text(json.dumps({"costs": costs, "seconds_total": 1.0}))
        (job.dir / "metrics.jsonl").write_text(
            json.dumps({"kind": "epoch", "arch_acc_argmax": acc}) + "\n"
        )
    rows = sweep_mod.collect(jobs, {}, tmp_path)
    assert [r["latency_ms"] for r in rows] == [10.0, 20.0, 30.0]
    assert [r["pareto"] for r in rows] == [True, False, True]
    assert read_csv(tmp_path / "pareto.csv")[0]["latency_ms"] == "10.0"
    assert_nontrivial_png(tmp_path / "pareto.png")
    assert "latency_ms (ms)" in sweep_mod.format_table(rows)
    no_latency = [{k: v for k, v in r.items() if k != "latency_ms"} for r in rows]
    assert "latency" not in sweep_mod.format_table(no_latency)
    # a summary written before every cost went into "costs": params and FLOPs counted
    old = {"params": 2_000_000, "flops": 3e7, "latency_ms": None}
    assert sweep_mod.summary_costs(old) == {"params": 2.0, "flops": 30.0}


# a plug-in every job of the Ray sweep imports: the first job to write a checkpoint is killed
# (SIGKILL) right after it, before its stage ends, so that Ray must retry it from that checkpoint
KILL_ONCE = textwrap.dedent(
    """
    import os, signal
    from tndnas.search.algorithm import Search

    _save = Search.save_checkpoint

    def save_then_die(self, prog, s):
        _save(self, prog, s)
        try:
            os.close(os.open({marker!r}, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)

    Search.save_checkpoint = save_then_die
    """
)


def _comparable(row: dict) -> dict:
    """A row of pareto.json without its timings and its place on the front (of other jobs)."""
    return {k: v for k, v in row.items() if "seconds" not in k and k != "pareto"}


@pytest.mark.xdist_group("sweep")  # compared with the shared local sweep
def test_ray_backend_retries_a_killed_job_and_gives_the_local_front(swept, tmp_path):
    import ray

    local, rc = swept
    assert rc == 0
    marker = tmp_path / "killed"
    plugin = tmp_path / "kill_once.py"
    plugin.write_text(KILL_ONCE.format(marker=str(marker)))
    out = tmp_path / "ray"
    args = sweep_args(out, "--set", f"plugins=[{plugin}]")
    # one job of the two (the first beta): killed, retried, and its row as the local sweep's
    args.betas, args.jobs, args.backend, args.max_retries = "-0.1", None, "ray", 1
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        assert sweep_cmd.run(args) == 0
    finally:
        ray.shutdown()
    assert marker.exists()  # a job was killed after its first checkpoint ...
    (log,) = [p.read_text() for p in sorted(out.glob("*.log"))]
    assert "search --resume" in log  # ... and retried from it
    (ray_row,) = json.loads((out / "pareto.json").read_text())
    local_row = json.loads((local / "pareto.json").read_text())[0]
    assert _comparable(ray_row) == _comparable(local_row)
    plan = json.loads((out / "sweep.json").read_text())
    assert plan["backend"] == "ray" and plan["ray"]["max_retries"] == 1
    args = sweep_args(tmp_path / "bad")  # --jobs means nothing to Ray: one sentence
    args.backend = "ray"
    with pytest.raises(Exception, match="--jobs is for --backend local"):
        sweep_cmd.run(args)


def test_a_terminated_sweep_stops_its_jobs_and_they_record_it(tmp_path):
    """SIGTERM (what a scheduler or `timeout` sends) to a sweep: its running jobs are stopped
    with it (no orphan holds a job's lock) and record that they were interrupted; running the
    same command again resumes them."""
    import os
    import signal
    import time

    from tndnas.runtime.lock import RunLock

    from . import forked

    out, log = tmp_path / "s", tmp_path / "sweep.log"
    sets = [a for o in [*TINY_SEARCH, TWO_STAGES] for a in ("--set", o)]
    argv = ["sweep", "--preset", "quick", "--betas", "-0.1,-2.0", "--jobs", "2", "--out",
            str(out), "--device", "cpu", "--no-plots", *sets]  # fmt: skip
    proc = forked.start(argv, log=log)
    deadline = time.monotonic() + 120
    while len(infos := sorted(out.glob("job-*/run.json"))) < 2:  # both jobs' searches began
        assert proc.exitcode is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, "gave up waiting for both jobs' run.json"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGTERM)
    forked.wait(proc, 120, "the sweep to stop its jobs after SIGTERM")
    assert proc.exitcode == 143, log.read_text()[-2000:]
    assert log.read_text().strip().splitlines()[-1] == "tndnas: stopped by SIGTERM"
    for info in infos:
        run = json.loads(info.read_text())
        assert run["status"] in ("interrupted", "finished"), run  # a job may end first
        lock = RunLock(info.parent, "search")
        lock.acquire()  # no job process is left holding it
        lock.release()


def test_a_thread_count_that_oversubscribes_the_cores_is_warned(monkeypatch):
    """OMP_NUM_THREADS times the jobs at once above the cores: one warning naming the fix; within
    the cores, unset, or on GPUs: none."""
    import os

    from tndnas.sweep.runner import oversubscribed

    cores = os.cpu_count() or 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(cores))
    warning = oversubscribed(2, "cpu")
    assert warning and "unset OMP_NUM_THREADS" in warning and str(2 * cores) in warning
    assert oversubscribed(1, "cpu") is None and oversubscribed(2, "cuda") is None
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert oversubscribed(cores, "cpu") is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert oversubscribed(2, "cpu") is None
