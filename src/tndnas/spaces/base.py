"""What generic code knows of a search space: the :class:`SearchSpace` interface, the
:class:`Genotype` protocol every space's architectures follow, and the error a malformed one
raises.

A space is one package under :mod:`tndnas.spaces` (``darts/``, ``nb201/``) or a plug-in's
module: it subclasses :class:`SearchSpace` and registers an instance with
:func:`tndnas.spaces.register_space`. The search, the objectives, the training, the reports
and the commands reach a space's networks, costs, latency pieces and drawings only through
this interface.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from torch import nn

from ..config.space_schema import SPACE_CONFIGS, SpaceConfig
from ..errors import TndnasError
from ..macro import Macro
from ..measure.latency import LatencyTable, LatencyTableError
from ..registry import Registry

#: the ``format`` of every space's genotype JSON
FORMAT_TAG = "tndnas-genotype/1"

Edge = tuple[str, int, int]


class GenotypeError(TndnasError, ValueError):
    """A malformed genotype; the message says what is wrong and how to fix it."""


class Genotype(Protocol):
    """An architecture of a space: per searched cell type, edges ``(op, from_node, to_node)``."""

    #: the registered space it belongs to (builds, draws and counts it)
    space: str
    #: free-form facts written with it (where it was found, its target network, ...)
    metadata: dict[str, Any]
    #: intermediate nodes per cell
    steps: int

    def cell(self, cell_type: str) -> tuple[Edge, ...]:
        """Every edge of one cell type."""
        ...

    def live(self, cell_type: str) -> tuple[list[Edge], list[int]]:
        """The edges that compute something, and the live intermediate nodes."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Its JSON object (with ``format``: :data:`FORMAT_TAG`)."""
        ...

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Its JSON text, also written to ``path`` when given."""
        ...


class SearchSpace:
    """The interface of a search space: what the search calls (candidates, edges, supernet,
    derivation, costs, memory) and what the commands that use its result call (genotype
    validation, the final network, the cell diagrams)."""

    #: the registry name, e.g. ``darts``
    name: str = ""
    #: the kinds of cell whose edges the policy searches, e.g. ``("normal", "reduce")``
    cell_types: tuple[str, ...] = ()
    #: the dataclass of its ``space`` keys (``space_cfg`` of the methods below): a subclass of
    #: :class:`~tndnas.config.SpaceConfig` (name, channels) with the space's own keys
    config_class: type[SpaceConfig] = SpaceConfig

    def candidate_ops(self, space_cfg: Any) -> dict[str, tuple[str, ...]]:
        """Each cell type's candidate op names before the first stage (from ``space.*``); a
        ValueError whose message names the config key for a bad value."""
        raise NotImplementedError

    def num_edges(self, space_cfg: Any) -> int:
        """Edges per cell: the rows of each cell type's alpha."""
        raise NotImplementedError

    def supernet(
        self,
        candidates: Mapping[str, Sequence[Sequence[str]]],
        macro: Macro,
        skip_dropout: float,
        *,
        checkpoint: bool = False,
    ) -> nn.Module:
        """The weight-sharing network over ``candidates`` (per cell type, per edge, op names).

        What the search calls on it: ``forward(x, weights)`` (the mixed network of Eq. 1,
        ``weights[cell_type]`` an edges x candidates tensor), ``forward_path(x, path)`` and
        ``forward_paths(x, paths, graphs=None)`` (one sampled architecture, or several sharing
        their common prefix; ``path[cell_type][e]`` the index of edge e's op), each returning
        logits, and ``set_skip_dropout(p)`` (a no-op where the space has no such regulariser);
        ``compile_ops(**options)`` only with ``weights.compile``. ``tests/plugins/chainspace.py``
        is a complete small example."""
        raise NotImplementedError

    def derive(
        self,
        probs: Mapping[str, Any],
        candidates: Mapping[str, Sequence[Sequence[str]]],
        space_cfg: Any,
        metadata: dict | None = None,
    ) -> Genotype:
        """The architecture a policy (``probs``: per cell type, edges x candidates) stands for."""
        raise NotImplementedError

    def path_genotype(
        self, candidates: Mapping[str, Sequence[Sequence[str]]], path: Any, space_cfg: Any
    ) -> Genotype:
        """The genotype of a sampled path (``path[cell_type][e]``: the index of edge e's op
        among its candidates), whose costs the reward looks up."""
        raise NotImplementedError

    def cost_table(self, target: Macro, auxiliary: bool = False) -> Any:
        """Exact params and FLOPs of any genotype's target network."""
        raise NotImplementedError

    def latency_table(self, target: Macro, **options: Any) -> LatencyTable:
        """An empty latency table of ``target``'s pieces to measure (``options``: device,
        batch_size, threads, channels_last, min_run_time, backend); a space without latency
        pieces refuses in one sentence."""
        raise LatencyTableError(self._no_latency())

    def load_latency_table(self, path: str | os.PathLike, expect: Macro | None) -> LatencyTable:
        """The latency table in ``path`` (written by ``tndnas latency-table``), checked to be
        for ``expect``."""
        raise LatencyTableError(self._no_latency())

    def random_genotypes(
        self, ops: Mapping[str, Sequence[str]], macro: Macro, n: int, seed: int = 0
    ) -> list[Genotype]:
        """``n`` architectures drawn as a search's first samples are, from each cell type's op
        list ``ops`` (to check a latency table on networks it has not seen)."""
        raise LatencyTableError(self._no_latency())

    def _no_latency(self) -> str:
        return (
            f"search space '{self.name}' has no latency pieces, so no latency table can be "
            "measured or read for it; leave latency_ms out of this search"
        )

    def memory_probe(
        self, candidates: Mapping[str, Sequence[Sequence[str]]], macro: Macro, amp: bool
    ) -> Any:
        """A :class:`~tndnas.measure.memory.MemoryProbe` of the supernet over ``candidates`` at ``macro``
        (for ``weights.memory_check``), or None when the space cannot estimate its memory (the
        check is then skipped)."""
        return None

    # ------------------------------------------------------------ the found architecture
    def genotype_from_dict(self, data: Any, where: str) -> Genotype:
        """The genotype a decoded JSON object describes, validated (a ``GenotypeError`` naming
        ``where`` and the problem otherwise)."""
        raise NotImplementedError

    def network(self, genotype: Genotype, macro: Macro, *, auxiliary: bool = False) -> nn.Module:
        """The final evaluation network of ``genotype`` at ``macro`` (trained by ``tndnas
        train``, exported by ``tndnas export``); ``forward`` returns ``(logits, aux_logits)``
        (``aux_logits`` None without an auxiliary head)."""
        raise NotImplementedError

    def draw(self, genotype: Genotype, out_dir: Path) -> list[Path]:
        """Diagrams of ``genotype``'s cells written into ``out_dir`` (``plots/`` of a run)."""
        return []


_SPACES: Registry[SearchSpace] = Registry(
    "search space", "register one with tndnas.spaces.register_space"
)


def register_space(name: str, space: SearchSpace, *, overwrite: bool = False) -> None:
    """Register ``space`` under ``name`` (``space.name`` in a config)."""
    _SPACES.register(name, space, overwrite=overwrite)
    SPACE_CONFIGS.register(name, space.config_class, overwrite=True)  # its `space` keys
    space.name = name


def get_space(name: str) -> SearchSpace:
    """The registered space ``name``; a KeyError naming the known ones otherwise."""
    return _SPACES.get(name)


def space_names() -> list[str]:
    """All registered search space names."""
    return _SPACES.names()


def space_of(genotype: Genotype) -> SearchSpace:
    """The registered space a genotype belongs to; a ``GenotypeError`` when it is not
    registered (a plug-in's space whose plug-in was not loaded)."""
    return _registered(genotype.space, "the genotype")


def _registered(name: str, where: str) -> SearchSpace:
    """The space ``name``, or a GenotypeError: ``where`` belongs to a space not registered."""
    if name not in _SPACES:
        raise GenotypeError(
            f"{where} belongs to search space '{name}', which is not registered (known: "
            f"{', '.join(space_names())}); load the plug-in that registers it with "
            "tndnas --plugin MODULE"
        )
    return _SPACES.get(name)
