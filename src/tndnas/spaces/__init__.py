"""Search spaces as plug-ins: what the search needs to know of a space, behind one interface.

A :class:`SearchSpace` says which candidate ops every edge of every cell type starts with, how
many edges a cell has, how the weight-sharing supernet over the candidates is built, how the
final genotype is derived from the policy, and how a genotype's costs are counted on the target
network. ``space.name`` in a config picks one from the registry; the DARTS cell space of the
paper (:mod:`tndnas.spaces.darts`) is registered as ``darts``. A new space is a module that
subclasses :class:`SearchSpace` (or :class:`~tndnas.spaces.darts.DartsSpace`) and calls
:func:`register_space`; as a plug-in (``tndnas --plugin my_space``) it needs no edit of tndnas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from ..naming import unknown_name
from ..objectives import CostTable
from ..space.genotype import Genotype
from ..space.macro import Macro

__all__ = ["SearchSpace", "get_space", "register_space", "space_names"]


class SearchSpace:
    """The interface of a search space (every method is called by the search)."""

    #: the registry name, e.g. ``darts``
    name: str = ""
    #: the kinds of cell whose edges the policy searches, e.g. ``("normal", "reduce")``
    cell_types: tuple[str, ...] = ()

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
        """The weight-sharing network over ``candidates`` (per cell type, per edge, op names)."""
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

    def cost_table(self, target: Macro, auxiliary: bool = False) -> CostTable:
        """Exact params and FLOPs of any genotype's target network."""
        raise NotImplementedError


_SPACES: dict[str, SearchSpace] = {}


def register_space(name: str, space: SearchSpace, *, overwrite: bool = False) -> None:
    """Register ``space`` under ``name`` (``space.name`` in a config)."""
    if name in _SPACES and not overwrite:
        raise ValueError(f"search space '{name}' is already registered; pass overwrite=True")
    space.name = name
    _SPACES[name] = space


def get_space(name: str) -> SearchSpace:
    """The registered space ``name``; a KeyError naming the known ones otherwise."""
    if name not in _SPACES:
        raise KeyError(
            unknown_name(
                "search space", name, _SPACES, "register one with tndnas.spaces.register_space"
            )
        )
    return _SPACES[name]


def space_names() -> list[str]:
    """All registered search space names."""
    return sorted(_SPACES)


from . import darts  # noqa: E402,F401 - registers the built-in space
