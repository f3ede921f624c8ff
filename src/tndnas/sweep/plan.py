"""Planning a sweep: its jobs, each configuration loaded and validated before any process starts,
and the command lines that run them (a fresh search, a resume, a training)."""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, SearchConfig, config_to_dict, load_search_config
from ..run_files import SearchRunFiles, SweepFiles, TrainRunFiles
from ..search.stages import member_config, member_names, ref_label

#: the folder of a ``--one-supernet`` sweep's family search, inside the sweep's folder
FAMILY_DIR = "family"

DEFAULT_TRAIN_PRESET = "quick"

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
    backend: str = "local"  # local processes, or ray (one Ray task per job)
    ray_address: str | None = None  # None: start Ray on this machine; auto | HOST:PORT: a cluster
    cpus_per_job: float = 1.0  # Ray: the resources each job declares
    gpus_per_job: float = 0.0
    max_retries: int = 2  # Ray: retries of a failed job, each from its last checkpoint
    one_supernet: bool = False  # one family search (family.betas) instead of a search per beta


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
        return SweepFiles.job_log(self.dir)


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


def _base_overrides(spec: SweepSpec) -> list[str]:
    extra = [f"seed={spec.seed}"] if spec.seed is not None else []
    extra += [f"device={json.dumps(spec.device)}"] if spec.device is not None else []
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
    saved = SearchRunFiles(job.dir).config
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


def _swept_stages(cfg: SearchConfig) -> list:
    """The stages whose first cost term the sweep varies: all of them, each needs a term."""
    for k, st in enumerate(cfg.stages):
        if not st.costs:
            raise ConfigError(
                f"a sweep varies the exponent of every stage's first cost term, but "
                f"stages.{k}.costs is empty; give each stage a term, e.g. --set "
                f"'stages.{k}.costs=[{{cost: params, ref: 1.5}}]'"
            )
    return cfg.stages


def plan_family(spec: SweepSpec) -> tuple[Job, list[Job]]:
    """A ``--one-supernet`` sweep: the family search (``OUT/family``, ``family.betas`` and
    ``family.refs`` set from ``--betas``/``--refs``) and its members as the sweep's jobs, each
    the folder the family writes for it (``OUT/family/members/<name>``)."""
    _check_refs(spec)
    base = _base_overrides(spec)
    _swept_stages(_load(spec, base))
    own = [f"family.betas=[{','.join(_num(b) for b in spec.betas)}]"]
    if spec.refs:
        own.append(f"family.refs=[{','.join(_num(r) for r in spec.refs)}]")
    cfg = _load(spec, [*base, *own])
    family = Job(-1, math.nan, "-", FAMILY_DIR, spec.out / FAMILY_DIR, [*base, *own], cfg)
    _check_existing(family)
    members = []
    for i, name in enumerate(member_names(cfg)):
        mine = member_config(cfg, i)
        folder = SearchRunFiles(family.dir).member(name).root
        members.append(Job(i, spec.betas[i], ref_label(mine), name, folder, family.overrides, mine))
    return family, members


def _check_refs(spec: SweepSpec) -> None:
    if not spec.betas:
        raise ConfigError("--betas is empty; give one or more values, e.g. --betas -0.1,-0.5")
    if spec.refs and len(spec.refs) not in (1, len(spec.betas)):
        raise ConfigError(
            f"--refs gives {len(spec.refs)} values for {len(spec.betas)} betas; "
            "give one value (used for every job) or one per beta"
        )
    if spec.train_epochs is not None and spec.train_epochs < 1:
        raise ConfigError(f"--train-epochs={spec.train_epochs} is invalid; use an integer >= 1")


def plan_jobs(spec: SweepSpec) -> list[Job]:
    """The sweep's jobs, every configuration loaded and validated (one-line ConfigError); for
    ``--one-supernet`` the family's members (:func:`plan_family`)."""
    if spec.one_supernet:
        return plan_family(spec)[1]
    _check_refs(spec)
    refs: list[float | None] = [None] * len(spec.betas)
    if spec.refs:
        refs = list(spec.refs) * (len(spec.betas) if len(spec.refs) == 1 else 1)
    base = _base_overrides(spec)
    n_stages = len(_swept_stages(_load(spec, base)))
    jobs = []
    for i, (beta, ref) in enumerate(zip(spec.betas, refs)):
        own = [f"stages.{k}.costs.0.beta={_num(beta)}" for k in range(n_stages)]
        if ref is not None:
            own += [f"stages.{k}.costs.0.ref={_num(ref)}" for k in range(n_stages)]
        cfg = _load(spec, [*base, *own])
        label = ref if ref is not None else ref_label(cfg)
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
    files = SearchRunFiles(job.dir)
    if files.summary.exists():
        return None
    if files.config.exists():
        if files.checkpoint.exists():
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
           "--out", str(SweepFiles.job_train(job_dir)), "--no-progress"]  # fmt: skip
    return cmd + (["--device", device] if device else [])


def job_steps(
    spec: SweepSpec, job: Job, train_cmd: TrainCommand
) -> Iterator[tuple[str, list[str]]]:
    """The (step, argv) pairs still to run for ``job``, decided lazily: the training step is
    looked at only after the search has finished."""
    cmd = None if spec.one_supernet else search_command(spec, job)  # a member: the family's
    if cmd is not None:
        yield "search", cmd
    if spec.train_epochs is None:
        return
    train_dir = SweepFiles.job_train(job.dir)
    if TrainRunFiles(train_dir).summary.exists():
        return
    if train_dir.exists():  # an interrupted training: keep it aside, start again
        partial = SweepFiles.job_train_partial(job.dir)
        shutil.rmtree(partial, ignore_errors=True)
        train_dir.rename(partial)
    yield "train", train_cmd(job.dir, spec.train_preset, spec.train_epochs, spec.device)
