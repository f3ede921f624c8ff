"""Reporting: the metrics log of a search run, plots of a run directory, cell diagrams.

``MetricsLog`` and ``read_metrics`` import nothing heavy; ``plot_run`` and ``draw_cell``
load matplotlib on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .metrics import METRICS_FILE, MetricsLog, read_metrics

if TYPE_CHECKING:
    from .cell_diagram import draw_cell
    from .plots import plot_run

__all__ = ["METRICS_FILE", "MetricsLog", "draw_cell", "plot_run", "read_metrics"]


def __getattr__(name: str) -> Any:
    if name == "plot_run":
        from .plots import plot_run

        return plot_run
    if name == "draw_cell":
        from .cell_diagram import draw_cell

        return draw_cell
    raise AttributeError(f"module 'tndnas.report' has no attribute '{name}'")
