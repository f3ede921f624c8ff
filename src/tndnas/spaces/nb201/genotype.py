"""NAS-Bench-201 cells: 4 nodes, 6 edges, one op per edge, read and written as the benchmark's
cell string ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``
(node 1 | node 2 | node 3, each input ``op~source``) or as tndnas JSON."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ...atomic_write import write_text_atomic
from ..base import FORMAT_TAG, GenotypeError

#: The benchmark's ops, in its order (none, skip, 1x1 and 3x3 ReLU-conv-BN, 3x3 average pool).
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: ``(source, target)`` of the 6 edges in the cell string's order: node 1 from 0; node 2 from
#: 0, 1; node 3 from 0, 1, 2.
NB201_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: The one searched cell type (the reduction blocks between the stages are fixed).
CELL_TYPE = "normal"


@dataclass(frozen=True)
class Nb201Genotype:
    """One NAS-Bench-201 cell: the op of each of :data:`NB201_EDGES`."""

    ops: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    space: str = field(default="nb201", compare=False)
    #: intermediate nodes after the input (for the generic ``Macro``; fixed for this space)
    steps: int = 3

    def __post_init__(self) -> None:
        if len(self.ops) != len(NB201_EDGES):
            raise GenotypeError(f"a NAS-Bench-201 cell has 6 edges, got {len(self.ops)} ops.")
        bad = [o for o in self.ops if o not in NB201_OPS]
        if bad:
            raise GenotypeError(
                f"unknown NAS-Bench-201 op '{bad[0]}'; the ops are {', '.join(NB201_OPS)}."
            )

    def cell(self, cell_type: str = CELL_TYPE) -> tuple[tuple[str, int, int], ...]:
        """``(op, source, target)`` of every edge."""
        return tuple((op, s, t) for op, (s, t) in zip(self.ops, NB201_EDGES))

    def live(self, cell_type: str = CELL_TYPE) -> tuple[list[tuple[str, int, int]], list[int]]:
        """The edges that compute something (not 'none') and the cell's output node."""
        return [e for e in self.cell(cell_type) if e[0] != "none"], [3]

    def cell_string(self) -> str:
        """The benchmark's cell string."""
        nodes = []
        for node in (1, 2, 3):
            ins = [f"{op}~{s}" for op, (s, t) in zip(self.ops, NB201_EDGES) if t == node]
            nodes.append("|" + "|".join(ins) + "|")
        return "+".join(nodes)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"format": FORMAT_TAG, "space": self.space, "cell": self.cell_string()}
        if self.metadata:
            d["metadata"] = self.metadata
        return d

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            write_text_atomic(path, text + "\n")
        return text

    def describe(self) -> str:
        lines = [f"NAS-Bench-201 cell {self.cell_string()}:"]
        lines += [f"  {s} -> {t}  {op}" for op, s, t in self.cell() if op != "none"]
        return "\n".join(lines)


def parse_cell_string(text: str, where: str = "cell string") -> tuple[str, ...]:
    """The 6 ops of a benchmark cell string, in :data:`NB201_EDGES` order; a one-sentence
    :class:`GenotypeError` for anything else."""
    hint = "write it as |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
    if not isinstance(text, str):
        raise GenotypeError(f"{where}: expected a cell string, got {type(text).__name__}; {hint}")
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise GenotypeError(f"{where}: '{text}' has {len(nodes)} nodes, not 3; {hint}")
    ops: dict[tuple[int, int], str] = {}
    for node, part in enumerate(nodes, start=1):
        items = [x for x in part.strip().split("|") if x]
        if not (part.strip().startswith("|") and part.strip().endswith("|")) or len(items) != node:
            raise GenotypeError(f"{where}: node {node} of '{text}' needs {node} inputs; {hint}")
        for item in items:
            op, _, src = item.partition("~")
            if not (src.isascii() and src.isdigit()) or int(src) >= node:
                raise GenotypeError(f"{where}: '{item}' in '{text}' is not op~source; {hint}")
            if op not in NB201_OPS:
                raise GenotypeError(
                    f"{where}: unknown op '{op}' in '{text}'; the ops are {', '.join(NB201_OPS)}."
                )
            if (int(src), node) in ops:
                raise GenotypeError(f"{where}: node {node} of '{text}' lists input {src} twice.")
            ops[(int(src), node)] = op
    return tuple(ops[e] for e in NB201_EDGES)


def nb201_genotype_from_dict(data: Any, where: str = "genotype") -> Nb201Genotype:
    """A cell from its tndnas JSON (``{"space": "nb201", "cell": "|...|"}``) or from a bare cell
    string."""
    if isinstance(data, str):
        return Nb201Genotype(parse_cell_string(data, where))
    if not isinstance(data, dict) or "cell" not in data:
        raise GenotypeError(
            f"{where}: a NAS-Bench-201 genotype is a JSON object with a 'cell' string "
            '(e.g. {"space": "nb201", "cell": "|nor_conv_3x3~0|+|...|"}).'
        )
    meta = data.get("metadata", {})
    try:
        return Nb201Genotype(
            parse_cell_string(data["cell"], where),
            metadata=meta if isinstance(meta, dict) else {"metadata": meta},
            space=str(data.get("space", "nb201")),
        )
    except GenotypeError as err:
        msg = str(err)
        raise GenotypeError(msg if msg.startswith(where) else f"{where}: {msg}") from None
