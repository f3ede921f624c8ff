"""How well a latency table predicts: random networks timed end to end against its lookups.

The figures are the ones a user budgets with: the share of networks whose prediction lies
within 10 % of their measured latency, the median and the worst predicted/measured ratio,
and the rank correlation (does the table order networks as the device does?), next to the
FLOPs' rank correlation and that of a second measurement (how much the machine's own noise
reorders them).

Networks are timed whole in one interleaved session (:func:`time_networks`): the calibration's
networks and the check's together, each running in turn, round after round, next to a fixed
reference workload that tracks the machine's speed.  A shared machine's speed drifts by tens
of percent within seconds and minutes; timed one after another (first the calibration, then
the check), the two sets of networks would see different machines, and the check would
measure the drift rather than the table."""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..measure.latency import LatencyTable, rank_correlation

if TYPE_CHECKING:  # the spaces import the objectives
    from ..spaces import SearchSpace

WITHIN = 0.10  # "within 10 %": |predicted / measured - 1| <= 0.10
#: rounds in which every network timed whole runs once (one block of runs), in a new order
NETWORK_ROUNDS = 10
#: seconds of the reference workload timed between two network blocks
REFERENCE_BLOCK_S = 0.01


@dataclass
class Timing:
    """Networks timed whole (:func:`time_networks`), ms per run, a row per round.

    ``uncorrected``: as measured.  ``rounds``: each block scaled by the machine's speed at
    that moment -- the reference workload's time around it, relative to its median over the
    session (``reference_ms``) -- so that a slow second of the machine does not count as a
    slow network."""

    rounds: list[list[float]]
    uncorrected: list[list[float]]
    reference_ms: float

    def measured_ms(self) -> list[float]:
        """Each network's measured latency: the median of its corrected times over the rounds."""
        return [statistics.median(t) for t in zip(*self.rounds, strict=True)]

    def select(self, indices: Sequence[int]) -> Timing:
        """The timing of some of the networks."""

        def pick(rows: list[list[float]]) -> list[list[float]]:
            return [[row[i] for i in indices] for row in rows]

        return Timing(pick(self.rounds), pick(self.uncorrected), self.reference_ms)


def time_networks(
    table: LatencyTable,
    genotypes: Sequence,
    seconds: float,
    rounds: int = NETWORK_ROUNDS,
    seed: int = 0,
) -> Timing:
    """Each network built once, then timed end to end in ``rounds`` rounds: in every round each
    network runs one block of about ``seconds / rounds`` (at least one run), the networks in a
    new random order, and before and after every block the reference workload
    (``table.reference_runner()``) runs for :data:`REFERENCE_BLOCK_S` (or a block, if shorter).

    Interleaved, every network sees the same mix of the machine's states, and the median over
    rounds compares them fairly; the reference corrects what is left (see :class:`Timing`)."""
    runs = [table.network_runner(g) for g in genotypes]
    block_s = seconds / rounds
    reference = table.reference_runner()
    ref_s = min(REFERENCE_BLOCK_S, block_s)  # never longer than a network's block
    ref_size = max(1, int(ref_s * 1e3 / max(table.time_block(reference, 1), 1e-6)))
    sizes = [max(1, int(block_s * 1e3 / max(table.time_block(run, 1), 1e-6))) for run in runs]
    rng = random.Random(seed)
    raw, speed = [], []  # ms per run; the reference's ms around each block
    before = table.time_block(reference, ref_size)
    for _ in range(rounds):
        order = list(range(len(runs)))
        rng.shuffle(order)
        row, ref_row = [0.0] * len(runs), [0.0] * len(runs)
        for i in order:
            row[i] = table.time_block(runs[i], sizes[i])
            after = table.time_block(reference, ref_size)
            ref_row[i], before = (before + after) / 2, after
        raw.append(row)
        speed.append(ref_row)
    reference_ms = statistics.median(v for r in speed for v in r)
    corrected = [
        [t * reference_ms / s if s > 0 else t for t, s in zip(row, ref_row, strict=True)]
        for row, ref_row in zip(raw, speed, strict=True)
    ]
    return Timing(corrected, raw, reference_ms)


def _within(predicted: Sequence[float], measured: Sequence[float]) -> float:
    return sum(abs(p / m - 1) <= WITHIN for p, m in zip(predicted, measured, strict=True)) / len(
        measured
    )


def summarize(predicted: Sequence[float], timing: Timing) -> dict:
    """The figures of a check from predictions and the networks' :class:`Timing`: a network's
    measured latency is the median of its corrected times over the rounds; "two measurements"
    are the medians of the even and of the odd rounds; the uncorrected medians are given
    beside."""
    per_net = list(zip(*timing.rounds, strict=True))
    measured = timing.measured_ms()
    uncorrected = [statistics.median(t) for t in zip(*timing.uncorrected, strict=True)]
    ratios = [p / m for p, m in zip(predicted, measured, strict=True)]
    many = len(predicted) > 1
    halves = None
    if len(timing.rounds) > 1:
        halves = [[statistics.median(t[h::2]) for t in per_net] for h in (0, 1)]
    return {
        "networks": [
            {"predicted_ms": p, "measured_ms": m, "uncorrected_ms": u, "rounds_ms": list(t)}
            for p, m, u, t in zip(predicted, measured, uncorrected, per_net, strict=True)
        ],
        "within_10pct": _within(predicted, measured),
        "rank_correlation": rank_correlation(list(predicted), measured) if many else None,
        "median_predicted_over_measured": statistics.median(ratios),
        "worst_predicted_over_measured": max(ratios, key=lambda r: abs(r - 1)),
        "repeat_rank_correlation": rank_correlation(*halves) if many and halves else None,
        # the machine's own ceiling: how often two measurements of a network agree within 10 %
        "repeat_within_10pct": _within(*halves) if halves else None,
        # the same against the medians without the reference's correction
        "uncorrected_within_10pct": _within(predicted, uncorrected),
        "uncorrected_rank_correlation": rank_correlation(list(predicted), uncorrected)
        if many
        else None,
        "rounds": len(timing.rounds),
        "reference_ms": timing.reference_ms,
    }


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


def calibrate_and_check(
    table: LatencyTable,
    ops: Mapping[str, Sequence[str]],
    calibrate: int,
    check: int,
    seconds: float,
    seed: int,
    space: SearchSpace | None = None,
) -> dict | None:
    """Time ``calibrate`` + ``check`` random networks of ``space`` (default darts) end to end
    in one session (:func:`time_networks`).  With ``calibrate``, set ``table.calibration`` to
    the fit of the first ones' latencies on the sums of their pieces (:func:`fit_calibration`):
    what running the pieces together adds (caches, memory traffic between cells, framework
    overhead) as one scale and one offset.  With ``check``, return the figures of the others
    (drawn with another seed) against the table's predictions (:func:`summarize`), with the
    FLOPs' rank correlation beside."""
    from ..spaces import get_space

    space = space or get_space("darts")
    fit_nets = space.random_genotypes(ops, table.macro, calibrate, seed=seed + 1)
    check_nets = space.random_genotypes(ops, table.macro, check, seed=seed)
    timing = time_networks(table, fit_nets + check_nets, seconds, seed=seed)
    if calibrate:
        fitting = timing.select(range(calibrate))
        sums = [table.pieces_ms(g) for g in fit_nets]
        table.calibration = {
            **fit_calibration(sums, fitting.measured_ms()),
            "networks": calibrate,
            "seed": seed + 1,
        }
        fitted = [table.latency_ms(g) for g in fit_nets]
        table.calibration["fit_within_10pct"] = summarize(fitted, fitting)["within_10pct"]
    if not check:
        return None
    predicted = [table.latency_ms(g) for g in check_nets]
    result = summarize(predicted, timing.select(range(calibrate, calibrate + check)))
    costs = space.cost_table(table.macro)
    flops = [costs.cost(g).flops for g in check_nets]
    for net, f in zip(result["networks"], flops, strict=True):
        net["flops"] = f
    measured = [net["measured_ms"] for net in result["networks"]]
    result["flops_rank_correlation"] = rank_correlation(flops, measured) if check > 1 else None
    result["seconds_per_network"] = seconds
    result["batch_size"] = table.batch_size
    result["backend"] = table.backend
    return result
