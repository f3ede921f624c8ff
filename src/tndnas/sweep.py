"""``tndnas sweep``: several searches along the accuracy/cost trade-off, and their Pareto front.

Each job is one ``tndnas search`` with every stage's ``beta`` (and ``ref`` when given) set to
one point of the sweep, run as a separate process into ``OUT/job-<i>-beta<b>-ref<p>`` with its
output captured to ``OUT/job-<i>-beta<b>-ref<p>.log``; at most ``jobs`` processes run at once,
each pinned to one GPU (round-robin) when several are visible.  Optionally each searched
genotype is then trained (``tndnas train``).  Re-running the same sweep into the same folder
skips finished jobs and resumes interrupted ones.  The results are collected into
``OUT/pareto.csv``, ``OUT/pareto.json`` and ``OUT/pareto.png`` (and ``OUT/pareto_test.png``
after training); :func:`run_sweep` is the entry point.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigError, SearchConfig, config_to_dict, load_search_config

if TYPE_CHECKING:
    from .runtime import MemoryShare

DEFAULT_TRAIN_PRESET = "quick"
POLL_SECONDS = 0.2
COLUMNS = (
    "job", "beta", "ref", "params", "flops", "latency_ms", "arch_acc", "search_seconds",
    "test_error", "pareto", "pareto_test", "status",
)  # fmt: skip
# the cost on each Pareto front's x-axis: the sweep's primary cost (reward.cost) when the
# summaries hold it, else params -- row key: (scale, axis label)
FRONT_AXES = {
    "params": (1e-6, "parameters of the evaluation network (M)"),
    "flops": (1e-6, "MFLOPs of the evaluation network (one image)"),
    "latency_ms": (1.0, "predicted inference latency of the evaluation network (ms)"),
}

#: ``(job_dir, train_preset, epochs, device) -> argv`` of the command that trains a searched genotype.
TrainCommand = Callable[[Path, str, int, str | None], list[str]]


@dataclass
class SweepSpec:
    """What ``tndnas sweep`` was asked to do (its command-line arguments)."""

    betas: list[float]
    out: Path
    refs: list[float] | None = None
    preset: str | None = None
    config: Path | None = None
    overrides: list[str] = field(default_factory=list)
    seed: int | None = None
    device: str | None = None
    jobs: int | None = None
    train_epochs: int | None = None
    train_preset: str = DEFAULT_TRAIN_PRESET
    progress: bool = True
    plots: bool = True  # each job's search draws its plots


@dataclass
class Job:
    """One search of the sweep (and, optionally, the training of its genotype)."""

    index: int
    beta: float
    ref: float | str  # the swept ref, or the config's (stage refs joined by '_' if they differ)
    name: str
    dir: Path
    overrides: list[str]  # every override of the search, the sweep's own last
    config: SearchConfig

    @property
    def log(self) -> Path:
        return self.dir.with_name(self.dir.name + ".log")


@dataclass
class Failure:
    """A job step that exited non-zero."""

    step: str  # "search" or "train"
    message: str


# --------------------------------------------------------------------------------------------
# planning (everything is validated here, before any process starts)
# --------------------------------------------------------------------------------------------


def parse_floats(text: str, flag: str) -> list[float]:
    """``'-0.1,-2'`` -> ``[-0.1, -2.0]``; a one-line ConfigError for anything else."""
    values = []
    for item in str(text).split(","):
        try:
            v = float(item.strip())
        except ValueError:
            raise ConfigError(
                f"{flag}: '{item.strip()}' is not a number; "
                f"give comma-separated numbers, e.g. {flag} -0.1,-0.5"
            ) from None
        if not math.isfinite(v):
            raise ConfigError(f"{flag}: {item.strip()} is not a finite number")
        values.append(v)
    return values


def _num(v: float) -> str:
    """A float as written in overrides: the shortest form that reads back equal."""
    return repr(float(v))


def _ref_label(cfg: SearchConfig) -> float | str:
    refs = [s.ref for s in cfg.stages]
    if all(r == refs[0] for r in refs):
        return refs[0]
    return "_".join(f"{r:g}" for r in refs)


def _base_overrides(spec: SweepSpec) -> list[str]:
    extra = [f"seed={spec.seed}"] if spec.seed is not None else []
    extra += [f"device={spec.device}"] if spec.device is not None else []
    return [*spec.overrides, *extra]


def _load(spec: SweepSpec, overrides: Sequence[str]) -> SearchConfig:
    preset = spec.preset if spec.preset or spec.config else "quick"
    return load_search_config(preset=preset, config_file=spec.config, overrides=overrides)


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        return {k: v for key, sub in d.items() for k, v in _flatten(sub, f"{prefix}{key}.").items()}
    if isinstance(d, list):
        return {k: v for i, sub in enumerate(d) for k, v in _flatten(sub, f"{prefix}{i}.").items()}
    return {prefix[:-1]: d}


def _config_diff(a: SearchConfig, b: SearchConfig) -> list[str]:
    """Keys whose values differ (``device`` is ignored: ``auto`` may name another device when the
    sweep is re-run; a checkpoint written on another kind of device is refused on resume)."""
    fa, fb = _flatten(config_to_dict(a)), _flatten(config_to_dict(b))
    keys = (set(fa) | set(fb)) - {"device"}
    return sorted(k for k in keys if fa.get(k, "<missing>") != fb.get(k, "<missing>"))


def _check_existing(job: Job) -> None:
    """Refuse a job folder that holds a search of another configuration."""
    saved = job.dir / "config.yaml"
    if not saved.exists():
        return
    try:
        diff = _config_diff(load_search_config(config_file=saved), job.config)
    except ConfigError as err:
        raise ConfigError(f"{saved} cannot be read ({err}); use another --out") from None
    if diff:
        keys = ", ".join(diff[:4]) + (", ..." if len(diff) > 4 else "")
        raise ConfigError(
            f"{job.dir} holds a search with a different configuration ({keys}); "
            "use another --out, or rerun the sweep with the arguments it was started with"
        )


def plan_jobs(spec: SweepSpec) -> list[Job]:
    """The sweep's jobs, every configuration loaded and validated (one-line ConfigError)."""
    if not spec.betas:
        raise ConfigError("--betas is empty; give one or more values, e.g. --betas -0.1,-0.5")
    refs: list[float | None] = [None] * len(spec.betas)
    if spec.refs:
        if len(spec.refs) not in (1, len(spec.betas)):
            raise ConfigError(
                f"--refs gives {len(spec.refs)} values for {len(spec.betas)} betas; "
                "give one value (used for every job) or one per beta"
            )
        refs = list(spec.refs) * (len(spec.betas) if len(spec.refs) == 1 else 1)
    if spec.train_epochs is not None and spec.train_epochs < 1:
        raise ConfigError(f"--train-epochs={spec.train_epochs} is invalid; use an integer >= 1")
    base = _base_overrides(spec)
    n_stages = len(_load(spec, base).stages)
    jobs = []
    for i, (beta, ref) in enumerate(zip(spec.betas, refs)):
        own = [f"stages.{k}.beta={_num(beta)}" for k in range(n_stages)]
        own += [f"stages.{k}.ref={_num(ref)}" for k in range(n_stages)] if ref is not None else []
        cfg = _load(spec, [*base, *own])
        label = ref if ref is not None else _ref_label(cfg)
        name = f"job-{i}-beta{beta:g}-ref{label if isinstance(label, str) else f'{label:g}'}"
        jobs.append(Job(i, beta, label, name, spec.out / name, [*base, *own], cfg))
    for job in jobs:
        _check_existing(job)
    return jobs


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


def _cli() -> list[str]:
    return [sys.executable, "-m", "tndnas.cli"]


def search_command(spec: SweepSpec, job: Job) -> list[str] | None:
    """The command that brings ``job``'s search to its end: None when it has finished, a
    ``--resume`` when it has a checkpoint, else a fresh search (an unfinished folder without a
    checkpoint -- killed before its first epoch ended -- is removed first)."""
    if (job.dir / "summary.json").exists():
        return None
    if (job.dir / "config.yaml").exists():
        if (job.dir / "checkpoint.pt").exists():
            return [*_cli(), "search", "--resume", str(job.dir), "--no-progress", *_no_plots(spec)]
        shutil.rmtree(job.dir)
    if spec.config is not None:
        source = ["--config", str(Path(spec.config).resolve())]
    else:
        source = ["--preset", spec.preset or "quick"]
    sets = [a for o in job.overrides for a in ("--set", o)]
    return [
        *_cli(),
        "search",
        *source,
        "--out",
        str(job.dir),
        "--no-progress",
        *_no_plots(spec),
        *sets,
    ]


def _no_plots(spec: SweepSpec) -> list[str]:
    return [] if spec.plots else ["--no-plots"]


def train_command(job_dir: Path, preset: str, epochs: int, device: str | None = None) -> list[str]:
    """``tndnas train`` of the genotype searched in ``job_dir``, into ``job_dir/train``, on
    ``device`` (the sweep's ``--device``; None: the train preset's)."""
    cmd = [*_cli(), "train", "--genotype", str(job_dir), "--preset", preset, "--epochs", str(epochs),
           "--out", str(job_dir / "train"), "--no-progress"]  # fmt: skip
    return cmd + (["--device", device] if device else [])


def job_steps(
    spec: SweepSpec, job: Job, train_cmd: TrainCommand
) -> Iterator[tuple[str, list[str]]]:
    """The (step, argv) pairs still to run for ``job``, decided lazily: the training step is
    looked at only after the search has finished."""
    cmd = search_command(spec, job)
    if cmd is not None:
        yield "search", cmd
    if spec.train_epochs is None:
        return
    train_dir = job.dir / "train"
    if (train_dir / "summary.json").exists():
        return
    if train_dir.exists():  # an interrupted training: keep it aside, start again
        partial = job.dir / "train.partial"
        shutil.rmtree(partial, ignore_errors=True)
        train_dir.rename(partial)
    yield "train", train_cmd(job.dir, spec.train_preset, spec.train_epochs, spec.device)


# --------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------


def visible_gpus() -> list[str]:
    """CUDA device ids this process may use, as ``CUDA_VISIBLE_DEVICES`` entries."""
    try:
        import torch

        count = torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no usable CUDA means no GPUs
        return []
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip()][:count]
    return [str(i) for i in range(count)]


def gpu_slots(jobs: int, device: str, gpus: Sequence[str]) -> list[str | None]:
    """The GPU of each of the ``jobs`` process slots (round-robin), or None (no pinning) when
    fewer than two GPUs are visible or the device is not ``auto``/``cuda``."""
    if len(gpus) < 2 or device not in ("auto", "cuda"):
        return [None] * jobs
    return [gpus[s % len(gpus)] for s in range(jobs)]


def default_jobs(device: str, gpus: Sequence[str]) -> int:
    """One process per visible GPU when there are several, else one."""
    return len(gpus) if len(gpus) > 1 and device != "cpu" else 1


def memory_shares(
    slots: Sequence[str | None], device: str, gpus: Sequence[str]
) -> list[MemoryShare | None]:
    """Per process slot, the :class:`~tndnas.runtime.MemoryShare` its jobs get (None: the slot
    has its device to itself).  On the CPU every slot shares the memory available now; on a GPU
    the slots pinned to it share its total memory.  Each job's memory check then refuses a
    stage that would not fit in its share, instead of every job passing the check on its own
    and the machine running out hours later, when the jobs reach their deeper stages."""
    from .runtime import MemoryShare, available_memory_bytes

    n = len(slots)
    if n < 2:
        return [None] * n
    if device == "cpu" or (device == "auto" and not gpus):
        import torch

        return [MemoryShare(n, available_memory_bytes(torch.device("cpu")))] * n
    devices = len(set(slots))
    return [
        MemoryShare(slots.count(g), None, devices) if slots.count(g) > 1 else None for g in slots
    ]


def _child_env(gpu: str | None, jobs: int, share: MemoryShare | None = None) -> dict[str, str]:
    from .runtime import MEMORY_SHARE_ENV

    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    env.pop(MEMORY_SHARE_ENV, None)
    if share is not None:
        env[MEMORY_SHARE_ENV] = share.encode()
    if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:  # share the CPU cores between jobs
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return env


def last_error_line(log: Path) -> str:
    """The last non-empty line of a log (the error of a failed command)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "(empty log)")


@dataclass
class _Running:
    job: Job
    steps: Iterator[tuple[str, list[str]]]
    slot: int
    step: str = ""
    proc: subprocess.Popen | None = None
    started: float = 0.0


class _Runner:
    """Runs the jobs' steps as subprocesses, at most ``len(slots)`` at once."""

    def __init__(
        self,
        spec: SweepSpec,
        slots: list[str | None],
        train_cmd: TrainCommand,
        shares: list[MemoryShare | None],
    ):
        self.spec, self.slots, self.train_cmd, self.shares = spec, slots, train_cmd, shares
        self.failures: dict[str, Failure] = {}

    def say(self, text: str, always: bool = False) -> None:
        if self.spec.progress or always:
            print(text, flush=True)

    def _launch(self, r: _Running) -> bool:
        """Start the job's next step; False when it has none left."""
        nxt = next(r.steps, None)
        if nxt is None:
            return False
        r.step, cmd = nxt
        gpu = self.slots[r.slot]
        with open(r.job.log, "a") as log:
            log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} {r.step}: {shlex.join(cmd)}\n")
            log.flush()
            env = _child_env(gpu, len(self.slots), self.shares[r.slot])
            r.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        r.started = time.monotonic()
        where = f" on GPU {gpu}" if gpu is not None else ""
        self.say(f"{r.job.name}: {r.step} started{where}")
        return True

    def _finished(self, r: _Running, rc: int) -> bool:
        """Handle the end of a step; True when the job has another step running."""
        secs = time.monotonic() - r.started
        if rc == 0:
            self.say(f"{r.job.name}: {r.step} done in {secs:.0f} s")
            return self._launch(r)
        why = f"exit status {rc}" if rc > 0 else f"killed by signal {-rc}"
        msg = f"{why}: {last_error_line(r.job.log)}"
        self.failures[r.job.name] = Failure(r.step, msg)
        self.say(f"{r.job.name}: {r.step} FAILED ({msg}); log: {r.job.log}", always=True)
        return False

    def run(self, jobs: list[Job]) -> dict[str, Failure]:
        pending = list(jobs)
        free = list(range(len(self.slots)))
        running: list[_Running] = []
        try:
            while pending or running:
                while pending and free:
                    job = pending.pop(0)
                    r = _Running(job, job_steps(self.spec, job, self.train_cmd), free.pop(0))
                    if self._launch(r):
                        running.append(r)
                    else:
                        self.say(f"{job.name}: finished earlier, skipped")
                        free.insert(0, r.slot)
                time.sleep(POLL_SECONDS)
                for r in list(running):
                    rc = r.proc.poll() if r.proc is not None else 0
                    if rc is not None and not self._finished(r, rc):
                        running.remove(r)
                        free.append(r.slot)
        except BaseException:
            _stop([r.proc for r in running if r.proc is not None])
            raise
        return self.failures


def _stop(procs: list[subprocess.Popen]) -> None:
    """Terminate the given child processes (interrupted sweep), killing any that linger."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()


# --------------------------------------------------------------------------------------------
# collecting
# --------------------------------------------------------------------------------------------


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def last_arch_acc(run_dir: Path) -> float | None:
    """The last logged ``arch_acc_argmax`` (fraction) of a search run (its last epoch), or None."""
    from .report.metrics import METRICS_FILE, read_metrics

    path = run_dir / METRICS_FILE
    if not path.exists():
        return None
    epochs = [r for r in read_metrics(path) if r.get("kind") == "epoch"]
    accs = [r.get("arch_acc_argmax") for r in epochs if r.get("arch_acc_argmax") is not None]
    return float(accs[-1]) if accs else None


def job_row(job: Job, failure: Failure | None) -> dict[str, Any]:
    """The result row of one job (None where a value is missing)."""
    summary = _read_json(job.dir / "summary.json") or {}
    train = _read_json(job.dir / "train" / "summary.json") or {}
    acc = last_arch_acc(job.dir) if summary else None
    test_error = train.get("test_error")
    return {
        "job": job.name,
        "beta": job.beta,
        "ref": job.ref,
        "params": int(summary["params"]) if "params" in summary else None,
        "flops": int(summary["flops"]) if "flops" in summary else None,
        "latency_ms": summary.get("latency_ms"),
        "arch_acc": None if acc is None else 100.0 * acc,
        "search_seconds": summary.get("seconds_total"),
        "test_error": None if test_error is None else float(test_error),
        "pareto": False,
        "pareto_test": None,
        "status": "ok" if failure is None else f"{failure.step} failed",
    }


def front_axis(cost: str) -> str:
    """The row key on the fronts' x-axis for a sweep whose primary cost is ``cost``."""
    return cost if cost in FRONT_AXES else "params"


def mark_fronts(rows: list[dict[str, Any]], x: str = "params") -> None:
    """Set ``pareto`` (``x`` vs arch_acc) and, when any row has a test error, ``pareto_test``
    (``x`` vs test_error) in place."""
    from .report.pareto import pareto_front

    front = pareto_front([(r[x], r["arch_acc"]) for r in rows], (True, False))
    for r, f in zip(rows, front):
        r["pareto"] = f
    if any(r["test_error"] is not None for r in rows):
        front = pareto_front([(r[x], r["test_error"]) for r in rows], (True, True))
        for r, f in zip(rows, front):
            r["pareto_test"] = f


def write_table_files(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """``pareto.csv`` (empty cells for missing values) and ``pareto.json`` (a list of rows)."""
    csv_path, json_path = out / "pareto.csv", out / "pareto.json"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r[k] is None else r[k] for k in COLUMNS})
    json_path.write_text(json.dumps(rows, indent=1) + "\n")
    return [csv_path, json_path]


def write_plots(rows: list[dict[str, Any]], out: Path, x: str = "params") -> list[Path]:
    """``pareto.png`` (arch-half accuracy vs the cost ``x``) and, with test errors,
    ``pareto_test.png``."""
    from .report.pareto import plot_front

    scale, xlabel = FRONT_AXES[x]
    what = "size" if x == "params" else x.replace("_ms", "")
    written = []
    p = plot_front(
        rows,
        x,
        "arch_acc",
        out / "pareto.png",
        x_scale=scale,
        xlabel=xlabel,
        ylabel="architecture-half accuracy, argmax architecture (%)",
        title=f"Sweep: accuracy in the supernet vs {what}",
    )
    written += [p] if p else []
    if p is None:  # no finished job: no stale plot from an earlier collection either
        (out / "pareto.png").unlink(missing_ok=True)
    if any(r["test_error"] is not None for r in rows):
        p = plot_front(
            rows,
            x,
            "test_error",
            out / "pareto_test.png",
            x_scale=scale,
            minimize=(True, True),
            xlabel=xlabel,
            ylabel="test error (%)",
            title=f"Sweep: test error after training vs {what}",
        )
        written += [p] if p else []
    return written


def _cell(v: Any, fmt: str) -> str:
    if v is None:
        return "-"
    return format(v, fmt) if isinstance(v, (int, float)) else str(v)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A short text table of the rows; ``*`` marks the front (``*`` after the test error: the
    test-error front)."""
    latency = any(r["latency_ms"] is not None for r in rows)
    head = ("job", "beta", "ref", "params(M)", "MFLOPs", *(("lat_ms",) if latency else ()),
            "arch_acc%", "test_err%", "search_s", "")  # fmt: skip
    body = []
    for r in rows:
        mark = "*" if r["pareto"] else ""
        test = _cell(r["test_error"], ".2f") + ("*" if r["pareto_test"] else "")
        params = None if r["params"] is None else r["params"] / 1e6
        flops = None if r["flops"] is None else r["flops"] / 1e6
        body.append(
            (
                r["job"],
                _cell(r["beta"], "g"),
                _cell(r["ref"], "g"),
                _cell(params, ".4f"),
                _cell(flops, ".2f"),
                *((_cell(r["latency_ms"], ".2f"),) if latency else ()),
                _cell(r["arch_acc"], ".2f"),
                test,
                _cell(r["search_seconds"], ".0f"),
                mark if r["status"] == "ok" else r["status"],
            )
        )
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths))
        ).rstrip()
        for line in [head, *body]
    ]
    return "\n".join(lines)


def collect(jobs: list[Job], failures: dict[str, Failure], out: Path) -> list[dict[str, Any]]:
    """Rows of every job, their Pareto flags (over the sweep's primary cost), and the files
    ``pareto.{csv,json,png}``."""
    rows = [job_row(job, failures.get(job.name)) for job in jobs]
    x = front_axis(jobs[0].config.reward.cost) if jobs else "params"
    mark_fronts(rows, x)
    write_table_files(rows, out)
    write_plots(rows, out, x)
    return rows


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def _write_plan(
    spec: SweepSpec, jobs: list[Job], slots: list[str | None], shares: list[MemoryShare | None]
) -> None:
    record = {
        "preset": spec.preset,
        "config": None if spec.config is None else str(spec.config),
        "overrides": spec.overrides,
        "betas": spec.betas,
        "refs": spec.refs,
        "seed": spec.seed,
        "device": spec.device,
        "processes": len(slots),
        "gpus": slots,
        # per slot: jobs sharing its device's memory, and the memory they share (None: all of it)
        "memory_shares": [
            None
            if m is None
            else {"processes": m.processes, "pool_bytes": m.pool_bytes, "devices": m.devices}
            for m in shares
        ],
        "train_epochs": spec.train_epochs,
        "train_preset": spec.train_preset,
        "jobs": [
            {"job": j.name, "beta": j.beta, "ref": j.ref, "overrides": j.overrides} for j in jobs
        ],
    }
    (spec.out / "sweep.json").write_text(json.dumps(record, indent=1) + "\n")


def run_sweep(spec: SweepSpec, train_cmd: TrainCommand | None = None) -> int:
    """Plan, run and collect a sweep; returns 0, or 1 when any job failed.

    ``train_cmd`` builds the training command (default :func:`train_command`, looked up when
    called so tests can replace it).  Configuration problems raise a one-line ConfigError
    before any process starts.
    """
    jobs = plan_jobs(spec)
    if spec.jobs is not None and spec.jobs < 1:
        raise ConfigError(f"--jobs={spec.jobs} is invalid; use an integer >= 1")
    device = jobs[0].config.device
    gpus = visible_gpus() if device in ("auto", "cuda") else []
    n_proc = spec.jobs or default_jobs(device, gpus)
    slots = gpu_slots(min(n_proc, len(jobs)), device, gpus)
    shares = memory_shares(slots, device, gpus)
    spec.out.mkdir(parents=True, exist_ok=True)
    _write_plan(spec, jobs, slots, shares)
    runner = _Runner(spec, slots, train_cmd or train_command, shares)
    runner.say(f"sweep: {len(jobs)} jobs, {len(slots)} at a time, into {spec.out}")
    if shares[0] is not None and shares[0].pool_bytes is not None:
        runner.say(
            f"sweep: {shares[0].pool_bytes / 2**30:.1f} GiB of memory available, "
            f"{shares[0].pool_bytes / shares[0].processes / 2**30:.1f} GiB for each job running at once"
        )
    failures = runner.run(jobs)
    rows = collect(jobs, failures, spec.out)
    print(format_table(rows))
    files = ["pareto.csv", "pareto.json", "pareto.png"]
    files += ["pareto_test.png"] if any(r["test_error"] is not None for r in rows) else []
    print(f"results: {', '.join(str(spec.out / f) for f in files if (spec.out / f).exists())}")
    if failures:
        print(
            f"{len(failures)} of {len(jobs)} jobs failed: {', '.join(failures)}; "
            "see their .log files"
        )
        return 1
    return 0
