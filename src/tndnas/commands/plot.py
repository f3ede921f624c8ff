"""``tndnas plot RUN_DIR``: redraw a search run's plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..run_files import SearchRunFiles


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="redraw the plots of a search run",
        description="Redraw the plots of a search run directory.",
    )
    p.add_argument("run_dir", help="a search run directory")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..report.plots import plot_run
    from ..runtime.records import read_run_info
    from ..search import RunDirError

    root = Path(args.run_dir)
    files = SearchRunFiles(root)
    if read_run_info(files.run_info).get("command") == "train":
        raise RunDirError(
            f"{root} is a train run; tndnas plot redraws search runs (a train run's learning "
            "curve is drawn into its plots/ when it finishes)."
        )
    if not files.metrics.exists():
        raise RunDirError(
            f"{root} holds no metrics.jsonl; pass the run directory written by `tndnas search`."
        )
    for path in plot_run(root):
        print(path)
    return 0
