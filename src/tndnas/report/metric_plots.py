"""Plots of the metrics log over alpha updates and epochs: accuracies, costs, reward, entropy and
the per-epoch curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

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
