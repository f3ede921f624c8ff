"""A tabular search space: every NAS-Bench-201 cell with its table accuracy and its costs, looked
up instead of trained, so a search method can be run thousands of times and scored exactly."""

from __future__ import annotations

import itertools
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from ..spaces.nb201 import NB201_OPS, PUBLISHED_CIFAR10, Nb201CostTable, Nb201Genotype
from ..spaces.nb201.table import ARCH_COLUMN, Nb201TableError, read_nb201_table

#: Costs computed from the cell, on the published CIFAR-10 network (16 channels, N = 5, 32x32).
CELL_COSTS = {"params": "M params", "flops": "MFLOPs"}

Cell = tuple[int, ...]  # the op index (into NB201_OPS) of each of the 6 edges


@dataclass
class TabularSpace:
    """Accuracy (in %, of ``objective``) and costs of every cell, by op-index tuple."""

    objective: str
    accuracy: dict[Cell, float]
    costs: dict[str, dict[Cell, float]] = field(default_factory=dict)

    @property
    def cells(self) -> list[Cell]:
        return list(self.accuracy)

    def random_cell(self, rng: random.Random) -> Cell:
        return tuple(rng.randrange(len(NB201_OPS)) for _ in range(6))

    def best(self) -> float:
        return max(self.accuracy.values())


def _cell_costs(name: str) -> dict[Cell, float]:
    table = Nb201CostTable(PUBLISHED_CIFAR10)
    out = {}
    for cell in itertools.product(range(len(NB201_OPS)), repeat=6):
        cost = table.cost(Nb201Genotype(tuple(NB201_OPS[i] for i in cell)))
        out[cell] = (cost.params if name == "params" else cost.flops) / 1e6
    return out


def load_tabular_space(
    table: str | os.PathLike,
    objective: str,
    costs: list[str] = (),
    arch_column: str = ARCH_COLUMN,
) -> TabularSpace:
    """The space of a results CSV: ``objective`` names its accuracy column; each cost is
    ``params`` or ``flops`` (computed from the cell), a numeric column of the same table, or
    ``FILE.csv:COLUMN`` (a column of another CSV keyed by the same cell-string column); ``A+B``
    loads both (a three-objective front)."""
    t = read_nb201_table(table, arch_column)
    if objective not in t.columns:
        raise Nb201TableError(
            f"results table {table} has no numeric column '{objective}' for --objective; its "
            f"columns: {', '.join(t.columns)}"
        )
    to_idx = {ops: tuple(NB201_OPS.index(o) for o in ops) for ops in t.index}
    accuracy = {to_idx[ops]: t.columns[objective][row] for ops, row in t.index.items()}
    space = TabularSpace(objective, accuracy)
    # "A+B": a front of two costs at once (Eq. 10); its parts are costs of their own
    parts = list(dict.fromkeys(part for name in costs for part in name.split("+")))
    for name in parts:
        if name in CELL_COSTS:
            space.costs[name] = _cell_costs(name)
            continue
        source, column = name.rsplit(":", 1) if ":" in name else (str(table), name)
        other = t if Path(source) == Path(table) else read_nb201_table(source, arch_column)
        if column not in other.columns:
            raise Nb201TableError(
                f"--cost {name}: {source} has no numeric column '{column}'; use params, flops, "
                f"a column of the table ({', '.join(t.columns)}) or FILE.csv:COLUMN"
            )
        space.costs[name] = {
            to_idx.get(ops) or tuple(NB201_OPS.index(o) for o in ops): other.columns[column][row]
            for ops, row in other.index.items()
        }
        bad = [c for c, v in space.costs[name].items() if not (math.isfinite(v) and v > 0)]
        if bad:
            raise Nb201TableError(f"--cost {name}: costs must be positive numbers")
    return space
