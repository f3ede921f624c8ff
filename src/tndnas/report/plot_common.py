"""What the plots of a search run share: op colours and order, reading the records and alpha
snapshots, figure helpers and stage markers."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..ops import UnknownOpError, op_spec

DPI = 120
X_UPDATES = "alpha update (counted across stages)"
STAGE_LINE = {"color": "0.35", "linestyle": "--", "linewidth": 1.0, "zorder": 1}

_EXTRA_PALETTE = ("#e7ba52", "#ce6dbd", "#de9ed6", "#843c39", "#637939", "#17becf", "#bcbd22")


def op_colour(name: str) -> str:
    """The colour of an op in every plot: the one it was registered with, else a stable one
    derived from its name."""
    try:
        colour = op_spec(name).colour
    except UnknownOpError:  # a run's op that this process has not registered
        colour = None
    return colour or _EXTRA_PALETTE[sum(map(ord, name)) % len(_EXTRA_PALETTE)]


def _op_sort_key(name: str) -> tuple[int, str]:
    """Legends in registration order (none first), unregistered ops last."""
    try:
        return (op_spec(name).order, name)
    except UnknownOpError:
        return (10**6, name)


# --------------------------------------------------------------------------- data


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _int(v: Any, default: int = 0) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _dedupe(records: list[dict], key_field: str) -> list[dict]:
    """Records sorted by (stage, ``key_field``), the last one kept for a repeated key (a resumed
    run whose log was not truncated); records without ``key_field`` keep their file order."""
    keyed: dict[tuple[int, int], dict] = {}
    for i, r in enumerate(records):
        k = r.get(key_field)
        keyed[(_int(r.get("stage")), _int(k, i) if k is not None else i)] = r
    return [keyed[k] for k in sorted(keyed)]


def _column(records: list[dict], field: str) -> np.ndarray:
    return np.array([_num(r.get(field)) for r in records], dtype=float)


def _pct(values: np.ndarray) -> np.ndarray:
    """Accuracies in percent (values recorded as fractions 0..1 are scaled)."""
    finite = values[np.isfinite(values)]
    if finite.size and np.max(np.abs(finite)) <= 1.0 + 1e-9:
        return values * 100.0
    return values


def _headroom(values: np.ndarray) -> float:
    """Upper y limit leaving room above the data for the legend and stage labels."""
    top = float(np.nanmax(values))
    return 1.15 * top if top > 0 else 1.0


def _has(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


def load_alpha_snapshots(alpha_dir: str | Path) -> list[dict]:
    """The alpha files of a run, sorted by (stage, epoch); unreadable files are skipped."""
    alpha_dir = Path(alpha_dir)
    if not alpha_dir.is_dir():
        return []
    snaps = []
    for path in alpha_dir.glob("stage*_epoch*.json"):
        m = re.fullmatch(r"stage(\d+)_epoch(\d+)\.json", path.name)
        if not m:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            warnings.warn(f"{path}: unreadable alpha file skipped ({err})", stacklevel=2)
            continue
        if not isinstance(data, dict):
            continue
        snap = {
            "stage": _int(data.get("stage"), int(m.group(1))),
            "epoch": _int(data.get("epoch"), int(m.group(2))),
            "path": path,
        }
        for ct, cell in data.items():  # one entry per cell type of the run's space
            if ct in ("stage", "epoch") or not isinstance(cell, dict):
                continue
            try:
                alpha = np.array(cell["alpha"], dtype=float)
                ops = [[str(o) for o in row] for row in cell["ops"]]
            except (KeyError, TypeError, ValueError):
                warnings.warn(f"{path}: malformed '{ct}' entry skipped", stacklevel=2)
                continue
            if alpha.ndim != 2 or len(ops) != alpha.shape[0]:
                warnings.warn(f"{path}: '{ct}' alpha and ops disagree in shape", stacklevel=2)
                continue
            if any(len(row) != alpha.shape[1] for row in ops):
                warnings.warn(f"{path}: '{ct}' ops per edge differ from alpha width", stacklevel=2)
                continue
            snap[ct] = {"alpha": alpha, "ops": ops}
        snaps.append(snap)
    snaps.sort(key=lambda s: (s["stage"], s["epoch"]))
    return snaps


def softmax_rows(alpha: np.ndarray) -> np.ndarray:
    a = np.asarray(alpha, dtype=float)
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def edge_labels(n_edges: int) -> list[str]:
    """'i->j' labels of the supernet edges, in the supernet's edge order, for cells whose node
    j >= 2 reads every earlier node (the DARTS cells); 'edge e' for any other edge count."""
    steps = 1
    while steps * (steps + 3) // 2 < n_edges:
        steps += 1
    if steps * (steps + 3) // 2 == n_edges:
        return [f"{i}->{j}" for j in range(2, steps + 2) for i in range(j)]
    return [f"edge {e}" for e in range(n_edges)]


# --------------------------------------------------------------------------- helpers


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, facecolor="white")
    return path


def _mark_stages(ax, x: np.ndarray, stages: list[int], *, boundaries_at_edges: bool = False):
    """Dashed vertical lines between stages, stage names along the top of ``ax``."""
    n = len(stages)
    if n == 0:
        return
    cuts = [i for i in range(1, n) if stages[i] != stages[i - 1]]
    for i in cuts:
        ax.axvline(x[i] - 0.5 if boundaries_at_edges else (x[i - 1] + x[i]) / 2, **STAGE_LINE)
    starts, ends = [0, *cuts], [*cuts, n]
    centres = [(x[s] + x[e - 1]) / 2 for s, e in zip(starts, ends)]
    top = ax.secondary_xaxis("top")
    top.set_xticks(centres, labels=[f"stage {stages[s]}" for s in starts])
    top.tick_params(length=0, labelsize=9)


def _x_axis_alpha(records: list[dict]) -> tuple[np.ndarray, list[int]]:
    return np.arange(len(records), dtype=float), [_int(r.get("stage")) for r in records]
