"""Two-objective fronts (accuracy up, cost down) and their hypervolume."""

from __future__ import annotations

from collections.abc import Iterable


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
