"""The tabular benchmark's figure: per objective, the result against the query budget, and for
each cost the fronts one seed found at the largest budget beside the table's true front."""

from __future__ import annotations

from pathlib import Path

from ..objectives.costs import cost_label


def plot_benchmark(res: dict, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(res["results"])
    fronts = [n for n in names if n in res["fronts"]]
    fig, axes = plt.subplots(1, len(names) + len(fronts), figsize=(5 * (len(names) + len(fronts)), 4),
                             squeeze=False)  # fmt: skip
    axes = list(axes[0])
    budgets = res["budgets"]
    for ax, name in zip(axes, names):
        for i, (method, by_budget) in enumerate(res["results"][name].items()):
            mean = [by_budget[b]["mean"] for b in budgets]
            std = [by_budget[b]["std"] for b in budgets]
            ax.errorbar(budgets, mean, yerr=std, marker="o", capsize=3, color=f"C{i}", label=method)
        ax.set_xscale("log")
        ax.set_xlabel("queries (distinct cells scored)")
        ax.set_ylabel("table accuracy (%)" if name == "accuracy" else "hypervolume fraction")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax, name in zip(axes[len(names) :], fronts):
        cost = name.split("+", 1)[1]
        for i, (who, pts) in enumerate(res["fronts"][name].items()):
            xs, ys = [p[1] for p in pts], [p[0] for p in pts]
            style = (
                {"color": "black", "lw": 1.0}
                if who == "table"
                else {"color": f"C{i - 1}", "marker": "o", "ms": 3}
            )
            ax.step(xs, ys, where="post", label=who, **style)
        ax.set_xlabel(cost_label(cost) if cost in ("params", "flops") else cost)
        ax.set_ylabel("table accuracy (%)")
        ax.set_ylim(bottom=min(p[0] for p in res["fronts"][name]["table"]) - 1)  # the true front
        ax.set_title(f"fronts at {max(budgets)} queries (seed 0)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
