"""Plots of a search run directory (PNG, written to ``<run_dir>/plots/``).

Reads what the search writes:

* ``metrics.jsonl`` (see :mod:`tndnas.report.metrics`), records by ``kind``:

  - ``"alpha"`` (one per alpha update): stage, epoch, step, update, reward_mean, reward_max,
    baseline, acc_max, acc_mean (0..1), params_mean (M), flops_mean (MFLOPs), entropy (nats),
    costs_mean (the reward's further costs by name, e.g. latency_ms) and every few updates
    argmax_acc (``cost_<name>.png`` plots each further cost);
  - ``"epoch"``: stage, epoch, train_loss, train_acc, arch_acc_supernet, arch_acc_argmax
    (null while pretraining), seconds, peak_memory_mb, lr;
  - ``"stage"``: stage, seconds, params_m, flops_m, genotype.

* ``alpha/stage{k}_epoch{e:03d}.json``: raw alpha (edges x K) and the op names on each edge,
  per cell type.
* ``genotype.json`` (or, for a run that has not finished, the last ``genotype_stage{k}.json``).

:func:`plot_run` draws every plot the data allows and skips the others; a plot that fails
is reported with a warning and never stops the rest.  Command line:
``python -m tndnas.report.plots RUN_DIR``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..run_files import SearchRunFiles
from ..space.genotype import CELL_TYPES, edge_pairs, genotype_from_dict, load_genotype
from .cell_diagram import draw_cell
from .metrics import read_metrics

DPI = 120
X_UPDATES = "alpha update (counted across stages)"
STAGE_LINE = {"color": "0.35", "linestyle": "--", "linewidth": 1.0, "zorder": 1}

# fixed colours for the registered ops, so a given op looks the same in every plot and run
_OP_ORDER = (
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "conv_1x1",
    "conv_3x3",
    "conv_3x1_1x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "avg_pool_3x3",
    "avg_pool_5x5",
)
_OP_PALETTE = (  # distinct hues; families (sep, dil, conv, max_pool) in related colours
    "#ff7f0e",  # skip_connect: orange
    "#1f77b4",  # sep_conv_3x3: blue
    "#17becf",  # sep_conv_5x5: cyan
    "#393b79",  # sep_conv_7x7: navy
    "#2ca02c",  # dil_conv_3x3: green
    "#bcbd22",  # dil_conv_5x5: olive
    "#9467bd",  # conv_1x1: purple
    "#e377c2",  # conv_3x3: pink
    "#8c564b",  # conv_3x1_1x3: brown
    "#d62728",  # max_pool_3x3: red
    "#ff9896",  # max_pool_5x5: light red
    "#67000d",  # max_pool_7x7: dark red
    "#ffd92f",  # avg_pool_3x3: yellow
    "#a6761d",  # avg_pool_5x5: ochre
)
_EXTRA_PALETTE = ("#e7ba52", "#ce6dbd", "#de9ed6", "#843c39", "#637939", "#17becf", "#bcbd22")


def op_colour(name: str) -> str:
    """The colour of an op in every plot: fixed for registered ops, stable for others."""
    if name == "none":
        return "#d9d9d9"
    if name in _OP_ORDER:
        return _OP_PALETTE[_OP_ORDER.index(name)]
    return _EXTRA_PALETTE[sum(map(ord, name)) % len(_EXTRA_PALETTE)]


def _op_sort_key(name: str) -> tuple[int, str]:
    if name == "none":
        return (-1, name)
    return (_OP_ORDER.index(name) if name in _OP_ORDER else len(_OP_ORDER), name)


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
        for ct in CELL_TYPES:
            cell = data.get(ct)
            if not isinstance(cell, dict):
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
    """'i->j' labels of the supernet edges, in the supernet's edge order."""
    steps = 1
    while steps * (steps + 3) // 2 < n_edges:
        steps += 1
    if steps * (steps + 3) // 2 == n_edges:
        return [f"{i}->{j}" for i, j in edge_pairs(steps)]
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


# --------------------------------------------------------------------------- metric plots


def plot_accuracy(alpha: list[dict], path: Path) -> Path | None:
    """Max and mean accuracy of the sampled architectures, and the argmax architecture's."""
    acc_max, acc_mean = _pct(_column(alpha, "acc_max")), _pct(_column(alpha, "acc_mean"))
    argmax = _pct(_column(alpha, "argmax_acc"))
    if not (_has(acc_max) or _has(acc_mean) or _has(argmax)):
        return None
    x, stages = _x_axis_alpha(alpha)
    fig = _figure(9, 4.8)
    ax = fig.add_subplot()
    if _has(acc_mean):
        ax.plot(x, acc_mean, color="C0", alpha=0.3, lw=0.9, label="mean of sampled archs")
    if _has(acc_max):
        ax.plot(x, acc_max, color="C0", lw=1.3, label="max of sampled archs")
    if _has(argmax):
        ok = np.isfinite(argmax)
        ax.plot(
            x[ok], argmax[ok], "o", color="C3", ms=4.5, mec="white", mew=0.5, label="argmax arch"
        )
    _mark_stages(ax, x, stages)
    ax.set_title("Accuracy of sampled architectures (architecture half)")
    ax.set_xlabel(X_UPDATES)
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    return _save(fig, path)


def plot_cost(alpha: list[dict], stages_done: list[dict], path: Path) -> Path | None:
    """Mean params and MFLOPs of the sampled architectures (their evaluation networks)."""
    params, flops = _column(alpha, "params_mean"), _column(alpha, "flops_mean")
    if not (_has(params) or _has(flops)):
        return None
    x, stages = _x_axis_alpha(alpha)
    fig = _figure(9, 4.8)
    ax = fig.add_subplot()
    handles = []
    # where each stage ends on the x axis, to place its derived architecture
    stage_end = {s: x[i] for i, s in enumerate(stages)}
    derived = [
        (stage_end[_int(r.get("stage"))], r)
        for r in stages_done
        if _int(r.get("stage")) in stage_end
    ]
    if _has(params):
        handles += ax.plot(x, params, color="C0", lw=1.3, label="params, sampled mean")
        pts = [
            (xx, _num(r.get("params_m")))
            for xx, r in derived
            if math.isfinite(_num(r.get("params_m")))
        ]
        if pts:
            handles += ax.plot(*zip(*pts), "*", color="C0", ms=11, mec="black", mew=0.6,
                               ls="none", label="params, derived arch")  # fmt: skip
        ax.set_ylabel("parameters (M)", color="C0")
        ax.tick_params(axis="y", colors="C0")
    if _has(flops):
        ax2 = ax.twinx() if _has(params) else ax
        handles += ax2.plot(x, flops, color="C1", lw=1.3, label="FLOPs, sampled mean")
        pts = [
            (xx, _num(r.get("flops_m")))
            for xx, r in derived
            if math.isfinite(_num(r.get("flops_m")))
        ]
        if pts:
            handles += ax2.plot(*zip(*pts), "*", color="C1", ms=11, mec="black", mew=0.6,
                                ls="none", label="FLOPs, derived arch")  # fmt: skip
        ax2.set_ylabel("FLOPs (M)", color="C1")
        ax2.tick_params(axis="y", colors="C1")
    _mark_stages(ax, x, stages)
    ax.set_title("Cost of sampled architectures (evaluation network)")
    ax.set_xlabel(X_UPDATES)
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, loc="best", fontsize=9)
    return _save(fig, path)


def other_costs(alpha: list[dict]) -> list[str]:
    """Names of the reward's further costs logged per update (``costs_mean``, e.g. latency_ms)."""
    return sorted({k for r in alpha for k in (r.get("costs_mean") or {})})


def plot_other_cost(alpha: list[dict], name: str, path: Path) -> Path | None:
    """The sampled architectures' mean of one further cost of the reward (e.g. latency_ms)."""
    values = _column([r.get("costs_mean") or {} for r in alpha], name)
    if not _has(values):
        return None
    x, stages = _x_axis_alpha(alpha)
    fig = _figure(9, 4.8)
    ax = fig.add_subplot()
    ax.plot(x, values, color="C2", lw=1.3, label=f"{name}, sampled mean")
    _mark_stages(ax, x, stages)
    ax.set_title(f"{name} of sampled architectures (evaluation network)")
    ax.set_xlabel(X_UPDATES)
    ax.set_ylabel(name.replace("_ms", " (ms)"))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return _save(fig, path)


def plot_reward(alpha: list[dict], path: Path) -> Path | None:
    """REINFORCE reward (mean and max over the sampled architectures) and the baseline."""
    series = [
        ("reward_mean", "reward, mean of samples", {"color": "C0", "lw": 1.3}),
        ("reward_max", "reward, max of samples", {"color": "C2", "lw": 1.0, "alpha": 0.7}),
        ("baseline", "baseline", {"color": "C3", "lw": 1.3, "ls": "--"}),
    ]
    cols = {f: _column(alpha, f) for f, _, _ in series}
    if not any(_has(v) for v in cols.values()):
        return None
    x, stages = _x_axis_alpha(alpha)
    fig = _figure(9, 4.8)
    ax = fig.add_subplot()
    for field, label, style in series:
        if _has(cols[field]):
            ax.plot(x, cols[field], label=label, **style)
    _mark_stages(ax, x, stages)
    ax.set_title("REINFORCE reward and baseline")
    ax.set_xlabel(X_UPDATES)
    ax.set_ylabel("reward (dimensionless)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return _save(fig, path)


def plot_entropy(alpha: list[dict], path: Path) -> Path | None:
    """Mean policy entropy per edge, with each stage's maximum (uniform over its candidates)."""
    ent = _column(alpha, "entropy")
    if not _has(ent):
        return None
    x, stages = _x_axis_alpha(alpha)
    fig = _figure(9, 4.0)
    ax = fig.add_subplot()
    ax.plot(x, ent, color="C4", lw=1.3, label="entropy")
    top = _column(alpha, "entropy_max")  # absent in runs written before it was recorded
    if _has(top):
        # one flat segment per stage: the maximum jumps when candidates are dropped
        label = "maximum (uniform)"
        for stage in dict.fromkeys(stages):
            idx = [i for i, s in enumerate(stages) if s == stage]
            xs, ys = [x[i] for i in idx], [top[i] for i in idx]
            ax.plot(xs, ys, color="0.3", lw=1.0, ls="--", label=label)
            label = None
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    _mark_stages(ax, x, stages)
    ax.set_title("Policy entropy (mean per edge)")
    ax.set_xlabel(X_UPDATES)
    ax.set_ylabel("entropy (nats)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_epochs(epochs: list[dict], path: Path) -> Path | None:
    """Per epoch: training loss, training accuracy, and architecture-half accuracy of the
    supernet and of the argmax architecture; epoch time and peak memory when logged."""
    if not epochs:
        return None
    loss = _column(epochs, "train_loss")
    accs = [
        ("train_acc", "train (weight half)", "C0", "o"),
        ("arch_acc_supernet", "supernet (arch half)", "C2", "s"),
        ("arch_acc_argmax", "argmax arch (arch half)", "C3", "^"),
    ]
    acc = {f: _pct(_column(epochs, f)) for f, *_ in accs}
    secs, mem = _column(epochs, "seconds"), _column(epochs, "peak_memory_mb")
    panels = [p for p, ok in (("loss", _has(loss)), ("acc", any(map(_has, acc.values()))),
                              ("cost", _has(secs) or _has(mem))) if ok]  # fmt: skip
    if not panels:
        return None
    x = np.arange(1, len(epochs) + 1, dtype=float)
    stages = [_int(r.get("stage")) for r in epochs]
    fig = _figure(5.2 * len(panels), 4.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    fig.suptitle("Search epochs")
    marker = {"ms": 3.5} if len(x) <= 60 else {"ms": 0}
    for ax, panel in zip(axes, panels):
        if panel == "loss":
            ax.plot(x, loss, "o-", color="C0", lw=1.2, **marker)
            ax.set_title("training loss (weight half)")
            ax.set_ylabel("cross-entropy loss (nats)")
        elif panel == "acc":
            for field, label, colour, mk in accs:
                if _has(acc[field]):
                    ax.plot(x, acc[field], marker=mk, color=colour, lw=1.2, label=label, **marker)
            ax.set_title("accuracy")
            ax.set_ylabel("accuracy (%)")
            ax.legend(loc="lower right", fontsize=8)
        else:
            handles = []
            if _has(secs):
                handles += ax.plot(x, secs, "o-", color="C5", lw=1.2, label="epoch time", **marker)
                ax.set_ylabel("epoch time (s)", color="C5")
                ax.set_ylim(0, _headroom(secs))
            if _has(mem):
                ax2 = ax.twinx() if _has(secs) else ax
                handles += ax2.plot(
                    x, mem, "s--", color="C7", lw=1.0, label="peak memory", **marker
                )
                ax2.set_ylabel("peak memory (MB)", color="C7")
                ax2.set_ylim(0, _headroom(mem))
            ax.set_title("time and memory")
            ax.legend(handles=handles, loc="lower right", fontsize=8)
        _mark_stages(ax, x, stages)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch (counted across stages)")
        ax.grid(alpha=0.3)
    return _save(fig, path)


# --------------------------------------------------------------------------- alpha plots


def plot_argmax_ops(snaps: list[dict], cell_type: str, path: Path) -> Path | None:
    """Argmax op of every edge after each epoch (one column per alpha file)."""
    snaps = [s for s in snaps if cell_type in s]
    if not snaps:
        return None
    n_edges = max(s[cell_type]["alpha"].shape[0] for s in snaps)
    names = []
    for s in snaps:
        cell = s[cell_type]
        best = np.argmax(cell["alpha"], axis=1)
        names.append([cell["ops"][e][k] for e, k in enumerate(best)])
    present = sorted({n for col in names for n in col}, key=_op_sort_key)
    code = {n: i for i, n in enumerate(present)}
    grid = np.full((n_edges, len(snaps)), np.nan)
    for t, col in enumerate(names):
        for e, n in enumerate(col):
            grid[e, t] = code[n]
    T = len(snaps)
    fig = _figure(min(18.0, 4.2 + 0.22 * T) + 2.2, 5.2)
    ax = fig.add_subplot()
    cmap = ListedColormap([op_colour(n) for n in present]).with_extremes(bad="white")
    ax.imshow(
        np.ma.masked_invalid(grid), cmap=cmap, vmin=-0.5, vmax=len(present) - 0.5,
        aspect="auto", interpolation="nearest",
    )  # fmt: skip
    # thin white lines between edges make the rows easy to follow
    ax.set_yticks(np.arange(n_edges + 1) - 0.5, minor=True)
    ax.grid(which="minor", axis="y", color="white", lw=1.2)
    ax.tick_params(which="minor", length=0)
    ax.set_yticks(np.arange(n_edges), labels=edge_labels(n_edges))
    stages = [s["stage"] for s in snaps]
    step = max(1, math.ceil(T / 24))
    ticks = list(range(0, T, step))
    ax.set_xticks(ticks, labels=[str(snaps[t]["epoch"]) for t in ticks])
    _mark_stages(ax, np.arange(T, dtype=float), stages, boundaries_at_edges=True)
    ax.set_xlabel("epoch within stage (alpha after the epoch)")
    ax.set_ylabel("edge (from node -> to node)")
    ax.set_title(f"Argmax operation per edge over the search ({cell_type} cell)")
    handles = [Patch(facecolor=op_colour(n), edgecolor="0.5", label=n) for n in present]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
              title="operation", frameon=False)  # fmt: skip
    return _save(fig, path)


def plot_alpha_stage(snap: dict, path: Path) -> Path | None:
    """Heat map of softmax(alpha), normal and reduce cells side by side."""
    cells = [ct for ct in CELL_TYPES if ct in snap]
    if not cells:
        return None
    probs = {ct: softmax_rows(snap[ct]["alpha"]) for ct in cells}
    shared = {ct: all(row == snap[ct]["ops"][0] for row in snap[ct]["ops"]) for ct in cells}
    vmax = max(float(p.max()) for p in probs.values())
    col_w = {ct: 0.62 if shared[ct] else 1.05 for ct in cells}
    widths = [max(2.0, col_w[ct] * probs[ct].shape[1]) for ct in cells]
    fig = _figure(sum(widths) + 1.6 * len(cells) + 1.0, 6.4)
    axes = fig.subplots(1, len(cells), squeeze=False, width_ratios=widths)[0]
    im = None
    for ax, ct in zip(axes, cells):
        p, ops = probs[ct], snap[ct]["ops"]
        n_edges, k = p.shape
        im = ax.imshow(p, cmap="Blues", vmin=0.0, vmax=vmax, aspect="auto")
        best = np.argmax(p, axis=1)
        for e in range(n_edges):
            for j in range(k):
                text = f"{p[e, j]:.2f}" if shared[ct] else f"{ops[e][j]}\n{p[e, j]:.2f}"
                ax.text(
                    j, e, text, ha="center", va="center",
                    fontsize=7.5 if shared[ct] else 6,
                    fontweight="bold" if j == best[e] else "normal",
                    color="white" if p[e, j] > 0.6 * vmax else "black",
                )  # fmt: skip
        ax.set_yticks(np.arange(n_edges), labels=edge_labels(n_edges))
        if shared[ct]:
            ax.set_xticks(np.arange(k), labels=ops[0], rotation=40, ha="right",
                          rotation_mode="anchor", fontsize=9)  # fmt: skip
            ax.set_xlabel("candidate operation")
        else:
            ax.set_xticks(np.arange(k), labels=[str(j + 1) for j in range(k)])
            ax.set_xlabel("candidate slot (op named in each cell)")
        ax.set_ylabel("edge (from node -> to node)")
        ax.set_title(f"{ct} cell ({k} candidates per edge)")
    fig.suptitle(
        f"softmax(alpha) at the end of stage {snap['stage']} (epoch {snap['epoch']}); bold = argmax"
    )
    fig.colorbar(im, ax=list(axes), label="probability", shrink=0.8)
    return _save(fig, path)


# --------------------------------------------------------------------------- genotype


def _final_genotype(run_dir: Path, stage_records: list[dict]):
    """genotype.json, else the last genotype_stage{k}.json, else the last stage record's."""
    files = SearchRunFiles(run_dir)
    path = files.genotype
    if path.exists():
        return load_genotype(path)
    staged = []
    for p in run_dir.glob("genotype_stage*.json"):
        m = re.fullmatch(r"genotype_stage(\d+)\.json", p.name)
        if m:
            staged.append((int(m.group(1)), p))
    if staged:
        return load_genotype(max(staged)[1])
    for r in reversed(stage_records):
        if isinstance(r.get("genotype"), dict):
            return genotype_from_dict(r["genotype"], where="metrics stage record")
    return None


# --------------------------------------------------------------------------- entry point


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw every plot of a run directory that its data allows into ``<run_dir>/plots``.

    Returns the paths written.  Missing optional data (alpha files, genotype, argmax
    accuracies, ...) only skips the plots that need it; a plot that fails is reported with
    a warning and the others are still drawn.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: not a directory; pass a search run directory")
    files = SearchRunFiles(run_dir)
    out = files.plots
    out.mkdir(parents=True, exist_ok=True)
    records = read_metrics(files.metrics)
    alpha = _dedupe([r for r in records if r.get("kind") == "alpha"], "update")
    epochs = _dedupe([r for r in records if r.get("kind") == "epoch"], "epoch")
    stages = [r for r in records if r.get("kind") == "stage"]
    snaps = load_alpha_snapshots(files.alpha_dir)

    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("accuracy", lambda: plot_accuracy(alpha, out / "accuracy.png")),
        ("cost", lambda: plot_cost(alpha, stages, out / "cost.png")),
        ("reward", lambda: plot_reward(alpha, out / "reward.png")),
        ("entropy", lambda: plot_entropy(alpha, out / "entropy.png")),
        ("epochs", lambda: plot_epochs(epochs, out / "epochs.png")),
    ]
    for name in other_costs(alpha):
        jobs.append(
            (
                f"cost_{name}",
                lambda name=name: plot_other_cost(alpha, name, out / f"cost_{name}.png"),
            )
        )
    for ct in CELL_TYPES:
        jobs.append(
            (
                f"argmax_ops_{ct}",
                lambda ct=ct: plot_argmax_ops(snaps, ct, out / f"argmax_ops_{ct}.png"),
            )
        )
    last_of_stage: dict[int, dict] = {}
    for s in snaps:
        last_of_stage[s["stage"]] = s  # sorted by (stage, epoch): the last one wins
    for k, snap in sorted(last_of_stage.items()):
        jobs.append(
            (
                f"alpha_stage{k}",
                lambda snap=snap, k=k: plot_alpha_stage(snap, out / f"alpha_stage{k}.png"),
            )
        )

    def cells():
        geno = _final_genotype(run_dir, stages)
        if geno is None:
            return None
        return [draw_cell(geno, ct, out / f"cell_{ct}.png") for ct in CELL_TYPES]

    jobs.append(("cell diagrams", cells))

    written: list[Path] = []
    for name, job in jobs:
        try:
            result = job()
        except Exception as err:  # noqa: BLE001 - one bad plot must not stop the others
            warnings.warn(f"plot '{name}' skipped: {type(err).__name__}: {err}", stacklevel=2)
            continue
        if result is None:
            continue
        written.extend(result if isinstance(result, list) else [result])
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: python -m tndnas.report.plots RUN_DIR", file=sys.stderr)
        return 2
    for p in plot_run(argv[0]):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
