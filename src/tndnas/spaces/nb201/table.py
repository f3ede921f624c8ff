"""The NAS-Bench-201 results table: one row per cell of the space, its cell string and its
accuracies, read from a CSV the user passes (never bundled).

A cell's benchmark index is its ``index`` (or ``arch_index``) column where the table has one;
otherwise its row, but only when the rows are in benchmark order (the first row is the
benchmark's cell 0): a sorted or shuffled table without that column gives no index.

The table the project's examples use, ``nats_tss_test_acc_200ep.csv``, has the columns
``CIFAR10TestAccuracy200Epochs``, ``CIFAR100TestAccuracy200Epochs``,
``ImageNetTestAccuracy200Epochs`` (test accuracy in %, after 200 epochs) and
``ArchitectureString`` (the cell string)."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ...errors import TndnasError
from ..base import GenotypeError
from .genotype import NB201_OPS, parse_cell_string

#: Cells in the space: 5 ops on each of 6 edges.
NB201_CELLS = len(NB201_OPS) ** 6
#: The column holding the cell string in the published tables.
ARCH_COLUMN = "ArchitectureString"
#: Columns that hold a cell's benchmark index, where a table has one.
INDEX_COLUMNS = ("index", "arch_index", "ArchIndex")
#: The benchmark's cell 0: a table whose first row holds it is taken to be in benchmark order.
CELL_0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


class Nb201TableError(TndnasError, ValueError):
    """A results table that cannot be used; the message names the file, the problem and the fix."""


@dataclass
class Nb201Table:
    """Accuracy columns by name, one value per cell, and each cell's row index."""

    path: Path
    columns: dict[str, list[float]]
    index: dict[tuple[str, ...], int]  # the cell's ops -> its row in the file
    #: per row, the cell's benchmark index; None when the table cannot tell it
    benchmark_indices: list[int] | None = None

    def row(self, ops: tuple[str, ...]) -> int:
        return self.index[ops]

    def benchmark_index(self, ops: tuple[str, ...]) -> int | None:
        """The cell's index in NAS-Bench-201, or None when the table cannot tell it."""
        if self.benchmark_indices is None:
            return None
        return self.benchmark_indices[self.index[ops]]

    def rank(self, column: str, ops: tuple[str, ...]) -> int:
        """1 + the number of cells with a strictly higher value in ``column`` (1: the best)."""
        value = self.columns[column][self.index[ops]]
        return 1 + sum(v > value for v in self.columns[column])

    def best(self, column: str) -> tuple[int, float]:
        values = self.columns[column]
        i = max(range(len(values)), key=values.__getitem__)
        return i, values[i]


def read_nb201_table(
    path: str | os.PathLike, arch_column: str = ARCH_COLUMN, *, full: bool = True
) -> Nb201Table:
    """Read a results CSV: every column other than ``arch_column`` whose values are all numbers
    becomes an accuracy column.  ``full``: the table must hold each of the 15,625 cells once.
    Every problem is one :class:`Nb201TableError` sentence."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # a byte-order mark is no key
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise Nb201TableError(
            f"results table {path} does not exist; pass the NAS-Bench-201 CSV with --table"
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise Nb201TableError(f"results table {path} cannot be read ({err})") from None
    if not rows:
        raise Nb201TableError(f"results table {path} has no rows")
    header = list(rows[0])
    ragged = next((i for i, r in enumerate(rows) if None in r or None in r.values()), None)
    if ragged is not None:
        raise Nb201TableError(
            f"results table {path}: row {ragged + 2} has a different number of fields than the "
            "header; fix the file"
        )
    if arch_column not in header:
        raise Nb201TableError(
            f"results table {path} has no column '{arch_column}' (its columns: "
            f"{', '.join(header)}); name the cell-string column with --arch-column"
        )
    index: dict[tuple[str, ...], int] = {}
    for i, r in enumerate(rows):
        try:
            ops = parse_cell_string(r[arch_column], f"{path} row {i + 2}")
        except GenotypeError as err:
            raise Nb201TableError(str(err)) from None
        if ops in index:
            raise Nb201TableError(
                f"results table {path} lists the cell {r[arch_column]} twice (rows "
                f"{index[ops] + 2} and {i + 2}); use a table with one row per cell"
            )
        index[ops] = i
    indices = _benchmark_indices(rows, header, arch_column, path)
    columns = {}
    for name in header:
        if name == arch_column or name in INDEX_COLUMNS:
            continue
        values = [_number(r[name]) for r in rows]
        if all(v is not None for v in values):
            columns[name] = values
        elif sum(v is not None for v in values) > len(values) / 2:  # numbers, but not all
            bad = next(i for i, v in enumerate(values) if v is None)
            raise Nb201TableError(
                f"results table {path}: column '{name}', row {bad + 2} holds "
                f"{rows[bad][name]!r}, not a finite number; fix that row (or remove the column)"
            )
    if full and len(rows) != NB201_CELLS:
        raise Nb201TableError(
            f"results table {path} has {len(rows)} cells, but the NAS-Bench-201 space has "
            f"{NB201_CELLS}; pass the whole table"
        )
    if not columns:
        raise Nb201TableError(f"results table {path} has no column of numbers besides the cells")
    return Nb201Table(path, columns, index, indices)


def _benchmark_indices(
    rows: list[dict[str, str]], header: list[str], arch_column: str, path: Path
) -> list[int] | None:
    """Each row's benchmark index: its index column, else its row when the rows are in
    benchmark order (the first is cell 0), else None (a sorted or shuffled table)."""
    name = next((c for c in INDEX_COLUMNS if c in header), None)
    if name is not None:
        try:
            values = [int(r[name]) for r in rows]
        except ValueError:
            values = []
        if not values or len(set(values)) != len(values) or min(values) < 0:
            raise Nb201TableError(
                f"results table {path}: column '{name}' must hold each cell's benchmark index, "
                "a distinct whole number from 0, in every row; fix it or remove the column"
            )
        return values
    if parse_cell_string(rows[0][arch_column], "") == parse_cell_string(CELL_0, ""):
        return list(range(len(rows)))
    return None


def _number(text: str | None) -> float | None:
    try:
        v = float(text) if text is not None else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None
