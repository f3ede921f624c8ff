"""Plots of the metrics log over alpha updates and epochs: accuracies, costs, reward, entropy and
the per-epoch curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..objectives.costs import cost_label
from .plot_common import (
    X_UPDATES,
    _column,
    _figure,
    _has,
    _headroom,
    _int,
    _mark_stages,
    _num,
    _pct,
    _save,
    _x_axis_alpha,
)


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


# records written before every cost went into ``costs_mean`` / ``costs``
_OLD_COST_KEYS = {"params": ("params_mean", "params_m"), "flops": ("flops_mean", "flops_m")}


def sampled_costs(record: dict) -> dict:
    """The mean costs of an alpha update's samples by name (``costs_mean``; also read from the
    ``params_mean``/``flops_mean`` keys of older runs)."""
    out = {name: record[old] for name, (old, _) in _OLD_COST_KEYS.items() if old in record}
    return {**out, **(record.get("costs_mean") or {})}


def derived_costs(record: dict) -> dict:
    """The costs of a stage's derived architecture by name (``costs``; also read from the
    ``params_m``/``flops_m`` keys of older runs)."""
    out = {name: record[old] for name, (_, old) in _OLD_COST_KEYS.items() if old in record}
    return {**out, **(record.get("costs") or {})}


def cost_names_logged(alpha: list[dict]) -> list[str]:
    """Every cost logged per alpha update, in the order the run logged them."""
    return list(dict.fromkeys(k for r in alpha for k in sampled_costs(r)))


def plot_cost(alpha: list[dict], stages_done: list[dict], path: Path) -> Path | None:
    """One panel per cost of the run (params, FLOPs, the reward's costs): the mean over each
    update's sampled architectures (their evaluation networks) and, as a star at the end of
    each stage, the cost of the architecture the stage derived."""
    columns = {n: _column([sampled_costs(r) for r in alpha], n) for n in cost_names_logged(alpha)}
    columns = {n: v for n, v in columns.items() if _has(v)}
    if not columns:
        return None
    x, stages = _x_axis_alpha(alpha)
    stage_end = {s: x[i] for i, s in enumerate(stages)}  # where each stage ends on the x axis
    derived = [(stage_end[_int(r.get("stage"))], derived_costs(r)) for r in stages_done
               if _int(r.get("stage")) in stage_end]  # fmt: skip
    fig = _figure(9, 1.2 + 2.6 * len(columns))
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]
    for i, (ax, (name, values)) in enumerate(zip(axes, columns.items())):
        colour = f"C{i}"
        ax.plot(x, values, color=colour, lw=1.3, label="sampled mean")
        pts = [(xx, _num(c.get(name))) for xx, c in derived if math.isfinite(_num(c.get(name)))]
        if pts:
            ax.plot(*zip(*pts), "*", color=colour, ms=11, mec="black", mew=0.6, ls="none",
                    label="derived arch")  # fmt: skip
        _mark_stages(ax, x, stages)
        ax.set_ylabel(cost_label(name))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    axes[0].set_title("Costs of sampled architectures (evaluation network)")
    axes[-1].set_xlabel(X_UPDATES)
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
