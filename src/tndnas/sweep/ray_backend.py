"""Running a sweep's jobs on a Ray cluster (``tndnas sweep --backend ray``).

Each job -- its search, then its training when the sweep trains -- is one Ray task that
declares its resources (``--cpus-per-job``, ``--gpus-per-job``); Ray places it on a node with
them free and sets ``CUDA_VISIBLE_DEVICES`` for it.  The task runs the same commands as the
local backend, in the job's folder, so the folders must be on storage every node sees
(``--out`` on a shared path).  A task that fails -- its command exits non-zero, or its worker
or node dies -- is retried up to ``--max-retries`` times; a retry looks at the job's folder
again and continues the search from its last checkpoint (``--resume``), as re-running a local
sweep does.  Ray is an optional dependency: ``pip install 'tndnas[ray]'``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from ..config import ConfigError
from .plan import Failure, Job, SweepSpec, TrainCommand, job_steps
from .runner import last_error_line, run_step


class JobStepFailed(RuntimeError):
    """A job's command that exited non-zero (raised in the task, so that Ray retries it)."""

    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step, self.message = step, message


def _run_job(spec: SweepSpec, job: Job, train_cmd: TrainCommand, threads: int) -> str:
    """The body of a job's Ray task: every step still to run, one after another."""
    ran = []
    for step, cmd in job_steps(spec, job, train_cmd):
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
        rc = run_step(job, step, cmd, env)
        if rc != 0:
            why = f"exit status {rc}" if rc > 0 else f"killed by signal {-rc}"
            raise JobStepFailed(step, f"{why}: {last_error_line(job.log)}")
        ran.append(step)
    return ", ".join(ran) or "nothing left to run"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--backend ray needs Ray, which is not installed; pip install 'tndnas[ray]' "
            "(on every node of the cluster), or use --backend local."
        ) from None
    return ray


def run_on_ray(spec: SweepSpec, jobs: Sequence[Job], train_cmd: TrainCommand) -> dict[str, Failure]:
    """Run ``jobs`` as Ray tasks; returns the failures (job name -> Failure) after retries."""
    ray = _ray()
    if not ray.is_initialized():  # a test, or a script, may have started Ray itself
        try:
            ray.init(
                address=spec.ray_address, include_dashboard=False, log_to_driver=False,
                logging_level="WARNING",
            )  # fmt: skip
        except (ConnectionError, ValueError, RuntimeError, TimeoutError) as err:
            where = "a local Ray instance" if spec.ray_address is None else spec.ray_address
            raise ConfigError(
                f"could not start or join the Ray cluster at {where} "
                f"({str(err).strip().splitlines()[0][:140] if str(err).strip() else type(err).__name__}); "
                "check that `ray start --head` runs there and that this machine reaches it, "
                "then run the same command again."
            ) from None
    task = ray.remote(
        num_cpus=spec.cpus_per_job,
        num_gpus=spec.gpus_per_job,
        max_retries=spec.max_retries,
        retry_exceptions=[JobStepFailed],
    )(_run_job)
    threads = max(1, int(spec.cpus_per_job))
    pending = {task.remote(spec, job, train_cmd, threads): job for job in jobs}
    started = time.monotonic()
    failures: dict[str, Failure] = {}
    if spec.progress:
        print(f"sweep: {len(jobs)} Ray tasks submitted", flush=True)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            try:
                steps = ray.get(done[0])
                if spec.progress:
                    print(f"{job.name}: {steps} done ({time.monotonic() - started:.0f} s into the sweep)", flush=True)  # fmt: skip
            except ray.exceptions.RayTaskError as err:
                cause = err.cause if isinstance(err.cause, JobStepFailed) else None
                step, msg = (
                    (cause.step, cause.message) if cause else ("task", str(err).splitlines()[0])
                )
                failures[job.name] = Failure(step, f"{msg} (after {spec.max_retries} retries)")
                print(f"{job.name}: {step} FAILED ({msg}); log: {job.log}", flush=True)
            except ray.exceptions.RayError as err:  # a worker or node lost for good
                failures[job.name] = Failure(
                    "task", f"{type(err).__name__}: {str(err).splitlines()[0]}"
                )
                print(
                    f"{job.name}: FAILED ({failures[job.name].message}); log: {job.log}", flush=True
                )
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return failures
