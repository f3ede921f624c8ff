"""``tndnas sweep``: searches over a list of (P, beta), run in parallel, and their Pareto front."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import DEFAULT_PRESET, preset_names
from .options import NEGATIVE_NUMBER, add_config_source, add_run_options, timestamped_dir

# argparse takes '-0.1,-2' for an option flag; anything that starts like a negative number
# (beta is usually negative) is read as a value instead: no option of this command does.


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="search a family of architectures along the accuracy/cost trade-off (Pareto front)",
        description=(
            "Run one search per beta (every stage's cost exponent; also P with --refs) as "
            "parallel processes, each into OUT/job-<i>-beta<b>-ref<p> (or, with --one-supernet, "
            "one search of a policy per beta on one supernet), optionally train each "
            "genotype, and collect OUT/pareto.{csv,json,png}. Re-running into the same --out "
            "skips finished jobs and resumes interrupted ones."
        ),
    )
    p._negative_number_matcher = NEGATIVE_NUMBER  # '--betas -0.1,-2' (also built alone)
    add_config_source(p, preset_names(), DEFAULT_PRESET)
    p.add_argument(
        "--betas",
        required=True,
        metavar="B1,B2,...",
        help="one job per value: the exponent of every stage's first cost term (stages.*.costs.0.beta), e.g. -0.1,-0.5,-2",
    )
    p.add_argument(
        "--refs",
        default=None,
        metavar="P1,P2,...",
        help="stages.*.costs.0.ref: one value for every job, or one per beta (default: the config's)",
    )
    p.add_argument(
        "--one-supernet",
        action="store_true",
        help="one search, one supernet: a policy per beta (family.betas), trained together into "
        "OUT/family; each member's folder is OUT/family/members/member-<i>-beta<b>-ref<p>",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="processes at once (default: the number of visible GPUs if >1, else 1)",
    )
    p.add_argument(
        "--train-epochs",
        type=int,
        default=None,
        metavar="E",
        help="after each search, train its genotype for E epochs (tndnas train)",
    )
    p.add_argument(
        "--train-preset",
        default="quick",
        metavar="NAME",
        help="preset of the training step (default quick)",
    )
    add_run_options(p, set_help="override a config key of every search",
                    out_help="sweep folder (default runs/sweep-<preset>-<time>)",
                    seed_help="seed of every search", progress_help="no per-job start/finish lines")  # fmt: skip
    ray = p.add_argument_group("running on a Ray cluster (pip install 'tndnas[ray]')")
    ray.add_argument("--backend", choices=("local", "ray"), default="local",
                     help="local: processes on this machine (default); ray: one Ray task per job")  # fmt: skip
    ray.add_argument("--ray-address", default=None, metavar="auto|HOST:PORT",
                     help="the Ray cluster to join (auto: the one started on this node with `ray start`); "
                          "default: start Ray on this machine")  # fmt: skip
    ray.add_argument("--cpus-per-job", type=float, default=1.0, metavar="N",
                     help="CPUs each job declares to Ray (default 1; also its OMP_NUM_THREADS)")  # fmt: skip
    ray.add_argument("--gpus-per-job", type=float, default=0.0, metavar="N",
                     help="GPUs each job declares to Ray (default 0; 1 for a GPU search)")  # fmt: skip
    ray.add_argument("--max-retries", type=int, default=2, metavar="N",
                     help="retries of a failed job, each from its last checkpoint (default 2)")  # fmt: skip
    p.add_argument("--no-plots", action="store_true",
                   help="the jobs' searches draw no plots (the sweep's Pareto front is still drawn)")  # fmt: skip
    p.set_defaults(run=run)


def _default_out(args: argparse.Namespace) -> Path:
    name = args.preset or (Path(args.config).stem if args.config else DEFAULT_PRESET)
    return timestamped_dir(f"sweep-{name}")


def run(args: argparse.Namespace) -> int:
    from ..sweep import SweepSpec, parse_floats, run_sweep

    spec = SweepSpec(
        betas=parse_floats(args.betas, "--betas"),
        refs=parse_floats(args.refs, "--refs") if args.refs is not None else None,
        out=Path(args.out) if args.out else _default_out(args),
        preset=args.preset,
        config=Path(args.config) if args.config else None,
        overrides=list(args.overrides),
        seed=args.seed,
        device=args.device,
        jobs=args.jobs,
        train_epochs=args.train_epochs,
        train_preset=args.train_preset,
        progress=not args.no_progress,
        plots=not args.no_plots,
        backend=args.backend,
        ray_address=args.ray_address,
        cpus_per_job=args.cpus_per_job,
        gpus_per_job=args.gpus_per_job,
        max_retries=args.max_retries,
        one_supernet=args.one_supernet,
    )
    return run_sweep(spec)
