"""Each search space's group of ``space`` keys: the keys every space has (:class:`SpaceConfig`),
the DARTS cells' and NAS-Bench-201's own, and the registry a plug-in space adds its group to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..registry import Registry
from .fields import opt


@dataclass
class SpaceConfig:
    """The search space and its supernet's width. Each space adds keys of its own (below);
    `tndnas config show` prints those of the space a config names."""

    own_fields_first: ClassVar[bool] = False  # name and channels lead every space's group

    name: str = opt(
        "darts",
        "the search space, a registered name: `darts` (the paper's DARTS cells), `nb201` (the "
        "NAS-Bench-201 cell), or one a plug-in registers with `tndnas.spaces.register_space`; "
        "it decides which other `space` keys there are",
    )
    channels: int = opt(24, "initial width C of the supernet; valid: >= 1")


@dataclass
class DartsSpaceConfig(SpaceConfig):
    """The paper's DARTS cells: normal and reduction cells of `steps` intermediate nodes."""

    normal_ops: str = opt(
        "tnd-normal",
        "named candidate set of every normal-cell edge (`tnd-normal`: 10 ops, `darts`: 8)",
    )
    reduce_ops: str = opt(
        "tnd-reduce",
        "named candidate set of every reduction-cell edge (`tnd-reduce`: 6 ops, `darts`: 8)",
    )
    steps: int = opt(4, "intermediate nodes per cell; valid: >= 1")


@dataclass
class Nb201SpaceConfig(SpaceConfig):
    """The NAS-Bench-201 cell: 4 nodes, 6 edges, one cell type (`normal`); the depth is each
    stage's `layers` (3 stages of cells and 2 reduction blocks)."""

    name: str = opt("nb201", SpaceConfig.__dataclass_fields__["name"].metadata["help"])
    channels: int = opt(16, "width C of the first stage's cells; valid: >= 1")
    normal_ops: str = opt(
        "nb201",
        "the candidates of every edge: `nb201` (the benchmark's 5 ops) or a list of some of them",
    )


#: every space's ``space`` group, by space name (a plug-in space registers its own through
#: ``tndnas.spaces.register_space``: its ``config_class``)
SPACE_CONFIGS: Registry[type[SpaceConfig]] = Registry(
    "search space", "load the plug-in that registers it with tndnas --plugin MODULE"
)
SPACE_CONFIGS.register("darts", DartsSpaceConfig)
SPACE_CONFIGS.register("nb201", Nb201SpaceConfig)
