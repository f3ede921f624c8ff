"""tndnas: multi-objective neural architecture search with REINFORCE over a progressive supernet.

The public API, loaded on first use (``import tndnas`` alone imports no torch)::

    import tndnas

    cfg = tndnas.load_search_config("quick", overrides=["seed=1"])
    summary = tndnas.search(cfg, "runs/quick")            # Algorithm 2; writes the run folder
    genotype = tndnas.load_genotype("runs/quick")          # the found architecture
    tcfg = tndnas.load_train_config("quick")
    tndnas.train_network(tcfg, genotype, "runs/quick-train")

Plug-in points (each a :class:`tndnas.registry.Registry`): :func:`register_op`,
:func:`register_op_set`, :func:`register_cost`, :func:`register_dataset`,
:func:`register_space`. Every error a user should read derives from :class:`TndnasError`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0.dev0"

#: public name -> the module that defines it
_API = {
    "search": "tndnas.search",
    "train_network": "tndnas.train.run",
    "load_search_config": "tndnas.config",
    "load_train_config": "tndnas.config",
    "SearchConfig": "tndnas.config",
    "TrainConfig": "tndnas.config",
    "load_genotype": "tndnas.spaces",
    "SearchSpace": "tndnas.spaces",
    "get_space": "tndnas.spaces",
    "register_space": "tndnas.spaces",
    "register_op": "tndnas.ops",
    "register_op_set": "tndnas.op_sets",
    "register_cost": "tndnas.objectives",
    "register_dataset": "tndnas.data",
    "ImageDataset": "tndnas.data",
    "load_dataset": "tndnas.data",
    "Macro": "tndnas.macro",
    "TndnasError": "tndnas.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module 'tndnas' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
