"""The plot of a sweep's Pareto front: :func:`plot_front` draws a scatter of rows (one per
architecture) with the non-dominated ones (:func:`tndnas.pareto.pareto_front`) joined by a
step line.  Plots use
matplotlib ``Figure`` objects directly (Agg canvas, no pyplot global state), like
:mod:`tndnas.report.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..pareto import pareto_front, valid_point

DPI = 120
FRONT_STYLE = {"color": "C3", "lw": 1.6, "zorder": 2}


def _front_steps(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """The front's points sorted by x (ties by y), duplicates removed, for a ``where='post'``
    step line: with x minimized, the dominated region lies to the right of each step."""
    pts = sorted(set(zip(xs, ys)))
    return [p[0] for p in pts], [p[1] for p in pts]


def _label(value: Any, name: str) -> str:
    if isinstance(value, float):
        return f"{name}={value:g}"
    return f"{name}={value}"


def plot_front(
    rows: Sequence[dict[str, Any]],
    x_key: str,
    y_key: str,
    path: str | Path,
    *,
    minimize: tuple[bool, bool] = (True, False),
    x_scale: float = 1.0,
    y_scale: float = 1.0,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    label_key: str | None = "beta",
    label_name: str = "\N{GREEK SMALL LETTER BETA}",
    logx: bool | None = None,
) -> Path | None:
    """Scatter ``rows[x_key] * x_scale`` against ``rows[y_key] * y_scale``, label every point
    by ``rows[label_key]``, and draw the Pareto front (under ``minimize``) as a step line.

    Rows lacking either value are left out.  ``logx=None`` picks a log x-axis when the values
    span more than a factor of 10.  Returns ``path``, or None when no row has both values.
    """
    pts = [
        (float(r[x_key]) * x_scale, float(r[y_key]) * y_scale, r)
        for r in rows
        if valid_point((r.get(x_key), r.get(y_key)))
    ]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    front = pareto_front(list(zip(xs, ys)), minimize)
    fig = Figure(figsize=(7.0, 5.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    off = [(x, y) for (x, y), f in zip(zip(xs, ys), front) if not f]
    on = [(x, y) for (x, y), f in zip(zip(xs, ys), front) if f]
    if off:
        ax.scatter(*zip(*off), s=36, color="0.55", zorder=3, label="dominated")
    fx, fy = _front_steps([p[0] for p in on], [p[1] for p in on])
    ax.step(fx, fy, where="post", **FRONT_STYLE)
    ax.scatter(fx, fy, s=48, color="C3", edgecolor="black", zorder=4, label="Pareto front")
    if label_key is not None:
        for x, y, r in pts:
            if r.get(label_key) is not None:
                ax.annotate(
                    _label(r[label_key], label_name),
                    (x, y),
                    textcoords="offset points",
                    xytext=(5, 5),
                    fontsize=8,
                )
    positive = min(xs) > 0
    if logx is None:
        logx = positive and max(xs) / min(xs) > 10
    if logx and positive:
        ax.set_xscale("log")
    ax.margins(0.12)
    ax.set_xlabel(xlabel or x_key)
    ax.set_ylabel(ylabel or y_key)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="best", fontsize=9)
    path = Path(path)
    fig.savefig(path, dpi=DPI, facecolor="white")
    return path
