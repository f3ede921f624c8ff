"""``tndnas bench-tabular``: search methods on the NAS-Bench-201 results table, scored exactly."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..config import ConfigError, load_search_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench-tabular",
        help="run TND-NAS, random search and evolution on a results table, scored exactly",
        description="The policy, reward and shrinking of a search, with each cell's accuracy read "
        "from the NAS-Bench-201 results table instead of measured in a supernet; beside random "
        "search and regularised evolution at the same budget of queries (distinct cells "
        "scored). Reports, mean ± std over seeds, the table accuracy of the returned cell and, "
        "per cost, the hypervolume of the found front as a fraction of the table's.",
    )
    p.add_argument("--table", required=True, help="the results CSV (one row per cell)")
    p.add_argument("--arch-column", default="ArchitectureString", help="its cell-string column")
    p.add_argument("--objective", default="CIFAR10TestAccuracy200Epochs",
                   help="the accuracy column to maximise (default CIFAR10TestAccuracy200Epochs)")  # fmt: skip
    p.add_argument("--cost", dest="costs", action="append", default=[], metavar="COST",
                   help="a second objective: params, flops (of the published CIFAR-10 network), a column "
                        "of the table, or FILE.csv:COLUMN keyed by cell string; A+B: both at once "
                        "(a three-objective front, Eq. 10, scored by pymoo's exact hypervolume); "
                        "repeatable")  # fmt: skip
    p.add_argument(
        "--betas",
        default="-0.1,-0.3,-1",
        help="one search per beta with a cost (default -0.1,-0.3,-1)",
    )
    p.add_argument("--queries", default="100,300,1000", help="query budgets (default 100,300,1000)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per method and budget (default 10)")
    p.add_argument("--acc-noise", type=int, default=None, metavar="IMAGES",
                   help="measure each accuracy on IMAGES images (binomial noise), as a search does")  # fmt: skip
    p.add_argument(
        "--preset",
        default="nb201-c10",
        help="the search preset whose policy and stages run (default nb201-c10)",
    )
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of that preset, e.g. policy.lr=0.05")  # fmt: skip
    p.add_argument("--methods", default=None, metavar="M,M",
                   help="the methods to run, of tnd-nas, random, evolution, nsga2, motpe (Optuna's "
                   "NSGA-II and multi-objective TPE: pip install 'tndnas[bench]'); default: all "
                   "that are installed")  # fmt: skip
    p.add_argument("--json", default=None, metavar="OUT", help="write the results as JSON")
    p.add_argument("--plot", default=None, metavar="OUT.png", help="draw the results and fronts")
    p.set_defaults(run=run)


def _ints(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a list of integers, e.g. 100,300,1000") from None
    if not values or min(values) < 1:
        raise ConfigError(f"{flag} {text!r}: every value must be >= 1")
    if max(values) > 1_000_000:  # a table holds 15,625 cells: more queries are a typo
        raise ConfigError(f"{flag} {text!r}: every value must be at most 1000000")
    return values


def run(args: argparse.Namespace) -> int:
    from ..runtime.records import check_figure_path, check_writable
    from ..strategy import SAMPLERS, optuna_available
    from ..sweep import parse_floats
    from ..tabular_benchmark.benchmark import ALL_METHODS, format_results, run_benchmark
    from ..tabular_benchmark.plot import plot_benchmark
    from ..tabular_benchmark.space import load_tabular_space

    budgets = _ints(args.queries, "--queries")
    if args.json:  # before the benchmark runs, not after
        check_writable(args.json, "--json")
    if args.plot:
        check_figure_path(args.plot, "--plot")
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} is invalid; use an integer >= 1")
    if args.acc_noise is not None and args.acc_noise < 1:
        raise ConfigError(f"--acc-noise {args.acc_noise} is invalid; use a number of images >= 1")
    betas = parse_floats(args.betas, "--betas")
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = [m for m in methods if m not in ALL_METHODS]
        if unknown or not methods:
            raise ConfigError(
                f"--methods {args.methods!r}: unknown method '{(unknown or [''])[0]}'; use some of "
                f"{', '.join(ALL_METHODS)}, comma-separated"
            )
        if any(m in SAMPLERS for m in methods) and not optuna_available():
            raise ConfigError(
                f"--methods {args.methods}: nsga2 and motpe need Optuna, which is not installed; "
                "run pip install 'tndnas[bench]' (or pip install optuna), or leave them out."
            )
    cfg = load_search_config(preset=args.preset, overrides=args.overrides)
    space = load_tabular_space(args.table, args.objective, args.costs, args.arch_column)
    cells = len(space.accuracy)
    if max(budgets) > cells:  # a budget of distinct cells no method could spend
        raise ConfigError(
            f"--queries {args.queries}: {max(budgets):,} is more than the {cells:,} cells the "
            f"table holds, so no method could spend it; use budgets of at most {cells:,}."
        )
    res = run_benchmark(space, cfg, budgets, args.seeds, args.costs, betas, args.acc_noise, methods)
    res.update({"table": str(args.table), "preset": args.preset, "overrides": args.overrides})
    print(format_results(res))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1, default=str) + "\n")
        print(f"results: {args.json}")
    if args.plot:
        print(f"plot: {plot_benchmark(res, args.plot)}")
    return 0
