"""Pareto fronts: which architectures no other one beats on every objective, and the
hypervolume a two-objective front dominates.

:func:`pareto_front` marks the non-dominated points of any number of objectives (a sweep's
rows); :func:`front` and :func:`hypervolume` are the two-objective (accuracy up, cost down)
front and its area, as ``tndnas bench-tabular`` scores a method.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def valid_point(point: Sequence[Any]) -> bool:
    """True when every coordinate is a finite number."""
    return all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in point
    )


def _dominates(a: Sequence[float], b: Sequence[float], minimize: Sequence[bool]) -> bool:
    """``a`` is at least as good as ``b`` everywhere and strictly better somewhere."""
    better = False
    for x, y, lo in zip(a, b, minimize):
        if (x > y) if lo else (x < y):
            return False
        if x != y:
            better = True
    return better


def pareto_front(
    points: Sequence[Sequence[float]], minimize: Sequence[bool] = (True, False)
) -> list[bool]:
    """For each point, whether it is non-dominated (on the Pareto front).

    ``minimize[d]`` says whether smaller is better on coordinate ``d`` (default: minimize the
    first, e.g. parameters, and maximize the second, e.g. accuracy).  A point is dominated when
    another one is at least as good on every coordinate and strictly better on one; so equal
    (duplicate) points never dominate each other and are on the front together.  Points with a
    missing or non-finite coordinate (``None``, NaN) are never on the front and dominate nothing.
    """
    minimize = tuple(minimize)
    for p in points:
        if len(p) != len(minimize):
            raise ValueError(
                f"point {tuple(p)} has {len(p)} coordinates; minimize has {len(minimize)}"
            )
    valid = [valid_point(p) for p in points]
    return [
        ok
        and not any(valid[j] and _dominates(q, p, minimize) for j, q in enumerate(points) if j != i)
        for i, (p, ok) in enumerate(zip(points, valid))
    ]


def front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The non-dominated ``(accuracy, cost)`` points (higher accuracy, lower cost), by cost."""
    best: list[tuple[float, float]] = []
    for acc, cost in sorted(set(points), key=lambda p: (p[1], -p[0])):
        if not best or acc > best[-1][0]:
            best.append((acc, cost))
    return best


def hypervolume(points: Iterable[tuple[float, float]], ref: tuple[float, float]) -> float:
    """The area dominated by ``points`` within the box from ``ref = (accuracy_ref, cost_ref)``:
    accuracy above ``accuracy_ref``, cost below ``cost_ref`` (points outside add nothing)."""
    acc_ref, cost_ref = ref
    area, prev_acc = 0.0, acc_ref
    for acc, cost in front(p for p in points if p[0] > acc_ref and p[1] < cost_ref):
        # sorted by cost: each point adds the strip from its cost to the reference cost
        area += (acc - prev_acc) * (cost_ref - cost)
        prev_acc = acc
    return area


def hypervolume_nd(
    points: Iterable[Sequence[float]], ref: Sequence[float], maximize: Sequence[bool]
) -> float:
    """The hypervolume that ``points`` dominate within the box from ``ref``, in any number of
    objectives (``maximize[d]``: whether larger is better on objective ``d``), computed by
    pymoo's exact indicator (``pip install 'tndnas[bench]'``); points outside the box add
    nothing. In two objectives it equals :func:`hypervolume`."""
    try:
        import numpy as np
        from pymoo.indicators.hv import HV
    except ImportError:
        from .errors import TndnasError

        raise TndnasError(
            "hypervolumes of more than two objectives need pymoo, which is not installed; run "
            "pip install 'tndnas[bench]' (or pip install pymoo)."
        ) from None
    sign = np.array([-1.0 if up else 1.0 for up in maximize])
    pts = np.array([list(p) for p in points], dtype=float).reshape(-1, len(sign)) * sign
    box = np.array(ref, dtype=float) * sign
    pts = pts[(pts < box).all(axis=1)]
    return float(HV(ref_point=box)(pts)) if len(pts) else 0.0
