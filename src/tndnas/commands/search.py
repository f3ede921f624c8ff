"""``tndnas search``: run or resume a TND-NAS search."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import DEFAULT_PRESET, ConfigError, SearchConfig, load_search_config, preset_names
from ..run_files import SearchRunFiles
from ..runtime.distributed import is_main_process
from .options import (
    add_config_source,
    add_dataset_options,
    add_distributed_options,
    add_run_options,
    given_options,
    option_overrides,
    timestamped_dir,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="search a genotype (REINFORCE over a progressive supernet)",
        description="Run the TND-NAS search (Algorithm 2) and write a run directory.",
    )
    add_config_source(p, preset_names(), DEFAULT_PRESET,
                      resume="continue an interrupted run from its last checkpoint")  # fmt: skip
    add_dataset_options(p)
    add_run_options(p, set_help="override a config key, e.g. --set stages.2.costs.0.beta=-0.8",
                    out_help="run directory (default runs/<preset>-<time>)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="check the config, print every stage's estimated weight-step memory and exit (writes nothing)")  # fmt: skip
    p.add_argument("--no-plots", action="store_true",
                   help="do not draw the run's plots at the end (tndnas plot RUN_DIR draws them later)")  # fmt: skip
    add_distributed_options(p)
    p.set_defaults(run=run)


_OPTIONS = (
    ("dataset", "dataset.name"),
    ("data_dir", "dataset.data_dir"),
    ("seed", "seed"),
    ("device", "device"),
)


def run(args: argparse.Namespace) -> int:

    progress = False if args.no_progress else None
    if args.resume and args.dry_run:
        raise ConfigError("--dry-run checks a new search; drop --resume.")
    if args.resume:
        given = given_options(args, [attr for attr, _ in _OPTIONS] + ["out"])
        if given:
            raise ConfigError(
                f"--resume continues a run with its saved config.yaml; drop {', '.join(given)}."
            )
        run_dir = Path(args.resume)
        from ..search.run_dir import RunDir

        RunDir(run_dir).repair()  # files the run's other files hold, written again
        RunDir(run_dir).check_resumable()  # one sentence for a folder that holds no run
        cfg = load_search_config(config_file=SearchRunFiles(run_dir).config)
        summary = _search(cfg, run_dir, resume=True, progress=progress, plots=not args.no_plots,
                          dist_timeout=args.dist_timeout, check_sync=args.check_sync)  # fmt: skip
    else:
        preset = args.preset if args.preset or args.config else DEFAULT_PRESET
        overrides = option_overrides(args, _OPTIONS, augment_prefix="weights.")
        cfg = load_search_config(preset=preset, config_file=args.config, overrides=overrides)
        run_dir = Path(args.out) if args.out else timestamped_dir(preset or Path(args.config).stem)
        if args.dry_run:
            return dry_run(cfg, run_dir)
        summary = _search(cfg, run_dir, progress=progress, plots=not args.no_plots,
                          dist_timeout=args.dist_timeout, check_sync=args.check_sync)  # fmt: skip
    if not is_main_process():  # under torchrun, rank 0 speaks for the run
        return 0
    if "family" in summary:
        _print_family(cfg, run_dir, summary)
    else:
        _print_single(cfg, run_dir, summary)
    _print_ranking(summary)
    return 0


def _print_ranking(summary: dict) -> None:
    """The last line: the supernet's ranking check per stage (tndnas.search.trust)."""
    stages = [st for st in summary.get("stages", []) if "ranking_tau" in st]
    if not stages:
        return
    taus = " / ".join(f"{st['ranking_tau']:.2f}" for st in stages)
    free = " / ".join(
        f"{100 * st['weight_free_share']:.0f} % (candidates {100 * st['weight_free_candidates']:.0f} %)"
        for st in stages
    )
    last = stages[-1]
    if last["ranking_tau"] <= last["ranking_noise_tau"]:
        trusted = "no better than noise"
    else:
        trusted = "above noise" + ("; its warning above" if last.get("trust_warning") else "")
    print(f"supernet ranking check per stage: Kendall tau {taus} between two halves of "
          f"{last['ranking_images']} architecture images ({last['ranking_cells']} random "
          f"sub-networks; noise reaches {last['ranking_noise_tau']:.2f}: last stage {trusted}); "
          f"weight-free ops in the argmax {free}")  # fmt: skip


def _print_family(cfg: SearchConfig, run_dir: Path, summary: dict) -> None:
    """A family search's last lines: each member's folder, costs and accuracy."""
    from ..objectives.costs import cost_label

    print(f"family of {len(summary['family'])} on one supernet; search took "
          f"{summary['seconds_total']:.0f} s; plots: {run_dir / 'plots'}/")  # fmt: skip
    print(f"members (the {cfg.target.channels}-channel, {cfg.target.layers}-cell network each "
          f"genotype.json describes; accuracy: its argmax on the architecture half):")  # fmt: skip
    for row in summary["family"]:
        costs = ", ".join(f"{cost_label(n)} {v:.4g}" for n, v in row["costs"].items())
        acc = row.get("arch_acc_argmax")
        acc_text = "-" if acc is None else f"{100 * acc:.1f} %"
        print(f"  {run_dir / row['folder']}: {costs}, accuracy {acc_text}")


def _print_single(cfg: SearchConfig, run_dir: Path, summary: dict) -> None:
    print(f"genotype: {run_dir / 'genotype.json'}")
    if summary.get("plots"):
        print(f"plots:    {run_dir / 'plots'}/")
    else:
        print(f"plots:    none drawn; tndnas plot {run_dir} draws them")
    print(
        f"final network ({cfg.target.channels} channels, {cfg.target.layers} layers): "
        f"{summary['params']:,} params (no aux head), {summary['flops']:,} FLOPs"
        + (
            ""
            if summary.get("latency_ms") is None
            else f", {summary['latency_ms']:.2f} ms predicted latency"
        )
        + f"; search took {summary['seconds_total']:.0f} s"
    )
    for b in summary.get("budgets", []):  # P of a hard budget (beta_below: 0)
        state = "within" if not b["over_by_pct"] else f"OVER by {b['over_by_pct']:.1f} % of"
        print(f"budget: {b['cost']} {b['value']:.4g} is {state} the budget {b['budget']:g}")


def _search(cfg: SearchConfig, run_dir: Path, **kwargs) -> dict:
    """:func:`~tndnas.search.search`; stopped by Ctrl-C or a signal, it names the command that
    continues the run."""
    from ..search import search

    try:
        return search(cfg, run_dir, **kwargs)
    except KeyboardInterrupt:
        if SearchRunFiles(run_dir).config.exists() and is_main_process():
            print(f"continue with: tndnas search --resume {run_dir}", file=sys.stderr)
        raise


def dry_run(cfg: SearchConfig, run_dir: Path) -> int:
    """Load the data and the config as a search would, print each stage's estimated memory;
    0 when the search would start; :class:`MemoryCheckError` (the sentence it would stop with,
    status 2 from the CLI) when a stage does not fit and ``weights.memory_check`` is ``error``."""
    from ..search.algorithm import Search

    s = Search(cfg, run_dir, progress=False)
    rows = s.memory_plan(0, s.initial_candidates)
    available = rows[0]["available_mb"] if rows else None
    print(f"config ok: {cfg.dataset.name} ({len(s.data.train_y):,} training images), "
          f"{len(cfg.stages)} stages, device {s.device}, weights.mode={cfg.weights.mode}, "
          f"weights.checkpoint={str(cfg.weights.checkpoint).lower()}")  # fmt: skip
    where = "unknown" if available is None else f"{available / 1024:.1f} GiB"
    print(f"estimated memory of one weight step (available on {s.device}: {where}):")
    print(f"  {'stage':>5} {'cells':>5} {'candidates':>10} {'batch':>5} {'weights':>9} "
          f"{'activations':>11} {'total':>9}  fits   (GiB; candidates: normal/reduce per edge)")  # fmt: skip
    for r in rows:
        cand = f"{r['candidates']['normal']}/{r['candidates']['reduce']}"
        fits = {True: "yes", False: "NO", None: "?"}[r["fits"]]
        print(f"  {r['stage']:>5} {r['layers']:>5} {cand:>10} {r['batch_size']:>5} "
              f"{r['weights_mb'] / 1024:>9.2f} {r['activations_mb'] / 1024:>11.2f} "
              f"{r['total_mb'] / 1024:>9.2f}  {fits}")  # fmt: skip
    s.act_on_memory_plan(rows)  # error: one line and status 2, as the search would stop
    if any(r["problem"] for r in rows) and cfg.weights.memory_check == "ignore":
        print("weights.memory_check=ignore: the search would start without this check")
    print(f"nothing written; run without --dry-run to search into {run_dir}")
    return 0
