"""Diagrams of a normal or reduction cell of a genotype (PNG).

Nodes: the two cell inputs ``c_{k-2}`` and ``c_{k-1}``, the live intermediate nodes
numbered 0..3 (genotype nodes 2..5), and the output ``c_{k}`` (the concatenation of the
live intermediate nodes).  Only live edges are drawn, labelled with their op; a dead
intermediate node is left out.  Graphviz ``dot`` is used when it is on the PATH, otherwise
(or if ``dot`` fails) matplotlib draws the diagram.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .genotype import Genotype, genotype_from_dict, load_genotype

DPI = 120
INPUT_COLOUR = "#a6d8a8"
NODE_COLOUR = "#9ecae1"
OUTPUT_COLOUR = "#fdd49e"


def _as_genotype(genotype: Genotype | dict | str | os.PathLike) -> Genotype:
    if isinstance(genotype, Genotype):
        return genotype
    if isinstance(genotype, dict):
        return genotype_from_dict(genotype)
    return load_genotype(genotype)


def cell_graph(genotype, cell_type: str) -> tuple[list[tuple[str, int, int]], list[int]]:
    """(live edges, live intermediate nodes) of one cell; ``cell_type`` 'normal' or 'reduce'."""
    if cell_type not in ("normal", "reduce"):
        raise ValueError(f"cell_type must be 'normal' or 'reduce', got {cell_type!r}")
    return _as_genotype(genotype).live(cell_type)


def cell_dot_source(genotype, cell_type: str) -> str:
    """Graphviz source of the cell diagram (left to right)."""
    edges, nodes = cell_graph(genotype, cell_type)
    out = [
        "digraph cell {",
        f'  graph [rankdir=LR, dpi={DPI}, fontname="Helvetica", fontsize=16, '
        f'label="{cell_type} cell", labelloc=t];',
        '  node [style="filled,rounded", shape=box, fontname="Helvetica", fontsize=18, '
        "penwidth=1.5, height=0.5, width=0.5];",
        '  edge [fontname="Helvetica", fontsize=14, penwidth=1.2];',
        f'  n0 [label="c_{{k-2}}", fillcolor="{INPUT_COLOUR}"];',
        f'  n1 [label="c_{{k-1}}", fillcolor="{INPUT_COLOUR}"];',
    ]
    for n in nodes:
        out.append(f'  n{n} [label="{n - 2}", fillcolor="{NODE_COLOUR}"];')
    out.append(f'  out [label="c_{{k}}", fillcolor="{OUTPUT_COLOUR}"];')
    out.append("  { rank=same; n0; n1; }")
    for op, src, dst in edges:
        colour = "gray40" if op == "skip_connect" else "black"
        out.append(f'  n{src} -> n{dst} [label="{op}", color="{colour}", fontcolor="{colour}"];')
    for n in nodes:
        out.append(f'  n{n} -> out [color="gray60", style=dashed];')
    out.append("}")
    return "\n".join(out) + "\n"


def _draw_with_dot(dot: str, source: str, path: Path) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cell.dot"
        src.write_text(source)
        png = Path(tmp) / "cell.png"
        try:
            res = subprocess.run(
                [dot, "-Tpng", "-o", str(png), str(src)],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.SubprocessError) as err:
            warnings.warn(f"graphviz dot failed ({err}); drawing with matplotlib", stacklevel=3)
            return False
        if res.returncode != 0 or not png.exists() or png.stat().st_size == 0:
            msg = (res.stderr or "").strip().splitlines()[-1:] or ["no output"]
            warnings.warn(f"graphviz dot failed ({msg[0]}); drawing with matplotlib", stacklevel=3)
            return False
        shutil.copyfile(png, path)
    return True


GAP = 2.8  # horizontal distance between consecutive nodes on the axis


def _positions(nodes: list[int]) -> dict[Any, tuple[float, float]]:
    """Inputs top-left and bottom-left, live intermediate nodes and the output on one axis."""
    pos: dict[Any, tuple[float, float]] = {0: (0.0, 2.0), 1: (0.0, -2.0)}
    for i, n in enumerate(nodes):
        pos[n] = (GAP * (i + 1), 0.0)
    pos["out"] = (GAP * (len(nodes) + 1), 0.0)
    return pos


def _draw_with_matplotlib(genotype: Genotype, cell_type: str, path: Path) -> None:
    """Arc-diagram layout: the two inputs fan out to the axis of intermediate nodes (from above
    and from below, so those edges never cross), edges between neighbours on the axis are
    straight, longer ones are arcs (two nodes apart above the axis, further below)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    edges, nodes = genotype.live(cell_type)
    pos = _positions(nodes)
    index = {n: i for i, n in enumerate(nodes)}
    index["out"] = len(nodes)
    xmax = pos["out"][0]
    fig = Figure(figsize=(2.4 + 2.1 * (len(nodes) + 1), 4.8), dpi=DPI)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.89))
    ax.set_xlim(-1.0, xmax + 0.8)
    ax.set_ylim(-2.5, 2.5)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle(f"{cell_type} cell ({len(edges)} live edges)", fontsize=13)

    labels = {0: "$c_{k-2}$", 1: "$c_{k-1}$", "out": "$c_{k}$"}
    patches = {}
    for key, (x, y) in pos.items():
        if key in (0, 1):
            colour, w = INPUT_COLOUR, 1.0
        elif key == "out":
            colour, w = OUTPUT_COLOUR, 0.8
        else:
            colour, w = NODE_COLOUR, 0.5
        h = 0.5
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.06", facecolor=colour,
            edgecolor="black", linewidth=1.4, zorder=5,
        )  # fmt: skip
        ax.add_patch(patch)
        patches[key] = patch
        text = labels.get(key, str(key - 2) if isinstance(key, int) else key)
        ax.text(x, y, text, ha="center", va="center", fontsize=13, zorder=6)

    def arrow(src, dst, rad, **kw):
        ax.add_patch(
            FancyArrowPatch(
                pos[src], pos[dst], patchA=patches[src], patchB=patches[dst], shrinkA=1,
                shrinkB=2, arrowstyle="-|>", connectionstyle=f"arc3,rad={rad}", **kw,
            )
        )  # fmt: skip

    for op, src, dst in edges:
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        if src in (0, 1):
            rad, t = 0.0, 0.6  # fan from an input: straight, label past the middle
        else:
            hops = index[dst] - index[src]
            rad = 0.0 if hops == 1 else (-0.15 if hops == 2 else 0.12)  # <0: above the axis
            t = 0.5
        colour = "0.4" if op == "skip_connect" else "black"
        arrow(src, dst, rad, mutation_scale=14, linewidth=1.3, color=colour, zorder=2)
        # point at parameter t of the quadratic curve that arc3 draws (equal aspect)
        cx = (x1 + x2) / 2 + rad * (y2 - y1)
        cy = (y1 + y2) / 2 - rad * (x2 - x1)
        a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t**2
        lx, ly = a * x1 + b * cx + c * x2, a * y1 + b * cy + c * y2
        ax.text(
            lx, ly, op, ha="center", va="center", fontsize=8.5, color=colour, zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                  "alpha": 0.85},
        )  # fmt: skip
    for n in nodes:
        hops = index["out"] - index[n]
        rad = 0.0 if hops == 1 else 0.12 + 0.03 * hops  # below the axis
        arrow(
            n, "out", rad, mutation_scale=12, linewidth=1.0, color="0.6", linestyle="--",
            zorder=1,
        )  # fmt: skip
    fig.savefig(path, dpi=DPI, facecolor="white")


def draw_cell(genotype, cell_type: str, path: str | os.PathLike) -> Path:
    """Draw one cell of ``genotype`` (a Genotype, a genotype dict, or a JSON path) as a PNG.

    Uses graphviz ``dot`` when available, else matplotlib; never fails for lack of graphviz.
    Returns the path written.
    """
    geno = _as_genotype(genotype)
    cell_graph(geno, cell_type)  # validates cell_type
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dot = shutil.which("dot")
    if dot and _draw_with_dot(dot, cell_dot_source(geno, cell_type), path):
        return path
    _draw_with_matplotlib(geno, cell_type, path)
    return path
