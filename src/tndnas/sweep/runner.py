"""Running a sweep's jobs as subprocesses: process slots, GPU pinning, memory shares, the
environment each job gets, and the runner that starts, watches and stops them."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..plugins import PLUGINS_ENV
from .plan import Failure, Job, SweepSpec, TrainCommand, job_steps

if TYPE_CHECKING:
    from ..runtime import MemoryShare

POLL_SECONDS = 0.2


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
    from ..runtime import MemoryShare, available_memory_bytes

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
    from ..runtime import MEMORY_SHARE_ENV

    env = dict(os.environ)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    env.pop(MEMORY_SHARE_ENV, None)
    if share is not None:
        env[MEMORY_SHARE_ENV] = share.encode()
    if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:  # share the CPU cores between jobs
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    return env


def oversubscribed(jobs: int, device: str) -> str | None:
    """A warning when ``OMP_NUM_THREADS`` makes CPU jobs that run at once ask for more threads
    than the machine has cores (each then waits on the others' threads: many times slower)."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    cores = os.cpu_count() or 1
    if device == "cuda" or jobs < 2 or not threads.isdigit() or int(threads) * jobs <= cores:
        return None
    return (f"OMP_NUM_THREADS={threads} with {jobs} jobs at once asks for {int(threads) * jobs} "
            f"threads on {cores} cores, which slows every job down many times over; unset "
            f"OMP_NUM_THREADS (the sweep then gives each job {max(1, cores // jobs)}) or lower --jobs.")  # fmt: skip


def last_error_line(log: Path) -> str:
    """The last non-empty line of a log (the error of a failed command)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "(empty log)")


def start_step(job: Job, step: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start one step of ``job`` (``cmd``), its output appended to the job's log after a line
    that names the step; the job's plug-ins are handed to it."""
    with open(job.log, "a") as log:
        log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} {step}: {shlex.join(cmd)}\n")
        log.flush()
        env = {**env, PLUGINS_ENV: os.pathsep.join(job.config.plugins)}  # the job's own code
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def run_step(job: Job, step: str, cmd: list[str], env: dict[str, str]) -> int:
    """:func:`start_step`, waited for; its exit status."""
    proc = start_step(job, step, cmd, env)
    try:
        return proc.wait()
    except BaseException:
        _stop([proc])
        raise


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
        env = _child_env(gpu, len(self.slots), self.shares[r.slot])
        r.proc = start_step(r.job, r.step, cmd, env)
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
