"""``tndnas nb201``: look a NAS-Bench-201 cell up in the benchmark's results table."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "nb201",
        help="look a NAS-Bench-201 cell up in the benchmark's results table",
        description="Print a NAS-Bench-201 cell's string, its benchmark index, its accuracies in "
        "the results table and their rank among all 15,625 cells, and the params and FLOPs of "
        "its published CIFAR-10 network (16 channels, 5 cells per stage, 32x32 inputs).",
    )
    p.add_argument(
        "genotype", help="a search run directory, a genotype JSON file, or a cell string"
    )
    p.add_argument("--table", required=True,
                   help="the benchmark's results CSV (e.g. nats_tss_test_acc_200ep.csv)")  # fmt: skip
    p.add_argument("--arch-column", default="ArchitectureString",
                   help="the table's cell-string column (default ArchitectureString)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run, reads_runs=("genotype",))


def lookup(genotype_spec: str, table_path: str, arch_column: str = "ArchitectureString") -> dict:
    """What ``tndnas nb201`` prints, as a dict."""
    from ..spaces import load_genotype
    from ..spaces.base import GenotypeError
    from ..spaces.nb201 import PUBLISHED_CIFAR10, Nb201CostTable, Nb201Genotype, parse_cell_string
    from ..spaces.nb201.table import read_nb201_table

    if genotype_spec.strip().startswith("|"):
        geno = Nb201Genotype(parse_cell_string(genotype_spec, "the cell string"))
    else:
        geno = load_genotype(genotype_spec)
    if not isinstance(geno, Nb201Genotype):
        raise GenotypeError(
            f"{genotype_spec} is a genotype of search space '{geno.space}', not of the "
            "NAS-Bench-201 space; search with --set space.name=nb201"
        )
    table = read_nb201_table(table_path, arch_column)
    cost = Nb201CostTable(PUBLISHED_CIFAR10).cost(geno)
    return {
        "cell": geno.cell_string(),
        "index": table.benchmark_index(geno.ops),  # None: the table cannot tell it
        "row": table.row(geno.ops) + 2,  # the line of the CSV file (its header is line 1)
        "cells_in_table": len(table.index),
        "accuracy": {c: v[table.row(geno.ops)] for c, v in table.columns.items()},
        "rank": {c: table.rank(c, geno.ops) for c in table.columns},
        "best": {c: table.best(c)[1] for c in table.columns},
        "network": {"channels": 16, "cells_per_stage": 5, "input": [1, 3, 32, 32], "classes": 10},
        "params": cost.params,
        "flops": cost.flops,
    }


def run(args: argparse.Namespace) -> int:
    res = lookup(args.genotype, args.table, args.arch_column)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"cell:  {res['cell']}")
    if res["index"] is None:
        print(f"index: unknown: the rows of {args.table} are not in benchmark order and it has "
              f"no index column (the cell is on line {res['row']} of the file)")  # fmt: skip
    else:
        print(f"index: {res['index']} of {res['cells_in_table']} ({args.table})")
    width = max(len(c) for c in res["accuracy"])
    for c, v in res["accuracy"].items():
        print(f"  {c:<{width}}  {v:8.3f}   rank {res['rank'][c]:>5} of {res['cells_in_table']}"
              f"   (best {res['best'][c]:.3f})")  # fmt: skip
    print(f"CIFAR-10 network (16 channels, 5 cells per stage): {res['params']:,} params, "
          f"{res['flops']:,} FLOPs ({res['flops'] // 2:,} multiply-adds) per 32x32 image")  # fmt: skip
    return 0
