"""Named candidate sets: which operations an edge of a normal or reduction cell may choose."""

from __future__ import annotations

from ..naming import unknown_name
from .ops import check_op_name

_OP_SETS: dict[str, tuple[str, ...]] = {
    # the TND-NAS normal-cell set (10 ops; the paper's printed list, deduplicated)
    "tnd-normal": (
        "none",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
        "dil_conv_3x3",
        "dil_conv_5x5",
        "conv_1x1",
        "conv_3x3",
        "conv_3x1_1x3",
    ),
    # the TND-NAS reduction-cell set (6 ops)
    "tnd-reduce": (
        "none",
        "skip_connect",
        "avg_pool_3x3",
        "max_pool_3x3",
        "max_pool_5x5",
        "max_pool_7x7",
    ),
    # the 8 DARTS / P-DARTS primitives
    "darts": (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    ),
}


def register_op_set(
    name: str, ops: list[str] | tuple[str, ...], *, overwrite: bool = False
) -> None:
    """Register a named candidate set; every op must already be registered."""
    if name in _OP_SETS and not overwrite:
        raise ValueError(
            f"op set '{name}' is already registered; pass overwrite=True to replace it"
        )
    ops = tuple(check_op_name(o) for o in ops)
    if len(set(ops)) != len(ops):
        raise ValueError(f"op set '{name}' lists an operation twice: {list(ops)}")
    _OP_SETS[name] = ops


def resolve_op_set(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A set name, or an explicit list of op names, to a validated tuple of op names."""
    if isinstance(spec, str):
        if spec not in _OP_SETS:
            raise KeyError(
                unknown_name("op set", spec, _OP_SETS, "or give a list of operation names")
            )
        return _OP_SETS[spec]
    ops = tuple(check_op_name(o) for o in spec)
    if not ops:
        raise ValueError("an op set must list at least one operation")
    if len(set(ops)) != len(ops):
        raise ValueError(f"op set lists an operation twice: {list(ops)}")
    return ops


def op_set_names() -> list[str]:
    return sorted(_OP_SETS)
