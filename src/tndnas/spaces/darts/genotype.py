"""Genotypes: the discrete architecture of a normal and a reduction cell.

A cell has two input nodes (0: output of cell k-2, 1: output of cell k-1) and
``steps`` intermediate nodes (2 .. steps+1).  A genotype lists, per cell type,
edges ``(op, from_node, to_node)``.  Any in-degree is allowed (0 up to all
predecessors) and there is no limit on skip-connects: the paper's end-to-end
derivation removes an edge only when its argmax op is 'none'.

JSON format::

    {"format": "tndnas-genotype/1",
     "normal": [["sep_conv_3x3", 0, 2], ["skip_connect", 1, 2], ...],
     "reduce": [["max_pool_3x3", 0, 2], ...],
     "metadata": {...}}

Only ``normal`` and ``reduce`` are required; other keys are kept as metadata.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ...atomic_write import write_text_atomic
from ...ops import UnknownOpError, check_op_name
from ...run_files import GENOTYPE_FILE
from ..base import FORMAT_TAG, GenotypeError

STEPS = 4  # intermediate nodes per cell
CELL_TYPES = ("normal", "reduce")


Edge = tuple[str, int, int]


def edge_pairs(steps: int = STEPS) -> list[tuple[int, int]]:
    """The (from, to) node pairs of a full cell in the supernet's edge order (14 for 4 steps)."""
    return [(src, dst) for dst in range(2, steps + 2) for src in range(dst)]


def live_edges(
    edges: tuple[Edge, ...] | list[Edge], steps: int = STEPS
) -> tuple[list[Edge], list[int]]:
    """Drop 'none' edges and every edge that leaves a node with no live input.

    Returns the live edges (sorted by destination, then source) and the live
    intermediate nodes.  Nodes 0 and 1 are always live; an intermediate node is
    live when at least one non-'none' edge arrives from a live node.
    """
    live = {0, 1}
    kept: list[Edge] = []
    by_dst: dict[int, list[Edge]] = {}
    for e in edges:
        if e[0] != "none":
            by_dst.setdefault(e[2], []).append(e)
    for dst in range(2, steps + 2):
        incoming = sorted((e for e in by_dst.get(dst, []) if e[1] in live), key=lambda e: e[1])
        if incoming:
            live.add(dst)
            kept.extend(incoming)
    return kept, sorted(n for n in live if n >= 2)


@dataclass(frozen=True)
class Genotype:
    """Edges of the normal and reduction cell, plus free-form metadata."""

    normal: tuple[Edge, ...]
    reduce: tuple[Edge, ...]
    steps: int = STEPS
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: the registered search space the genotype belongs to (``space.name`` of its search): it
    #: builds, draws and counts the genotype's network; a DARTS-cell space of a plug-in names
    #: itself here, and its genotype needs that plug-in
    space: str = field(default="darts", compare=False)

    def cell(self, cell_type: str) -> tuple[Edge, ...]:
        return self.normal if cell_type == "normal" else self.reduce

    def live(self, cell_type: str) -> tuple[list[Edge], list[int]]:
        """Live edges and live intermediate nodes of one cell (see :func:`live_edges`)."""
        return live_edges(self.cell(cell_type), self.steps)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": FORMAT_TAG,
            "normal": [list(e) for e in self.normal],
            "reduce": [list(e) for e in self.reduce],
        }
        if self.steps != STEPS:  # written when it is not the DARTS cell's 4
            d["steps"] = self.steps
        if self.space != "darts":
            d["space"] = self.space
        if self.metadata:
            d["metadata"] = self.metadata
        return d

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """JSON text (one edge per line), also written to ``path`` when given."""
        d = self.to_dict()
        parts = [f' "format": {json.dumps(d["format"])}']
        for ct in CELL_TYPES:
            rows = ",\n  ".join(json.dumps(e) for e in d[ct])
            parts.append(f' "{ct}": [\n  {rows}\n ]')
        if "steps" in d:
            parts.append(f' "steps": {d["steps"]}')
        if "space" in d:
            parts.append(f' "space": {json.dumps(d["space"])}')
        if "metadata" in d:
            parts.append(f' "metadata": {json.dumps(d["metadata"])}')
        text = "{\n" + ",\n".join(parts) + "\n}"

        if path is not None:
            write_text_atomic(path, text + "\n")
        return text

    def describe(self) -> str:
        lines = []
        for ct in CELL_TYPES:
            edges, nodes = self.live(ct)
            lines.append(f"{ct} cell ({len(edges)} live edges, output nodes {nodes}):")
            for op, src, dst in edges:
                lines.append(f"  {src} -> {dst}  {op}")
            dropped = [e for e in self.cell(ct) if e[0] != "none" and e not in edges]
            for op, src, dst in dropped:
                lines.append(f"  {src} -> {dst}  {op}  (removed: node {src} has no live input)")
        return "\n".join(lines)


def _parse_cell(name: str, raw: Any, steps: int, where: str) -> tuple[Edge, ...]:
    if not isinstance(raw, list):
        raise GenotypeError(
            f"{where}: '{name}' must be a list of [op, from_node, to_node] edges, got {type(raw).__name__}."
        )
    seen: set[tuple[int, int]] = set()
    edges: list[Edge] = []
    last = steps + 1
    for i, e in enumerate(raw):
        if not (isinstance(e, (list, tuple)) and len(e) == 3):
            raise GenotypeError(
                f"{where}: {name} edge #{i} is {e!r}; write each edge as [op, from_node, to_node]."
            )
        op, src, dst = e
        if not isinstance(op, str):
            raise GenotypeError(
                f"{where}: {name} edge #{i} has op {op!r}; the op must be a name such as 'sep_conv_3x3'."
            )
        if (
            isinstance(src, bool)
            or isinstance(dst, bool)
            or not isinstance(src, int)
            or not isinstance(dst, int)
        ):
            raise GenotypeError(f"{where}: {name} edge #{i} {list(e)} needs integer node numbers.")
        try:
            check_op_name(op)
        except UnknownOpError as err:
            raise GenotypeError(f"{where}: {name} edge #{i}: {err}") from None
        if not 2 <= dst <= last:
            raise GenotypeError(
                f"{where}: {name} edge #{i} {list(e)} ends at node {dst}; edges end at an intermediate node 2..{last}."
            )
        if not 0 <= src <= last:
            raise GenotypeError(
                f"{where}: {name} edge #{i} {list(e)} starts at node {src}, out of range 0..{last}."
            )
        if src >= dst:
            raise GenotypeError(
                f"{where}: {name} edge #{i} {list(e)} does not point forward; an edge must go from a lower node to a higher one."
            )
        if (src, dst) in seen:
            raise GenotypeError(
                f"{where}: {name} lists edge {src} -> {dst} twice; keep one op per edge."
            )
        seen.add((src, dst))
        edges.append((op, src, dst))
    _, nodes = live_edges(edges, steps)
    if not nodes:
        raise GenotypeError(
            f"{where}: the {name} cell has no live intermediate node (every edge is 'none' or unreachable); "
            "give at least one non-'none' edge from node 0 or 1."
        )
    return tuple(edges)


def genotype_from_dict(data: Any, where: str = "genotype") -> Genotype:
    """Validate a decoded JSON object and build a :class:`Genotype`."""
    if not isinstance(data, dict):
        raise GenotypeError(
            f"{where}: expected a JSON object with 'normal' and 'reduce' lists, got {type(data).__name__}."
        )
    missing = [k for k in CELL_TYPES if k not in data]
    if missing:
        raise GenotypeError(
            f"{where}: missing key(s) {missing}; a genotype needs both 'normal' and 'reduce' edge lists."
        )
    steps = data.get("steps", STEPS)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= 64:
        raise GenotypeError(f"{where}: 'steps' must be an integer from 1 to 64, got {steps!r}.")
    fmt = data.get("format", FORMAT_TAG)
    if not str(fmt).startswith("tndnas-genotype/"):
        raise GenotypeError(
            f"{where}: format tag {fmt!r} is not a tndnas genotype ('{FORMAT_TAG}')."
        )
    if fmt != FORMAT_TAG:
        raise GenotypeError(
            f"{where}: format {fmt!r} is not one this tndnas reads ('{FORMAT_TAG}'); a newer "
            "tndnas wrote it: read it with that version."
        )
    space = data.get("space", "darts")
    if not isinstance(space, str) or not space:
        raise GenotypeError(f"{where}: 'space' must name a search space, got {space!r}.")
    meta = data.get("metadata", {})
    known = (*CELL_TYPES, "steps", "format", "metadata", "space")
    extra = {k: v for k, v in data.items() if k not in known}
    if extra:
        meta = {**meta, **extra} if isinstance(meta, dict) else {"metadata": meta, **extra}
    return Genotype(
        normal=_parse_cell("normal", data["normal"], steps, where),
        reduce=_parse_cell("reduce", data["reduce"], steps, where),
        steps=steps,
        metadata=meta if isinstance(meta, dict) else {"metadata": meta},
        space=space,
    )


def bundled_genotypes() -> list[str]:
    """Names of the genotypes shipped with the package."""
    files = resources.files("tndnas").joinpath("genotypes")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".json"))


def load_genotype(spec: str | os.PathLike | Genotype) -> Genotype:
    """A DARTS-cell genotype from a JSON file, a run directory (its ``genotype.json``) or a
    bundled name (``tndnas.spaces.load_genotype`` reads the genotype of any registered space)."""
    if isinstance(spec, Genotype):
        return spec
    return genotype_from_dict(*read_genotype_data(spec))


def read_genotype_data(spec: str | os.PathLike) -> tuple[Any, str]:
    """The decoded JSON of a genotype file, a run directory's ``genotype.json`` or a bundled
    genotype, and where it came from (for error messages)."""
    path = Path(spec)
    if path.is_dir():
        members = sorted(p.name for p in (path / "members").glob("member-*") if p.is_dir())
        path = path / GENOTYPE_FILE
        if not path.exists() and members:  # a family search: one genotype per member
            raise GenotypeError(
                f"{spec} is a family search, with one genotype per member; pass a member's "
                f"folder, e.g. {Path(spec) / 'members' / members[0]}"
            )
        if not path.exists():
            raise GenotypeError(
                f"{spec}: the directory holds no genotype.json; pass a search run directory or a JSON file."
            )
    if not path.exists():
        name = str(spec)
        if name in bundled_genotypes():
            text = resources.files("tndnas").joinpath("genotypes", f"{name}.json").read_text()
            return json.loads(text), f"bundled genotype '{name}'"
        raise GenotypeError(
            f"'{spec}' is neither a genotype JSON file, a run directory nor a bundled genotype "
            f"(bundled: {', '.join(bundled_genotypes())})."
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise GenotypeError(
            f"{path}: not valid JSON ({err.msg} at line {err.lineno}); fix the file or regenerate it."
        ) from None
    except UnicodeDecodeError:
        raise GenotypeError(
            f"{path} is not text (a binary file?); pass a genotype JSON file, a run directory "
            "or a bundled name."
        ) from None
    return data, str(path)


def derive_genotype(
    weights: dict[str, Any],
    candidates: dict[str, list[list[str]]],
    steps: int = STEPS,
    metadata: dict | None = None,
) -> Genotype:
    """Argmax per edge of each cell type's architecture weights; 'none' removes the edge.

    ``weights[cell_type]`` is a (num_edges x K) array (alpha or softmax(alpha)),
    ``candidates[cell_type][e]`` the K op names still on edge ``e``.  No in-degree
    or skip-connect limit is applied (the paper's end-to-end derivation).
    """
    cells = {}
    for ct in CELL_TYPES:
        w = weights[ct]
        edges = []
        for e, (src, dst) in enumerate(edge_pairs(steps)):
            row = [float(v) for v in w[e]]
            best = max(range(len(row)), key=row.__getitem__)
            edges.append((candidates[ct][e][best], src, dst))
        cells[ct] = tuple(edges)
    geno = Genotype(cells["normal"], cells["reduce"], steps, metadata or {})
    for ct in CELL_TYPES:
        if not geno.live(ct)[1]:
            # every edge chose 'none': keep the cell usable by taking the best non-'none' op into node 2
            w = weights[ct]
            best_e, best_k, best_v = None, None, float("-inf")
            for e, (src, _dst) in enumerate(edge_pairs(steps)):
                if src > 1:
                    continue
                for k, op in enumerate(candidates[ct][e]):
                    if op != "none" and float(w[e][k]) > best_v:
                        best_e, best_k, best_v = e, k, float(w[e][k])
            if best_e is None:
                raise GenotypeError(
                    f"the {ct} cell has only 'none' candidates on its input edges; no cell can be derived."
                )
            edges = list(geno.cell(ct))
            src, dst = edge_pairs(steps)[best_e]
            edges[best_e] = (candidates[ct][best_e][best_k], src, dst)
            note = {
                f"{ct}_all_none": f"every {ct} edge's argmax was 'none'; kept {edges[best_e][0]} {src}->{dst}"
            }
            geno = Genotype(
                tuple(edges) if ct == "normal" else geno.normal,
                tuple(edges) if ct == "reduce" else geno.reduce,
                steps,
                {**geno.metadata, **note},
            )
    return geno


def compact(geno: Genotype) -> Genotype:
    """The same genotype with 'none' and dead edges removed (what the evaluation network builds)."""
    return Genotype(
        tuple(geno.live("normal")[0]), tuple(geno.live("reduce")[0]), geno.steps, geno.metadata
    )
