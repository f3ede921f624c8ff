"""Collecting a sweep: one result row per job, the Pareto fronts, ``pareto.{csv,json,png}``
and the text table."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..atomic_write import write_text_atomic
from ..objectives.costs import cost_label
from ..run_files import SearchRunFiles, SweepFiles, TrainRunFiles
from .plan import Failure, Job

#: The columns of ``pareto.csv`` around the costs: one column per cost of the run, named as the
#: cost and in its registered unit (params in M, flops in MFLOPs, latency_ms in ms, ...).
HEAD_COLUMNS = ("job", "beta", "ref")
TAIL_COLUMNS = ("arch_acc", "search_seconds", "test_error", "pareto", "pareto_test", "status")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def last_arch_acc(run_dir: Path) -> float | None:
    """The last logged ``arch_acc_argmax`` (fraction) of a search run (its last epoch), or None."""
    from ..report.metrics import read_metrics

    path = SearchRunFiles(run_dir).metrics
    if not path.exists():
        return None
    epochs = [r for r in read_metrics(path) if r.get("kind") == "epoch"]
    accs = [r.get("arch_acc_argmax") for r in epochs if r.get("arch_acc_argmax") is not None]
    return float(accs[-1]) if accs else None


def job_row(job: Job, failure: Failure | None) -> dict[str, Any]:
    """The result row of one job (None where a value is missing)."""
    summary = _read_json(SearchRunFiles(job.dir).summary) or {}
    train = _read_json(TrainRunFiles(SweepFiles.job_train(job.dir)).summary) or {}
    acc = summary.get("arch_acc_argmax")  # a family's member: the family's last epoch
    if acc is None and summary:
        acc = last_arch_acc(job.dir)
    test_error = train.get("test_error")
    return {
        "job": job.name,
        "beta": job.beta,
        "ref": job.ref,
        **summary_costs(summary),
        "arch_acc": None if acc is None else 100.0 * acc,
        "search_seconds": summary.get("seconds_total"),
        "test_error": None if test_error is None else float(test_error),
        "pareto": False,
        "pareto_test": None,
        "status": "ok" if failure is None else f"{failure.step} failed",
    }


def summary_costs(summary: dict) -> dict[str, float]:
    """The final architecture's costs of a search summary, each in its unit (``costs``; the
    ``params``/``flops``/``latency_ms`` keys of summaries written before it)."""
    if "costs" in summary:
        return dict(summary["costs"])
    old = {n: summary[n] / 1e6 for n in ("params", "flops") if summary.get(n) is not None}
    latency = summary.get("latency_ms")
    return {**old, **({"latency_ms": latency} if latency is not None else {})}


def swept_cost(jobs: list[Job]) -> str:
    """The cost on the fronts' x-axis: that of the last stage's first cost term (the term a
    sweep varies)."""
    return jobs[0].config.stages[-1].costs[0].cost if jobs else "params"


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns of the rows: job, beta, ref, every cost found, then the results."""
    fixed = {*HEAD_COLUMNS, *TAIL_COLUMNS}
    costs = dict.fromkeys(k for r in rows for k in r if k not in fixed)
    return [*HEAD_COLUMNS, *costs, *TAIL_COLUMNS]


def mark_fronts(rows: list[dict[str, Any]], x: str = "params") -> None:
    """Set ``pareto`` (``x`` vs arch_acc) and, when any row has a test error, ``pareto_test``
    (``x`` vs test_error) in place."""
    from ..pareto import pareto_front

    front = pareto_front([(r.get(x), r["arch_acc"]) for r in rows], (True, False))
    for r, f in zip(rows, front):
        r["pareto"] = f
    if any(r["test_error"] is not None for r in rows):
        front = pareto_front([(r.get(x), r["test_error"]) for r in rows], (True, True))
        for r, f in zip(rows, front):
            r["pareto_test"] = f


def write_table_files(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    """``pareto.csv`` (empty cells for missing values) and ``pareto.json`` (a list of rows)."""
    csv_path, json_path = SweepFiles(out).pareto_csv, SweepFiles(out).pareto_json
    with open(csv_path, "w", newline="") as f:
        names = columns(rows)
        w = csv.DictWriter(f, fieldnames=names)
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r[k] for k in names})
    write_text_atomic(json_path, json.dumps(rows, indent=1) + "\n")
    return [csv_path, json_path]


def network_words(jobs: list[Job]) -> str:
    """Which network the cost columns describe: the target network every search costed."""
    if not jobs:
        return "the evaluation network"
    t = jobs[0].config.target
    return f"the evaluation network, {t.channels} channels x {t.layers} cells"


def write_plots(
    rows: list[dict[str, Any]],
    out: Path,
    x: str = "params",
    network: str = "the evaluation network",
) -> list[Path]:
    """``pareto.png`` (arch-half accuracy vs the cost ``x``) and, with test errors,
    ``pareto_test.png``; ``network``: the words naming the network the costs belong to."""
    from ..report.pareto_plot import plot_front

    xlabel = f"{cost_label(x)} of {network}"
    what = "size" if x == "params" else x.replace("_ms", "")
    written = []
    p = plot_front(
        rows,
        x,
        "arch_acc",
        SweepFiles(out).pareto_png,
        xlabel=xlabel,
        ylabel="architecture-half accuracy, argmax architecture (%)",
        title=f"Sweep: accuracy in the supernet vs {what}",
    )
    written += [p] if p else []
    if p is None:  # no finished job: no stale plot from an earlier collection either
        SweepFiles(out).pareto_png.unlink(missing_ok=True)
    if any(r["test_error"] is not None for r in rows):
        p = plot_front(
            rows,
            x,
            "test_error",
            SweepFiles(out).pareto_test_png,
            minimize=(True, True),
            xlabel=xlabel,
            ylabel="test error (%)",
            title=f"Sweep: test error after training vs {what}",
        )
        written += [p] if p else []
    return written


def _cell(v: Any, fmt: str) -> str:
    if v is None:
        return "-"
    return format(v, fmt) if isinstance(v, (int, float)) else str(v)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A short text table of the rows; ``*`` marks the front (``*`` after the test error: the
    test-error front)."""
    costs = [c for c in columns(rows) if c not in (*HEAD_COLUMNS, *TAIL_COLUMNS)]
    head = ("job", "beta", "ref", *(cost_label(c) for c in costs), "arch_acc%", "test_err%",
            "search_s", "")  # fmt: skip
    body = []
    for r in rows:
        mark = "*" if r["pareto"] else ""
        test = _cell(r["test_error"], ".2f") + ("*" if r["pareto_test"] else "")
        body.append(
            (
                r["job"],
                _cell(r["beta"], "g"),
                _cell(r["ref"], "g"),
                *(_cell(r.get(c), ".4g") for c in costs),
                _cell(r["arch_acc"], ".2f"),
                test,
                _cell(r["search_seconds"], ".0f"),
                mark if r["status"] == "ok" else r["status"],
            )
        )
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths))
        ).rstrip()
        for line in [head, *body]
    ]
    return "\n".join(lines)


def collect(jobs: list[Job], failures: dict[str, Failure], out: Path) -> list[dict[str, Any]]:
    """Rows of every job, their Pareto flags (over the swept cost), and the files
    ``pareto.{csv,json,png}``."""
    rows = [job_row(job, failures.get(job.name)) for job in jobs]
    x = swept_cost(jobs)
    mark_fronts(rows, x)
    write_table_files(rows, out)
    write_plots(rows, out, x, network_words(jobs))
    return rows
