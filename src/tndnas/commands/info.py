"""``tndnas info GENOTYPE``: cells, exact parameter counts and FLOPs of the evaluation network."""

from __future__ import annotations

import argparse
import json

from ..config import ConfigError
from ..data.shapes import KNOWN_SHAPES, dataset_shape
from ..macro import Macro
from ..measure.latency import LatencyTable, LatencyTableError
from ..spaces import load_genotype, read_latency_table, space_of
from ..spaces.base import Genotype


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show a genotype's cells, exact parameter count and FLOPs",
        description="Show a genotype's cells and the exact size of its evaluation network.",
    )
    p.add_argument(
        "genotype", help="genotype JSON file, search run directory, or bundled name (e.g. darts-v2)"
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="sets input channels, image size and classes (default: a search run's own data set, "
        "else cifar10)",
    )
    p.add_argument("--data-dir", default=None, help="dataset folder (only needed for imagefolder)")
    p.add_argument(
        "--channels",
        type=int,
        default=None,
        help="initial width C of the evaluation network (default: the network a search run's "
        "reward measured, else 36)",
    )
    p.add_argument("--layers", type=int, default=None,
                   help="number of cells (default: a search run's target network's, else 20)")  # fmt: skip
    p.add_argument(
        "--widths",
        default=None,
        help="comma-separated widths to compare, e.g. 16,24,36 (S/M/L scaling)",
    )
    p.add_argument("--latency-table", default=None, metavar="FILE",
                   help="also predict the inference latency from a table of tndnas latency-table "
                        "(for the width, depth and dataset it was measured for)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--costs", action="store_true",
                   help="GENOTYPE is a search preset or run directory: print its costs over random "
                        "networks of the space at the target size, and where each stage's P falls")  # fmt: skip
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="with --costs: override a key of the preset or run's config")  # fmt: skip
    p.set_defaults(run=run, reads_runs=("genotype",))  # their plug-ins are imported first


def describe(
    genotype_spec: str,
    geno: Genotype,
    dataset: str,
    data_dir: str | None,
    channels: int,
    layers: int,
    latency: LatencyTable | None = None,
) -> dict:
    """Cells, exact params and FLOPs of the evaluation network at one width and depth; with
    ``latency``, its predicted latency when the table was measured for that network (else None);
    ``geno``: the genotype ``genotype_spec`` names, loaded once by the caller."""
    in_ch, size, classes = dataset_shape(dataset, data_dir)
    macro = Macro(
        channels=channels,
        layers=layers,
        num_classes=classes,
        in_channels=in_ch,
        image_size=size,
        steps=geno.steps,
    )
    cost = space_of(geno).cost_table(macro, auxiliary=True).cost(geno)
    return {
        "genotype": str(genotype_spec),
        "dataset": dataset,
        "input_shape": [1, in_ch, size, size],
        "channels": channels,
        "layers": layers,
        "classes": classes,
        "params": cost.params,
        "params_with_auxiliary": cost.params_with_aux,
        "flops": cost.flops,
        "macs": cost.macs,
        "latency_ms": latency.latency_ms(geno) if latency and _fits(latency, geno, macro) else None,
        "cells": {ct: [list(e) for e in geno.live(ct)[0]] for ct in space_of(geno).cell_types},
    }


def _fits(table: LatencyTable, geno, macro: Macro) -> bool:  # noqa: ANN001 - a Genotype
    return table.space == getattr(geno, "space", "darts") and table.fits(macro)


def _table_mismatch(path: str, table: LatencyTable, geno) -> str:  # noqa: ANN001 - a Genotype
    """The sentence for a latency table made for none of the networks asked about."""
    m = table.macro
    shape = (m.in_channels, m.image_size, m.num_classes)
    named = [n for n, v in KNOWN_SHAPES.items() if v == shape]
    dataset = (
        f"--dataset {named[0]}"
        if named
        else (
            f"a dataset of {m.in_channels}x{m.image_size}x{m.image_size} images and {m.num_classes} classes"
        )
    )
    space = getattr(geno, "space", "darts")
    if table.space != space:
        return (f"the latency table {path} was measured for the search space '{table.space}', but the "
                f"genotype is of '{space}'; measure a table for its search space with tndnas latency-table.")  # fmt: skip
    if geno.steps != m.steps:
        return (f"the latency table {path} was measured for cells of {m.steps} steps, but the "
                f"genotype has {geno.steps}; measure a table for its search space with tndnas latency-table.")  # fmt: skip
    return (f"the latency table {path} was measured for {m.channels} channels x {m.layers} cells on "
            f"{m.in_channels}x{m.image_size}x{m.image_size} inputs with {m.num_classes} classes; pass "
            f"--channels {m.channels} (or include {m.channels} in --widths), --layers {m.layers} and {dataset}.")  # fmt: skip


def _searched_defaults(args: argparse.Namespace, geno: Genotype) -> str | None:
    """Fill the data set, width and depth left out with the network a search's reward measured
    (a search run or a genotype it wrote), else cifar10 at 36 x 20; the sentence saying so."""
    from ..train.target_size import searched_target

    target = searched_target(geno)
    said = None
    if target is not None and (args.dataset, args.channels, args.layers) == (None, None, None):
        said = (f"the network the search's reward measured: {target['channels']} channels x "
                f"{target['layers']} cells on {target.get('dataset') or 'cifar10'} (--dataset, "
                "--channels, --layers show another)")  # fmt: skip
    target = target or {}
    for key, fallback in (("dataset", "cifar10"), ("channels", 36), ("layers", 20)):
        if getattr(args, key) is None:
            setattr(args, key, target.get(key) or fallback)
    return said


def run(args: argparse.Namespace) -> int:
    if args.costs:
        from .cost_spread import print_cost_spread

        return print_cost_spread(args.genotype, args.data_dir, args.overrides)
    if args.overrides:
        raise ConfigError("--set is for --costs (a preset's or run's config); drop it.")
    geno = load_genotype(args.genotype)
    said = _searched_defaults(args, geno)
    from ..train.widths import parse_widths

    widths = parse_widths(args.widths) if args.widths else [args.channels]
    for flag, values, top in (
        ("--channels/--widths", widths, 4096),
        ("--layers", [args.layers], 1000),
    ):
        if any(v > top for v in values):  # the lower bounds: the macro's own one-line checks
            raise ConfigError(f"{flag} must be at most {top}, not {max(values)}.")
    table = read_latency_table(args.latency_table) if args.latency_table else None
    infos = [
        describe(args.genotype, geno, args.dataset, args.data_dir, w, args.layers, table)
        for w in widths
    ]
    if table is not None and all(i["latency_ms"] is None for i in infos):
        raise LatencyTableError(_table_mismatch(args.latency_table, table, geno))
    if args.json:
        print(json.dumps(infos if args.widths else infos[0], indent=1))
        return 0
    first = infos[0]
    print(f"genotype: {args.genotype}")
    print(geno.describe())
    print(
        f"input shape: {tuple(first['input_shape'])} ({args.dataset}, {first['classes']} classes)"
    )
    print("evaluation network (FLOPs = 2 x multiply-adds, one image, inference; MACs = FLOPs / 2)"
          + (f", {said}:" if said else ":"))  # fmt: skip
    lat = table is not None
    print(
        f"  {'width':>5} {'layers':>6} {'params (no aux head)':>21} {'params (with aux)':>18} {'FLOPs':>15} {'MACs':>15}"
        + (f" {'latency (ms)':>13}" if lat else "")
    )
    for i in infos:
        ms = "-" if i["latency_ms"] is None else f"{i['latency_ms']:.2f}"
        print(
            f"  {i['channels']:>5} {i['layers']:>6} {i['params']:>21,} {i['params_with_auxiliary']:>18,} "
            f"{i['flops']:>15,} {i['macs']:>15,}" + (f" {ms:>13}" if lat else "")
        )
    if lat:
        where = table.info.get("device_name") or table.info.get("device") or "its device"
        print(f"latency: predicted by {args.latency_table} (batch {table.batch_size}, measured on "
              f"{where}); '-': not the network it was measured for")  # fmt: skip
    return 0
