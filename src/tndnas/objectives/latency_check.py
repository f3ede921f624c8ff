"""How well a latency table predicts: random networks timed end to end against its lookups.

The figures are the ones a user budgets with: the share of networks whose prediction lies
within 10 % of their measured latency, the median and the worst predicted/measured ratio,
and the rank correlation (does the table order networks as the device does?), next to the
FLOPs' rank correlation and that of a second measurement (how much the machine's own noise
reorders them)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .latency import LatencyTable, rank_correlation

if TYPE_CHECKING:  # the spaces import the objectives
    from ..spaces import SearchSpace

WITHIN = 0.10  # "within 10 %": |predicted / measured - 1| <= 0.10


def time_networks(
    table: LatencyTable, genotypes: Sequence, seconds: float, passes: int = 2
) -> list[list[float]]:
    """Each network built once, then timed end to end ``passes`` times (the passes one after
    another, so a drift of the machine's speed shows as a difference between them), ms."""
    timers = [table.network_timer(g) for g in genotypes]
    return [[timer(seconds) for timer in timers] for _ in range(passes)]


def summarize(predicted: Sequence[float], passes: Sequence[Sequence[float]]) -> dict:
    """The figures of a check from predictions and ``passes`` of measurements (ms)."""
    measured = [statistics.median(p) for p in zip(*passes, strict=True)]
    ratios = [p / m for p, m in zip(predicted, measured, strict=True)]
    many = len(predicted) > 1
    return {
        "networks": [
            {"predicted_ms": p, "measured_ms": m, "passes_ms": list(t)}
            for p, m, t in zip(predicted, measured, zip(*passes, strict=True), strict=True)
        ],
        "within_10pct": sum(abs(r - 1) <= WITHIN for r in ratios) / len(ratios),
        "rank_correlation": rank_correlation(list(predicted), measured) if many else None,
        "median_predicted_over_measured": statistics.median(ratios),
        "worst_predicted_over_measured": max(ratios, key=lambda r: abs(r - 1)),
        "repeat_rank_correlation": rank_correlation(*passes[:2])
        if many and len(passes) > 1
        else None,
        # the machine's own ceiling: how often two measurements of a network agree within 10 %
        "repeat_within_10pct": (
            sum(abs(a / b - 1) <= WITHIN for a, b in zip(passes[0], passes[1], strict=True))
            / len(ratios)
            if len(passes) > 1
            else None
        ),
    }


def check_table(
    table: LatencyTable,
    ops: Mapping[str, Sequence[str]],
    n: int,
    seconds: float,
    seed: int,
    space: SearchSpace | None = None,
) -> dict:
    """Time ``n`` random networks of ``space`` (default darts) end to end, twice, against the
    table's predictions (:func:`summarize`), with the FLOPs' rank correlation beside."""
    from ..spaces import get_space

    space = space or get_space("darts")
    genotypes = space.random_genotypes(ops, table.macro, n, seed=seed)
    predicted = [table.latency_ms(g) for g in genotypes]
    costs = space.cost_table(table.macro)
    flops = [costs.cost(g).flops for g in genotypes]
    result = summarize(predicted, time_networks(table, genotypes, seconds))
    for net, f in zip(result["networks"], flops, strict=True):
        net["flops"] = f
    measured = [net["measured_ms"] for net in result["networks"]]
    result["flops_rank_correlation"] = rank_correlation(flops, measured) if n > 1 else None
    result["seconds_per_network"] = seconds
    result["batch_size"] = table.batch_size
    result["backend"] = table.backend
    return result


def fit_calibration(sums: Sequence[float], measured: Sequence[float]) -> dict:
    """``scale`` and ``offset_ms`` of ``measured ~ scale * sum + offset_ms``, least squares on
    the relative error (what "within 10 %" counts); with fewer than 4 networks, or a fit that
    would not grow with the sum, the scale alone (the median ratio)."""
    import numpy as np

    s, m = np.asarray(sums, dtype=float), np.asarray(measured, dtype=float)
    scale, offset = float(np.median(m / s)), 0.0
    if len(s) >= 4:
        a = np.stack([s / m, 1.0 / m], axis=1)  # rows divided by m: relative residuals
        (k, b), *_ = np.linalg.lstsq(a, np.ones_like(m), rcond=None)
        if k > 0 and k * s.min() + b > 0:
            scale, offset = float(k), float(b)
    return {"scale": scale, "offset_ms": offset}


def calibrate(
    table: LatencyTable,
    ops: Mapping[str, Sequence[str]],
    n: int,
    seconds: float,
    seed: int,
    space: SearchSpace | None = None,
) -> dict:
    """Time ``n`` random networks (drawn with ``seed``: use another seed than the check's)
    end to end and set ``table.calibration`` to the fit of their latencies on the sums of their
    pieces (:func:`fit_calibration`): what running the pieces together adds (caches, memory
    traffic between cells, framework overhead) as one scale and one offset."""
    from ..spaces import get_space

    space = space or get_space("darts")
    genotypes = space.random_genotypes(ops, table.macro, n, seed=seed)
    sums = [table.pieces_ms(g) for g in genotypes]
    passes = time_networks(table, genotypes, seconds)
    measured = [statistics.median(p) for p in zip(*passes, strict=True)]
    table.calibration = {**fit_calibration(sums, measured), "networks": n, "seed": seed}
    fitted = [table.latency_ms(g) for g in genotypes]
    table.calibration["fit_within_10pct"] = summarize(fitted, passes)["within_10pct"]
    return table.calibration
