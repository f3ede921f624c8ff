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

import os
from pathlib import Path
from typing import Any

from ..measure.latency import LatencyTable
from .base import (
    FORMAT_TAG,
    Genotype,
    GenotypeError,
    SearchSpace,
    _registered,
    get_space,
    register_space,
    space_names,
    space_of,
)

__all__ = [
    "FORMAT_TAG",
    "Genotype",
    "GenotypeError",
    "SearchSpace",
    "genotype_from_dict",
    "get_space",
    "load_genotype",
    "read_latency_table",
    "register_space",
    "space_names",
    "space_of",
]


def genotype_from_dict(data: Any, where: str = "genotype") -> Genotype:
    """A genotype of any registered space from its decoded JSON (``space`` key; none: darts)."""
    name = data.get("space", "darts") if isinstance(data, dict) else "darts"
    if not isinstance(name, str):
        raise GenotypeError(f"{where}: 'space' must name a search space, got {name!r}.")
    return _registered(name, where).genotype_from_dict(data, where)


def load_genotype(spec: str | os.PathLike | Genotype) -> Genotype:
    """A genotype of any registered space from a JSON file, a run directory (its
    ``genotype.json``) or a bundled name."""
    if not isinstance(spec, (str, os.PathLike)):
        return spec  # a genotype already
    return genotype_from_dict(*read_genotype_data(spec))


def read_latency_table(path: str | os.PathLike) -> LatencyTable:
    """The latency table in ``path``, of whichever registered space it was measured for."""
    import json

    try:
        name = json.loads(Path(path).read_text()).get("space", "darts")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        name = "darts"  # the space's own loader names what is wrong with the file
    return _registered(str(name), f"latency table {path}").load_latency_table(path, None)


from . import darts, nb201  # noqa: E402,F401 - register the built-in spaces
from .darts.genotype import read_genotype_data  # noqa: E402 - JSON, run folder or bundled name
