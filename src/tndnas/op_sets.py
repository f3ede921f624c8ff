"""Named candidate sets: which operations an edge of a normal or reduction cell may choose."""

from __future__ import annotations

from .ops import check_op_name
from .registry import Registry

_BUILT_IN: dict[str, tuple[str, ...]] = {
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


_OP_SETS: Registry[tuple[str, ...]] = Registry("op set", "or give a list of operation names")
for _name, _ops in _BUILT_IN.items():
    _OP_SETS.register(_name, _ops)


def register_op_set(
    name: str, ops: list[str] | tuple[str, ...], *, overwrite: bool = False
) -> None:
    """Register a named candidate set; every op must already be registered."""
    ops = tuple(check_op_name(o) for o in ops)
    if len(set(ops)) != len(ops):
        raise ValueError(f"op set '{name}' lists an operation twice: {list(ops)}")
    _OP_SETS.register(name, ops, overwrite=overwrite)


def resolve_op_set(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A set name, or an explicit list of op names, to a validated tuple of op names."""
    if isinstance(spec, str):
        return _OP_SETS.get(spec)
    ops = tuple(check_op_name(o) for o in spec)
    if not ops:
        raise ValueError("an op set must list at least one operation")
    if len(set(ops)) != len(ops):
        raise ValueError(f"op set lists an operation twice: {list(ops)}")
    return ops


def op_set_names() -> list[str]:
    return _OP_SETS.names()
