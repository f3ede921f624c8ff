"""``tndnas latency-table``: measure the per-piece latency table of a search's target network."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..config import DEFAULT_PRESET, ConfigError, load_search_config, preset_names
from ..objectives.latency_check import calibrate_and_check
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
    p.add_argument("--calibrate", type=int, default=10, metavar="K",
                   help="time K random networks end to end and fit the table's scale and offset to them, so "
                        "that predictions include what the pieces cost together (default 10; 0: the plain sum)")  # fmt: skip
    p.add_argument("--check", type=int, default=10, metavar="N",
                   help="also time N other random networks end to end, interleaved, against the table's prediction (default 10; 0: none)")  # fmt: skip
    p.add_argument("--check-time", type=float, default=1.0,
                   help="seconds of runs per network timed whole (checked or calibrating), spread over 10 rounds in which each network runs in turn (default 1.0)")  # fmt: skip
    p.add_argument("--check-json", default=None, metavar="FILE",
                   help="write the check's figures and every network's predicted and measured latency to FILE")  # fmt: skip
    p.add_argument("--pieces-csv", default=None, metavar="FILE",
                   help="measure nothing: write the list of pieces the target network needs (name, input shape, "
                        "an empty latency_ms) for another device's tools to fill in")  # fmt: skip
    p.add_argument("--import-csv", default=None, metavar="FILE",
                   help="measure nothing: make the table from a filled-in pieces CSV measured elsewhere")  # fmt: skip
    p.add_argument("--device-name", default=None,
                   help="with --import-csv: the device the CSV was measured on (recorded in the table)")  # fmt: skip
    p.add_argument(
        "--out", default=None, help="the JSON file to write (required unless --pieces-csv)"
    )
    p.set_defaults(run=run)


def _check_arguments(args: argparse.Namespace) -> None:
    for flag, value, low in (("--batch", args.batch, 1), ("--check", args.check, 0),
                             ("--rounds", args.rounds, 1), ("--threads", args.threads, 1),
                             ("--calibrate", args.calibrate, 0)):  # fmt: skip
        if value is not None and value < low:
            raise ConfigError(f"{flag}={value} is invalid; use an integer >= {low}.")
    if args.calibrate in (1, 2):  # a scale and an offset fit 1 or 2 networks exactly
        raise ConfigError(
            f"--calibrate={args.calibrate} fits a scale and an offset to {args.calibrate} "
            "network(s), which they match exactly whatever the table is worth; use 3 or more "
            "(default 10), or 0 for no calibration."
        )
    if args.check in (1, 2):
        raise ConfigError(
            f"--check={args.check} cannot give a share or a rank correlation that means "
            "anything; check 3 or more networks (e.g. 100), or 0 for no check."
        )
    for flag, value in (("--min-time", args.min_time), ("--check-time", args.check_time)):
        if not value > 0:
            raise ConfigError(f"{flag}={value} is invalid; use a positive number of seconds.")
    if args.backend == "onnxruntime" and (args.device != "cpu" or args.channels_last):
        raise ConfigError(
            "--backend onnxruntime runs on the CPU in ONNX Runtime's own memory layout; "
            "drop --device and --channels-last, or use --backend torch."
        )


def run(args: argparse.Namespace) -> int:
    from ..data.shapes import dataset_shape
    from ..macro import Macro
    from ..runtime import environment, resolve_device, write_json_atomic
    from ..runtime.records import check_writable
    from ..search.stages import cell_steps, search_space, space_ops

    _check_arguments(args)
    if args.pieces_csv and args.import_csv:
        raise ConfigError(
            "--pieces-csv writes the list that --import-csv reads back filled in; give one of them."
        )
    if not args.out and not args.pieces_csv:
        raise ConfigError("--out FILE is required: the latency table to write.")
    for flag, path in (("--out", args.out), ("--pieces-csv", args.pieces_csv)):
        if path:
            check_writable(path, flag)  # before minutes of measuring, not after
    if args.check_json:
        if not args.check:
            raise ConfigError(
                "--check-json writes the figures of --check N; give --check a number above 0."
            )
        check_writable(args.check_json, "--check-json")
    preset = args.preset if args.preset or args.config else DEFAULT_PRESET
    overrides = option_overrides(args, (("dataset", "dataset.name"), ("data_dir", "dataset.data_dir")))  # fmt: skip
    cfg = load_search_config(preset=preset, config_file=args.config, overrides=overrides)
    space = search_space(cfg)
    device = resolve_device(args.device)
    in_ch, size, classes = dataset_shape(cfg.dataset.name, cfg.dataset.data_dir)
    macro = Macro(channels=cfg.target.channels, layers=cfg.target.layers, num_classes=classes,
                  in_channels=in_ch, image_size=size, steps=cell_steps(cfg))  # fmt: skip
    table = space.latency_table(macro, device=device, batch_size=args.batch, threads=args.threads,
                                channels_last=args.channels_last, min_run_time=args.min_time, backend=args.backend)  # fmt: skip
    ops = {ct: list(v) for ct, v in space_ops(cfg).items()}
    if args.pieces_csv or args.import_csv:
        return _elsewhere(args, table, ops, preset, overrides)
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
        "op_sets": {ct: getattr(cfg.space, f"{ct}_ops", None) or ops[ct] for ct in ops},
        "rounds": args.rounds,
        "min_time_s": args.min_time,
        "seconds": round(seconds, 1),
    }
    print(f"{len(table.pieces)} pieces measured in {seconds:.0f} s", flush=True)
    c = None
    if args.calibrate or args.check:  # timed together: see objectives.latency_check
        c = calibrate_and_check(
            table, ops, args.calibrate, args.check, args.check_time, cfg.seed, space
        )
    if args.calibrate:
        cal = table.calibration
        sign = "-" if cal["offset_ms"] < 0 else "+"
        print(f"calibrated on {args.calibrate} networks timed whole: latency = {cal['scale']:.3f} x "
              f"sum of pieces {sign} {abs(cal['offset_ms']):.3f} ms (in-sample fit: {cal['fit_within_10pct']:.0%} "
              "of them within 10 %; the check below is on other networks)", flush=True)  # fmt: skip
    if c is not None:  # other networks than the calibration's (another seed)
        table.info["check"] = c
        pred = [net["predicted_ms"] for net in c["networks"]]
        meas = [net["measured_ms"] for net in c["networks"]]
        rho, again, by_flops = (
            "-" if c[k] is None else f"{c[k]:.2f}"
            for k in ("rank_correlation", "repeat_rank_correlation", "flops_rank_correlation")
        )
        print(f"check on {args.check} other random networks: predicted {min(pred):.2f}-{max(pred):.2f} ms, "
              f"measured {min(meas):.2f}-{max(meas):.2f} ms; {c['within_10pct']:.0%} within 10 %, "
              f"predicted/measured median {c['median_predicted_over_measured']:.2f}, worst "
              f"{c['worst_predicted_over_measured']:.2f}; rank correlation {rho} (FLOPs': "
              f"{by_flops}; the even rounds' against the odd rounds': {again}, and {c['repeat_within_10pct']:.0%} "
              f"of the networks' two half measurements agree within 10 %; without the drift correction "
              f"{c['uncorrected_within_10pct']:.0%} within 10 %)")  # fmt: skip
        if args.check_json:
            write_json_atomic(args.check_json, c)
            print(f"wrote {args.check_json}")
    out = Path(args.out)
    if out.parent != Path():
        out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, table.to_dict())
    print(f"wrote {out}")
    spread = _random_latencies(space, table, ops, macro, cfg.seed)
    ref = "P"
    if spread:
        low, ref, high = (_plain(v) for v in (spread[0], spread[len(spread) // 2], spread[-1]))
        print(f"predicted latency of {len(spread)} random networks of the space: {low} / {ref} / "
              f"{high} ms (min / median / max); a budget P in that range binds")  # fmt: skip
    print(f"use it (P = the median): tndnas search ... --set reward.latency_table={out} "
          f"--set 'stages.*.costs.0.cost=latency_ms' --set 'stages.*.costs.0.ref={ref}'")  # fmt: skip
    return 0


def _plain(v: float) -> str:
    """Three significant digits, written as a number a config reads (no exponent below 1e6)."""
    return f"{float(f'{v:.3g}'):g}"


def _random_latencies(space, table, ops: dict, macro, seed: int, n: int = 200) -> list[float]:
    """The table's predicted latency (ms) of ``n`` random networks of the space, sorted."""
    from ..measure.latency import LatencyTableError
    from ..spaces.base import GenotypeError

    try:
        genotypes = space.random_genotypes(ops, macro, n, seed=seed)
    except LatencyTableError:  # a space that draws no random architectures: no spread to show
        return []
    values = []
    for g in genotypes:
        try:
            values.append(float(table.latency_ms(g)))
        except GenotypeError:  # a cell with no live node has no network
            continue
    return sorted(values)


def _elsewhere(args: argparse.Namespace, table, ops: dict, preset, overrides: list[str]) -> int:
    """``--pieces-csv``: the pieces to measure on another device; ``--import-csv``: the table
    made of their measurements.  Nothing is timed here."""
    from ..measure.latency_import import read_pieces_csv, required_pieces, write_pieces_csv
    from ..runtime import write_json_atomic

    needed = required_pieces(table, ops)
    m = table.macro
    if args.pieces_csv:
        write_pieces_csv(args.pieces_csv, needed)
        print(f"wrote {args.pieces_csv}: {len(needed)} pieces of the {table.space} target network of "
              f"{m.channels} channels x {m.layers} layers at batch {table.batch_size}; fill in latency_ms "
              f"on the device, then: tndnas latency-table ... --import-csv {args.pieces_csv} --out TABLE.json")  # fmt: skip
        return 0
    fresh = type(table)(m, batch_size=table.batch_size, backend="torch")
    fresh.pieces = {k: (v,) for k, v in read_pieces_csv(args.import_csv, needed).items()}
    fresh.source = str(args.import_csv)  # a lookup table: a piece it lacks is an error
    fresh.info = {
        "imported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "from_csv": str(args.import_csv),
        "device_name": args.device_name or "unknown (measured elsewhere)",
        "preset": preset if not args.config else None,
        "config": args.config,
        "overrides": overrides,
    }
    write_json_atomic(args.out, fresh.to_dict())
    print(f"wrote {args.out} from {len(needed)} pieces measured on {fresh.info['device_name']}; use it: "
          f"tndnas search ... --set reward.latency_table={args.out}")  # fmt: skip
    return 0
