"""The learning curve of an evaluation training: accuracy and loss against the epoch."""

from __future__ import annotations

import os
from pathlib import Path


def plot_learning_curve(records: list[dict], path: str | os.PathLike) -> Path:
    """Train/test accuracy (%) and loss against the epoch, side by side, as a PNG."""
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    epochs = [r["epoch"] for r in records]  # counted from 0, as in metrics.jsonl
    fig = Figure(figsize=(10, 4), dpi=120, layout="constrained")
    ax_acc, ax_loss = fig.subplots(1, 2)
    for key, label in (("train_acc", "train (augmented, drop-path)"), ("test_acc", "test")):
        ax_acc.plot(epochs, [100.0 * r[key] for r in records], marker=".", label=label)
    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        ax_loss.plot(epochs, [r[key] for r in records], marker=".", label=label)
    ax_acc.set(xlabel="epoch (from 0)", ylabel="accuracy (%)", title="accuracy")
    ax_loss.set(xlabel="epoch (from 0)", ylabel="cross-entropy", title="loss")
    for ax in (ax_acc, ax_loss):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=120, facecolor="white")
    return path
