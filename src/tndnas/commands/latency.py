"""``tndnas latency-table``: measure the per-piece latency table of a search's target network."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..config import DEFAULT_PRESET, ConfigError, load_search_config, preset_names
from ..objectives.latency import LatencyTable, rank_correlation
from ..spaces import SearchSpace, get_space
from .options import add_config_source, add_dataset_options, option_overrides


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "latency-table",
        help="measure the latency table that the latency_ms cost looks up",
        description=(
            "Measure, on this machine, the inference latency of every piece of the search's target "
            "network (target.channels x target.layers) for every op of its op sets, and write the "
            "table that reward.latency_table points the latency_ms cost to."
        ),
    )
    add_config_source(p, preset_names(), DEFAULT_PRESET)
    add_dataset_options(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key as in tndnas search, e.g. --set target.channels=16 (repeatable)")  # fmt: skip
    p.add_argument("--device", default="cpu", help="where to measure: cpu | cuda | cuda:N (default cpu)")  # fmt: skip
    p.add_argument("--batch", type=int, default=1, help="images per forward (default 1)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads while timing (default: torch's current number)")  # fmt: skip
    p.add_argument(
        "--channels-last", action="store_true", help="time in NHWC memory format (torch backend)"
    )
    p.add_argument("--backend", default="torch",
                   help="what runs the pieces: torch (eager PyTorch on --device) or onnxruntime "
                        "(each piece exported to ONNX and run by ONNX Runtime on the CPU; needs tndnas[export])")  # fmt: skip
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds of repeated runs per piece; the median is kept (default 0.05)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=3,
                   help="measure every piece this many times, round after round, and keep the median (default 3)")  # fmt: skip
    p.add_argument("--check", type=int, default=10, metavar="N",
                   help="also time N random networks end to end, twice, against the table's prediction (default 10; 0: none)")  # fmt: skip
    p.add_argument("--check-time", type=float, default=1.0,
                   help="seconds of repeated runs per checked network and pass (default 1.0)")  # fmt: skip
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.set_defaults(run=run)


def _check_arguments(args: argparse.Namespace) -> None:
    for flag, value, low in (("--batch", args.batch, 1), ("--check", args.check, 0),
                             ("--rounds", args.rounds, 1), ("--threads", args.threads, 1)):  # fmt: skip
        if value is not None and value < low:
            raise ConfigError(f"{flag}={value} is invalid; use an integer >= {low}.")
    for flag, value in (("--min-time", args.min_time), ("--check-time", args.check_time)):
        if not value > 0:
            raise ConfigError(f"{flag}={value} is invalid; use a positive number of seconds.")
    if args.backend == "onnxruntime" and (args.device != "cpu" or args.channels_last):
        raise ConfigError(
            "--backend onnxruntime runs on the CPU in ONNX Runtime's own memory layout; "
            "drop --device and --channels-last, or use --backend torch."
        )


def check_table(
    table: LatencyTable,
    ops: Mapping[str, Sequence[str]],
    n: int,
    seconds: float,
    seed: int,
    space: SearchSpace | None = None,
) -> dict:
    """Time ``n`` random networks of ``space`` (default darts) end to end, twice, against the
    table's predictions.  How well the second pass ranks the networks like the first tells how
    much this machine's noise alone reorders them."""
    space = space or get_space("darts")
    genotypes = space.random_genotypes(ops, table.macro, n, seed=seed)
    predicted = [table.latency_ms(g) for g in genotypes]
    costs = space.cost_table(table.macro)
    flops = [costs.cost(g).flops for g in genotypes]
    timers = [table.network_timer(g) for g in genotypes]  # each network built once
    passes = [[timer(seconds) for timer in timers] for _ in range(2)]
    measured = [statistics.median(pair) for pair in zip(*passes, strict=True)]
    many = n > 1
    return {
        "networks": n,
        "seconds_per_network": seconds,
        "predicted_ms": predicted,
        "measured_ms": passes,
        "median_predicted_over_measured": statistics.median(
            p / m for p, m in zip(predicted, measured, strict=True)
        ),
        "rank_correlation": rank_correlation(predicted, measured) if many else None,
        "repeat_rank_correlation": rank_correlation(*passes) if many else None,
        "flops": flops,
        "flops_rank_correlation": rank_correlation(flops, measured) if many else None,
    }


def run(args: argparse.Namespace) -> int:
    from ..runtime import environment, resolve_device, write_json_atomic
    from ..runtime.records import check_writable
    from ..search.stages import search_space, space_ops
    from ..space.macro import Macro
    from .info import dataset_shape

    _check_arguments(args)
    check_writable(args.out, "--out")  # before minutes of measuring, not after
    preset = args.preset if args.preset or args.config else DEFAULT_PRESET
    overrides = option_overrides(args, (("dataset", "dataset.name"), ("data_dir", "dataset.data_dir")))  # fmt: skip
    cfg = load_search_config(preset=preset, config_file=args.config, overrides=overrides)
    space = search_space(cfg)
    device = resolve_device(args.device)
    in_ch, size, classes = dataset_shape(cfg.dataset.name, cfg.dataset.data_dir)
    macro = Macro(channels=cfg.target.channels, layers=cfg.target.layers, num_classes=classes,
                  in_channels=in_ch, image_size=size, steps=cfg.space.steps)  # fmt: skip
    table = space.latency_table(macro, device=device, batch_size=args.batch, threads=args.threads,
                                channels_last=args.channels_last, min_run_time=args.min_time, backend=args.backend)  # fmt: skip
    ops = {ct: list(v) for ct, v in space_ops(cfg).items()}
    op_counts = " and ".join(f"{len(v)} {ct}" for ct, v in ops.items())
    print(f"measuring with {args.backend} on {device} ({table.threads} threads, batch {args.batch}): the "
          f"{space.name} target network of {macro.channels} channels x {macro.layers} layers, {op_counts} ops",
          flush=True)  # fmt: skip
    start = time.perf_counter()
    table.measure_space(ops, rounds=args.rounds)
    seconds = time.perf_counter() - start
    env = environment(device)
    table.info = {
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device": str(device),
        "backend": args.backend,
        "device_name": env.get("gpu") or f"{env['cpu']}, {table.threads} threads",
        "torch": env["torch"],
        "tndnas": env["tndnas"],
        "preset": preset if not args.config else None,
        "config": args.config,
        "overrides": overrides,
        "op_sets": {ct: getattr(cfg.space, f"{ct}_ops") for ct in ops},
        "rounds": args.rounds,
        "min_time_s": args.min_time,
        "seconds": round(seconds, 1),
    }
    print(f"{len(table.pieces)} pieces measured in {seconds:.0f} s", flush=True)
    if args.check:
        c = table.info["check"] = check_table(
            table, ops, args.check, args.check_time, cfg.seed, space
        )
        pred = c["predicted_ms"]
        meas = [statistics.median(pair) for pair in zip(*c["measured_ms"], strict=True)]
        rho, again, by_flops = (
            "-" if c[k] is None else f"{c[k]:.2f}"
            for k in ("rank_correlation", "repeat_rank_correlation", "flops_rank_correlation")
        )
        print(f"check on {args.check} random networks: predicted {min(pred):.2f}-{max(pred):.2f} ms, "
              f"measured {min(meas):.2f}-{max(meas):.2f} ms, median predicted/measured "
              f"{c['median_predicted_over_measured']:.2f}; rank correlation with the measured "
              f"latency {rho} (FLOPs': {by_flops}; a second measurement's: {again})")  # fmt: skip
    out = Path(args.out)
    if out.parent != Path():
        out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, table.to_dict())
    print(f"wrote {out}; use it: tndnas search ... --set reward.latency_table={out} "
          f"--set 'stages.N.costs=[{{cost: latency_ms, ref: ..., beta: ...}}]'")  # fmt: skip
    return 0
