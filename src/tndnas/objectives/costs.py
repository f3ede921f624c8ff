"""Registry of named costs: functions from a genotype to a float, used by the reward.

Built in: ``params`` (millions of parameters of the final evaluation network,
auxiliary head excluded) and ``flops`` (MFLOPs of one inference forward of that
network, 2 FLOPs per multiply-add), both looked up in the :class:`CostTable` of the
target macro-structure -- never by building a network per sample -- and ``latency_ms``
(predicted inference latency of that network, from the run's :class:`LatencyTable`).

A user plugs in any other measure, e.g. energy from a model of the device::

    from tndnas.objectives import register_cost

    @register_cost("energy_mj", unit="mJ")
    def energy(genotype, ctx):      # ctx.table: CostTable, ctx.macro: Macro, ctx.latency
        c = ctx.table.cost(genotype)
        return my_energy_model(c.flops, c.params)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..macro import Macro
from ..measure.latency import LatencyTable, LatencyTableError
from ..registry import Registry
from ..spaces.base import Genotype


@dataclass
class CostContext:
    """What a cost function may use: the target network's cost table and macro-structure, and
    its latency table when the run has one (``reward.latency_table``)."""

    table: Any  # the space's cost table (SearchSpace.cost_table): .cost(genotype) -> Cost
    macro: Macro
    latency: LatencyTable | None = None


CostFn = Callable[[Genotype, CostContext], float]


@dataclass(frozen=True)
class CostSpec:
    name: str
    fn: CostFn
    unit: str


_COSTS: Registry[CostSpec] = Registry("cost", "register one with tndnas.objectives.register_cost")


def register_cost(name: str, fn: CostFn | None = None, *, unit: str = "", overwrite: bool = False):
    """Register ``fn(genotype, ctx) -> float`` under ``name`` (usable as a decorator)."""

    def _add(f: CostFn) -> CostFn:
        _COSTS.register(name, CostSpec(name, f, unit), overwrite=overwrite)
        return f

    return _add(fn) if fn is not None else _add


def get_cost(name: str) -> CostSpec:
    """The registered cost ``name``; an ``UnknownNameError`` naming the known ones otherwise."""
    return _COSTS.get(name)


def cost_names() -> list[str]:
    return _COSTS.names()


def genotype_costs(genotype: Genotype, costs: Mapping[str, CostSpec], ctx: CostContext) -> dict:
    """``{name: value}`` of every cost in ``costs`` for ``genotype``, each in its unit."""
    return {name: spec.fn(genotype, ctx) for name, spec in costs.items()}


def cost_label(name: str) -> str:
    """How a plot or table names a cost: ``params (M params)``; its name alone when the cost
    is not registered (a run read without its plug-in) or has no unit."""
    unit = _COSTS.get(name).unit if name in _COSTS else ""
    return f"{name} ({unit})" if unit else name


register_cost("params", lambda g, ctx: ctx.table.cost(g).params / 1e6, unit="M params")
register_cost("flops", lambda g, ctx: ctx.table.cost(g).flops / 1e6, unit="MFLOPs")


def _latency_ms(genotype: Genotype, ctx: CostContext) -> float:
    if ctx.latency is None:
        raise LatencyTableError(
            "the latency_ms cost needs a latency table: measure one with tndnas latency-table "
            "--out FILE and set reward.latency_table=FILE."
        )
    return ctx.latency.latency_ms(genotype)


register_cost("latency_ms", _latency_ms, unit="ms")
