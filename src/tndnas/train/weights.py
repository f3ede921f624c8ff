"""Trained weights that carry their architecture, and a loader that refuses a mismatch.

A weights file (``weights_last.pt``, ``weights_best.pt``) is a ``torch.save``-d dict::

    {"format": "tndnas-weights/1",
     "genotype": Genotype.to_dict(),
     "macro": dataclasses.asdict(Macro),
     "auxiliary": bool,
     "state_dict": {name: tensor}}

:func:`load_weights` rebuilds the network from the stored genotype and macro, so weights can
never be loaded into a network of another shape; when the caller names the architecture it
expects, a difference is reported in one sentence (:class:`WeightsMismatchError`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import TndnasError
from ..macro import Macro
from ..runtime import CheckpointError, save_atomic
from ..runtime.checkpoint import read_verified
from ..spaces import Genotype, genotype_from_dict, space_of
from ..spaces.base import GenotypeError

WEIGHTS_FORMAT = "tndnas-weights/1"


class WeightsMismatchError(TndnasError, ValueError):
    """Weights that do not belong to the architecture asked for; one sentence says why."""


def save_weights(
    model: nn.Module,
    path: str | os.PathLike,
    genotype: Genotype,
    macro: Macro,
    auxiliary: bool,
    normalization: dict[str, list[float]] | None = None,
) -> None:
    """Write ``model``'s weights with the genotype and macro they belong to (atomically).

    ``normalization``: the per-channel ``mean`` and ``std`` (in [0, 1] units) that the training
    inputs were normalised with, so that an export can take raw images.
    """
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    data = {
        "format": WEIGHTS_FORMAT,
        "genotype": genotype.to_dict(),
        "macro": dataclasses.asdict(macro),
        "auxiliary": bool(auxiliary),
        "state_dict": state,
    }
    if normalization is not None:
        data["normalization"] = {k: [float(v) for v in normalization[k]] for k in ("mean", "std")}
    save_atomic(data, path)


def _read(path: Path) -> dict:
    if not path.exists():
        raise CheckpointError(f"no weights file at {path}; pass the weights_*.pt of a train run.")
    data = read_verified(
        path, "cpu", "weights file",
        "use the weights_last.pt or weights_best.pt of a train run, or train it again.",
    )  # fmt: skip
    if not isinstance(data, dict) or data.get("format") != WEIGHTS_FORMAT:
        raise CheckpointError(
            f"{path} is not a tndnas weights file (no format tag '{WEIGHTS_FORMAT}'); "
            "use the weights_last.pt or weights_best.pt of a train run."
        )
    missing = [k for k in ("genotype", "macro", "auxiliary", "state_dict") if k not in data]
    if missing:
        raise CheckpointError(
            f"weights file {path} lacks {', '.join(missing)}; it is damaged, train it again."
        )
    return data


def _edge_map(genotype: Genotype, cell_type: str) -> dict[tuple[int, int], str]:
    """(from, to) -> op of the live edges of one cell (dead edges build nothing)."""
    return {(src, dst): op for op, src, dst in genotype.live(cell_type)[0]}


def genotype_difference(stored: Genotype, given: Genotype) -> str | None:
    """The first difference between two genotypes' networks, phrased 'there ... here', or None."""
    if type(stored) is not type(given) or stored.space != given.space:
        a, b = stored.to_dict(), given.to_dict()
        a.pop("metadata", None), b.pop("metadata", None)
        return None if a == b else f"the architecture is {a} there but {b} here"
    if stored.steps != given.steps:
        return f"cells have {stored.steps} intermediate nodes there but {given.steps} here"
    for ct in space_of(stored).cell_types:
        there, here = _edge_map(stored, ct), _edge_map(given, ct)
        for src, dst in sorted(set(there) | set(here), key=lambda e: (e[1], e[0])):
            a, b = there.get((src, dst)), here.get((src, dst))
            if a == b:
                continue
            edge = f"{ct} edge {src}->{dst}"
            if a is None:
                return f"{edge} is absent there but {b} here"
            if b is None:
                return f"{edge} is {a} there but absent here"
            return f"{edge} is {a} there but {b} here"
    return None


def macro_difference(stored: Macro, given: Macro) -> str | None:
    """The first differing macro field, phrased 'there ... here', or None."""
    for f in dataclasses.fields(Macro):
        a, b = getattr(stored, f.name), getattr(given, f.name)
        if a != b:
            return f"{f.name} is {a} there but {b} here"
    return None


def _check_state_dict(path: Path, model: nn.Module, state: Any) -> None:
    if not isinstance(state, dict):
        raise CheckpointError(f"weights file {path} holds no state_dict; it is damaged.")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f"{len(missing)} tensor(s) missing (first: {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s) (first: {unexpected[0]})")
    for k, v in expected.items():
        got = state.get(k)
        if isinstance(got, torch.Tensor) and tuple(got.shape) != tuple(v.shape):
            problems.append(f"{k} has shape {tuple(got.shape)} there but {tuple(v.shape)} here")
            break
        if k in state and not isinstance(got, torch.Tensor):
            problems.append(f"{k} is not a tensor")
            break
    if problems:
        raise WeightsMismatchError(
            f"weights {path} do not fit the network their own genotype and macro build: "
            f"{'; '.join(problems)}; the file was edited or written by an incompatible version."
        )


def load_weights(
    path: str | os.PathLike,
    genotype: Genotype | None = None,
    macro: Macro | None = None,
) -> tuple[torch.nn.Module, dict]:
    """Rebuild the trained network of a weights file.

    Parameters
    ----------
    path : path
        A file written by :func:`save_weights`.
    genotype, macro : optional
        The architecture the caller expects; when given and different from the stored one,
        :class:`WeightsMismatchError` names the first difference.

    Returns
    -------
    (model, meta)
        The network (CPU, eval mode, stored weights loaded strictly) and the file's metadata:
        ``genotype`` (:class:`Genotype`), ``macro`` (:class:`Macro`), ``auxiliary`` (bool),
        ``normalization`` (``{"mean": [...], "std": [...]}`` of the training inputs, or None).

    A missing, corrupt or foreign file raises :class:`CheckpointError`.
    """
    path = Path(path)
    data = _read(path)
    try:
        stored_geno = genotype_from_dict(data["genotype"], where=f"genotype stored in {path}")
        stored_macro = Macro(**data["macro"])
    except (GenotypeError, TypeError, ValueError) as err:
        raise CheckpointError(
            f"weights file {path} stores an unusable architecture ({err}); it is damaged."
        ) from None
    if genotype is not None:
        diff = genotype_difference(stored_geno, genotype)
        if diff:
            raise WeightsMismatchError(
                f"weights {path} were trained for a different architecture: {diff}; "
                "pass the genotype the weights were trained with."
            )
    if macro is not None:
        diff = macro_difference(stored_macro, macro)
        if diff:
            raise WeightsMismatchError(
                f"weights {path} were trained for a different network shape: {diff}; "
                "pass the width, depth and dataset the weights were trained with."
            )
    auxiliary = bool(data["auxiliary"])
    model = space_of(stored_geno).network(stored_geno, stored_macro, auxiliary=auxiliary)
    _check_state_dict(path, model, data["state_dict"])
    model.load_state_dict(data["state_dict"], strict=True)
    model.eval()
    meta = {
        "genotype": stored_geno,
        "macro": stored_macro,
        "auxiliary": auxiliary,
        "normalization": data.get("normalization"),  # None in files without it
    }
    return model, meta
