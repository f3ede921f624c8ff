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

import dataclasses
import json
import re
import socket
import sys
from typing import TYPE_CHECKING

from ..atomic_write import write_text_atomic
from ..config import TRAIN_PRESETS, ConfigError
from ..config.yaml_files import preset_text
from ..run_files import SweepFiles
from .collect import (
    HEAD_COLUMNS,
    TAIL_COLUMNS,
    collect,
    columns,
    format_table,
    job_row,
    last_arch_acc,
    mark_fronts,
    network_words,
    summary_costs,
    swept_cost,
    write_plots,
    write_table_files,
)
from .plan import (
    DEFAULT_TRAIN_PRESET,
    Failure,
    Job,
    SweepSpec,
    TrainCommand,
    job_steps,
    parse_floats,
    plan_family,
    plan_jobs,
    search_command,
    train_command,
)
from .runner import (
    _child_env,
    _Runner,
    default_jobs,
    gpu_slots,
    last_error_line,
    memory_shares,
    oversubscribed,
    visible_gpus,
)

if TYPE_CHECKING:
    from ..runtime import MemoryShare

#: where a sweep's jobs run: local processes, or one Ray task each
BACKENDS = ("local", "ray")

__all__ = [
    "HEAD_COLUMNS",
    "TAIL_COLUMNS",
    "DEFAULT_TRAIN_PRESET",
    "Failure",
    "Job",
    "SweepSpec",
    "TrainCommand",
    "collect",
    "default_jobs",
    "format_table",
    "columns",
    "summary_costs",
    "swept_cost",
    "gpu_slots",
    "job_row",
    "job_steps",
    "last_arch_acc",
    "last_error_line",
    "mark_fronts",
    "memory_shares",
    "parse_floats",
    "plan_jobs",
    "run_sweep",
    "search_command",
    "train_command",
    "visible_gpus",
    "write_plots",
    "write_table_files",
    "_child_env",
]


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
        "backend": spec.backend,
        "ray": None
        if spec.backend != "ray"
        else {
            "address": spec.ray_address,
            "cpus_per_job": spec.cpus_per_job,
            "gpus_per_job": spec.gpus_per_job,
            "max_retries": spec.max_retries,
        },  # fmt: skip
        "processes": len(slots),
        "gpus": slots,
        # per slot: jobs sharing its device's memory, and the memory they share (None: all of it)
        "memory_shares": [
            None
            if m is None
            else {"processes": m.processes, "pool_bytes": m.pool_bytes, "devices": m.devices}
            for m in shares
        ],
        "one_supernet": spec.one_supernet,
        "train_epochs": spec.train_epochs,
        "train_preset": spec.train_preset,
        "jobs": [
            {"job": j.name, "beta": j.beta, "ref": j.ref, "overrides": j.overrides} for j in jobs
        ],
    }
    write_text_atomic(SweepFiles(spec.out).plan, json.dumps(record, indent=1) + "\n")


_RAY_ADDRESS = re.compile(r"^(ray://)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}$")


def check_ray_address(address: str | None) -> None:
    """Refuse, before anything starts, a ``--ray-address`` that is not ``auto``, ``local``,
    ``HOST:PORT`` or ``ray://HOST:PORT``."""
    if address is None or address in ("auto", "local"):
        return
    if not _RAY_ADDRESS.match(address):
        raise ConfigError(
            f"--ray-address {address!r} is not an address; use auto (the cluster `ray start` "
            "began on this node) or HOST:PORT of the head node (e.g. 10.0.0.5:6379)."
        )
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:  # Ray itself would retry an address where nothing listens for minutes
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"nothing answers at --ray-address {address} ({getattr(err, 'strerror', None) or err}); "
            "start the cluster there (`ray start --head --port PORT`) or give its head node's "
            "HOST:PORT, then run the same command again."
        ) from None


def run_sweep(spec: SweepSpec, train_cmd: TrainCommand | None = None) -> int:
    """Plan, run and collect a sweep; returns 0, or 1 when any job failed.

    ``train_cmd`` builds the training command (default :func:`train_command`, looked up when
    called so tests can replace it).  Configuration problems raise a one-line ConfigError
    before any process starts.
    """
    if spec.backend not in BACKENDS:
        raise ConfigError(f"--backend {spec.backend} is not known; use {' or '.join(BACKENDS)}.")
    if spec.max_retries < 0:
        raise ConfigError(f"--max-retries {spec.max_retries} is invalid; use an integer >= 0.")
    preset_text(spec.train_preset, TRAIN_PRESETS)  # an unknown train preset: one sentence, now
    if spec.backend == "ray":  # every node must find the folders where the driver put them
        spec.out = spec.out.resolve()
        if spec.jobs is not None:
            raise ConfigError("--jobs is for --backend local; Ray runs as many jobs as the cluster has --cpus-per-job/--gpus-per-job for.")  # fmt: skip
        if spec.cpus_per_job <= 0 or spec.gpus_per_job < 0:
            raise ConfigError("--cpus-per-job must be > 0 and --gpus-per-job >= 0.")  # fmt: skip
        check_ray_address(spec.ray_address)
    elif spec.ray_address is not None:
        raise ConfigError("--ray-address is for --backend ray; add --backend ray, or drop it.")
    if spec.one_supernet and spec.backend == "ray":
        raise ConfigError("--one-supernet runs one search process; use --backend local, or drop --one-supernet.")  # fmt: skip
    jobs = plan_jobs(spec)
    if spec.jobs is not None and not 1 <= spec.jobs <= 1024:
        raise ConfigError(f"--jobs={spec.jobs} is invalid; use an integer from 1 to 1024")
    if spec.one_supernet:
        return _run_family(spec, train_cmd or train_command)
    if spec.backend == "ray":
        return _finish(spec, jobs, _run_on_ray(spec, jobs, train_cmd or train_command))
    device = jobs[0].config.device
    gpus = visible_gpus() if device in ("auto", "cuda") else []
    n_proc = spec.jobs or default_jobs(device, gpus)
    slots = gpu_slots(min(n_proc, len(jobs)), device, gpus)
    shares = memory_shares(slots, device, gpus)
    spec.out.mkdir(parents=True, exist_ok=True)
    _write_plan(spec, jobs, slots, shares)
    runner = _Runner(spec, slots, train_cmd or train_command, shares)
    runner.say(f"sweep: {len(jobs)} jobs, {len(slots)} at a time, into {spec.out}")
    if warning := oversubscribed(len(slots), "cuda" if gpus else "cpu"):
        print(f"tndnas: warning: {warning}", file=sys.stderr)
    if shares[0] is not None and shares[0].pool_bytes is not None:
        runner.say(
            f"sweep: {shares[0].pool_bytes / 2**30:.1f} GiB of memory available, "
            f"{shares[0].pool_bytes / shares[0].processes / 2**30:.1f} GiB for each job running at once"
        )
    return _finish(spec, jobs, runner.run(jobs))


def _run_family(spec: SweepSpec, train_cmd: TrainCommand) -> int:
    """``--one-supernet``: the family's one search, then (``--train-epochs``) each member's
    training, at most ``--jobs`` at once; then the members' table and plots."""
    family, members = plan_family(spec)
    device = family.config.device
    gpus = visible_gpus() if device in ("auto", "cuda") else []
    slots = gpu_slots(min(spec.jobs or default_jobs(device, gpus), len(members)), device, gpus)
    shares = memory_shares(slots, device, gpus)
    spec.out.mkdir(parents=True, exist_ok=True)
    _write_plan(spec, members, slots, shares)
    search_only = dataclasses.replace(spec, one_supernet=False, train_epochs=None)
    runner = _Runner(search_only, slots[:1], train_cmd, shares[:1])
    runner.say(f"sweep: a family of {len(members)} on one supernet, into {family.dir}")
    failed = runner.run([family])
    if failed:
        why = failed[family.name]
        failures = {m.name: Failure("search", why.message) for m in members}
    elif spec.train_epochs is not None:
        failures = _Runner(spec, slots, train_cmd, shares).run(members)
    else:
        failures = {}
    return _finish(spec, members, failures)


def _run_on_ray(spec: SweepSpec, jobs: list[Job], train_cmd: TrainCommand) -> dict[str, Failure]:
    from .ray_backend import run_on_ray  # Ray is optional: imported only when asked for

    spec.out.mkdir(parents=True, exist_ok=True)
    _write_plan(spec, jobs, [], [])
    return run_on_ray(spec, jobs, train_cmd)


def _finish(spec: SweepSpec, jobs: list[Job], failures: dict[str, Failure]) -> int:
    """Collect the jobs' results into the sweep's table and plots; 1 when any job failed."""
    rows = collect(jobs, failures, spec.out)
    print(format_table(rows))
    print(f"costs: of {network_words(jobs)} (each search's target, which --train-epochs trains); "
          "arch_acc%: its argmax sub-network on the architecture half, in its supernet")  # fmt: skip
    out = SweepFiles(spec.out)
    files = [out.pareto_csv, out.pareto_json, out.pareto_png]
    files += [out.pareto_test_png] if any(r["test_error"] is not None for r in rows) else []
    print(f"results: {', '.join(str(f) for f in files if f.exists())}")
    if failures:
        print(
            f"{len(failures)} of {len(jobs)} jobs failed: {', '.join(failures)}; "
            "see their .log files"
        )
        return 1
    return 0
