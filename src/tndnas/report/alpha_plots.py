"""Plots of the alpha snapshots: the argmax op of every edge over time and each stage's final
softmax(alpha)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from .plot_common import (
    _figure,
    _mark_stages,
    _op_sort_key,
    _save,
    edge_labels,
    op_colour,
    softmax_rows,
)


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
    """Heat map of softmax(alpha), one panel per cell type (DARTS: normal and reduce cells side
    by side)."""
    cells = [ct for ct, v in snap.items() if isinstance(v, dict) and "alpha" in v]
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
