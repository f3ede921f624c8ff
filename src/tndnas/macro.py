"""The DARTS macro-structure shared by the supernet and the evaluation network (paper Fig. 1).

A stem, then ``layers`` cells; the cells at ``layers // 3`` and ``2 * layers // 3``
are reduction cells (double the channels, halve the spatial size).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TndnasError


class MacroError(TndnasError, ValueError):
    """A width, depth or shape that no network can have."""


#: the largest value of each size that a network may have (far beyond any real use)
_LARGEST = {"channels": 4096, "layers": 1000, "image_size": 4096, "in_channels": 1024,
            "num_classes": 1_000_000, "stem_multiplier": 64, "steps": 64}  # fmt: skip


@dataclass(frozen=True)
class Macro:
    """Width, depth and input/output shape of a cell network.

    ``channels`` is the initial cell width C (the stem has ``stem_multiplier * C``);
    ``image_size`` the input's height = width; ``in_channels`` its colour channels.
    """

    channels: int = 36
    layers: int = 20
    num_classes: int = 10
    in_channels: int = 3
    image_size: int = 32
    stem_multiplier: int = 3
    steps: int = 4

    def __post_init__(self) -> None:
        for name in (
            "channels",
            "layers",
            "num_classes",
            "in_channels",
            "image_size",
            "stem_multiplier",
            "steps",
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise MacroError(f"{name} must be a positive integer, got {v!r}; use 1 or more.")
        for name, top in _LARGEST.items():
            v = getattr(self, name)
            if v > top:
                raise MacroError(
                    f"{name} must be at most {top}, got {v:,}; no network that size fits in the "
                    "memory of any device tndnas runs on."
                )
        if self.layers < 3:
            raise MacroError(
                f"layers must be at least 3 (two of them are reduction cells), got {self.layers}; use 3 or more."
            )

    def reduction_layers(self) -> tuple[int, int]:
        return (self.layers // 3, 2 * self.layers // 3)

    def cell_plan(self) -> list[tuple[bool, bool, int, int]]:
        """Per cell: (is_reduction, previous_is_reduction, width C, output spatial size)."""
        plan = []
        C, size, prev_red = self.channels, self.image_size, False
        for i in range(self.layers):
            red = i in self.reduction_layers()
            if red:
                C *= 2
                size = (size + 1) // 2
            plan.append((red, prev_red, C, size))
            prev_red = red
        return plan
