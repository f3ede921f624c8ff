"""Reporting: the metrics log of a search run and the plots of a run directory (a space draws
its own cells: ``SearchSpace.draw``).

``MetricsLog`` and ``read_metrics`` import nothing heavy; ``plot_run`` loads matplotlib on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .metrics import METRICS_FILE, MetricsLog, read_metrics

if TYPE_CHECKING:
    from .plots import plot_run

__all__ = ["METRICS_FILE", "MetricsLog", "plot_run", "read_metrics"]


def __getattr__(name: str) -> Any:
    if name == "plot_run":
        from .plots import plot_run

        return plot_run
    raise AttributeError(f"module 'tndnas.report' has no attribute '{name}'")
