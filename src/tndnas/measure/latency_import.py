"""Latency tables measured elsewhere: the list of pieces a target network needs (a CSV for
another device's own tools to fill in) and the import of that CSV as a latency table.

The CSV has one row per piece: ``piece`` (its name, as ``tndnas latency-table`` writes it),
``input_shape`` (batch x channels x height x width of the piece's input) and ``latency_ms``
(milliseconds of one inference forward of the piece on that input, on the device).  Other
columns are kept out of the table.  The import refuses a CSV that lacks a piece the network
needs or holds one it does not have (a table made for another network shape or op set)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .latency import LatencyTable, LatencyTableError

COLUMNS = ("piece", "input_shape", "latency_ms")


def required_pieces(
    table: LatencyTable, ops: Mapping[str, Sequence[str]]
) -> dict[str, tuple[int, ...]]:
    """Name -> input shape (batch of the table's ``batch_size``) of every piece that a network
    over ``ops`` can use; nothing is built or timed."""
    shapes: dict[str, tuple[int, ...]] = {}

    def record(key: str, build: Any, shape: tuple[int, ...]) -> tuple[float, ...]:
        shapes[key] = (table.batch_size, *shape[1:])
        return table.zero

    table.piece = record  # type: ignore[method-assign]  # this table only lists
    table.measure_space(ops)
    return dict(sorted(shapes.items()))


def write_pieces_csv(path: str | os.PathLike, shapes: Mapping[str, tuple[int, ...]]) -> None:
    """The CSV to fill in on the device: one row per piece, ``latency_ms`` empty."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for key, shape in shapes.items():
            w.writerow([key, "x".join(str(n) for n in shape), ""])


def read_pieces_csv(path: str | os.PathLike, needed: Mapping[str, Any]) -> dict[str, float]:
    """Piece name -> milliseconds from a filled-in CSV, checked against the ``needed`` pieces."""
    path = Path(path)
    fix = "write it from the list that tndnas latency-table --pieces-csv gives for this network"
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise LatencyTableError(f"latency CSV {path} does not exist; {fix}.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise LatencyTableError(f"latency CSV {path} cannot be read ({err}); {fix}.") from None
    if not rows or not {"piece", "latency_ms"} <= set(rows[0]):
        raise LatencyTableError(
            f"latency CSV {path} needs the columns 'piece' and 'latency_ms'; {fix}."
        )
    ms: dict[str, float] = {}
    for i, row in enumerate(rows, start=2):
        key, text = (row.get("piece") or "").strip(), (row.get("latency_ms") or "").strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise LatencyTableError(
                f"latency CSV {path}, line {i} ('{key}'): latency_ms {text!r} is not a finite, "
                "non-negative number of milliseconds; measure that piece and fill it in."
            )
        if key in ms:
            raise LatencyTableError(
                f"latency CSV {path} lists the piece '{key}' twice (line {i}); keep one row per piece."
            )
        ms[key] = value
    missing = [k for k in needed if k not in ms]
    extra = [k for k in ms if k not in needed]
    if extra:
        raise LatencyTableError(
            f"latency CSV {path} has {len(extra)} piece(s) this network does not have (first: "
            f"'{extra[0]}'): it was measured for another network shape or op set; {fix}."
        )
    if missing:
        raise LatencyTableError(
            f"latency CSV {path} lacks {len(missing)} piece(s) this network needs (first: "
            f"'{missing[0]}'); measure them and add their rows."
        )
    return ms
