"""The ``family`` group of a search config: several policies on one supernet."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import opt, opt_factory


@dataclass
class FamilyConfig:
    """Several policies on one supernet: one member per beta (and ref), each with its own reward,
    all sharing the supernet's weights and each other's measurements (``tndnas sweep
    --one-supernet``)."""

    betas: list[float] = opt_factory(
        list,
        (
            "one member per value: its beta for the first cost term of every stage (as `tndnas "
            "sweep --betas`); empty (the default): one policy, the stages' own reward"
        ),
    )
    refs: list[float] = opt_factory(
        list,
        (
            "the members' P for that term: one value for all, or one per beta; empty: the "
            "stages' own; valid: > 0"
        ),
    )
    samples_per_member: int | None = opt(
        None,
        (
            "architectures each member samples per alpha update; null: `policy.samples` shared "
            "out (at least 2 each), so an update scores about as many sub-networks as one "
            "policy's; every member learns from all of them (importance weights); valid: >= 1"
        ),
    )
