"""Typed configurations: dataclasses, YAML presets, dotted overrides and validation.

Two schemas share the machinery below: :class:`SearchConfig` (``tndnas search``) and
:class:`TrainConfig` (``tndnas train``, the evaluation training of a found genotype).
A configuration is built in layers, each merged over the previous one:

1. the dataclass defaults below;
2. a named preset (search: ``src/tndnas/configs/<name>.yaml``, see :func:`preset_names`;
   train: ``src/tndnas/configs/train/<name>.yaml``, see :func:`train_preset_names`);
3. a user YAML file;
4. command-line overrides ``dotted.key=value`` (``stages.2.costs.0.beta=-0.8``,
   ``policy.betas=[0.9,0.99]``, ``dataset.data_dir=null``).

Mappings are merged key by key; lists (``stages``, ``stages.N.costs``, ``policy.betas``) are
replaced wholesale, and every stage entry takes the :class:`StageConfig` defaults for the keys
it omits. Storage and type conversion use OmegaConf structured configs; every problem (an
unknown key, an ill-typed value, a malformed override, a missing file, a semantic error found
by :func:`validate`) is raised as a one-line :class:`ConfigError`.
"""

from .fields import ConfigError
from .loading import (
    config_to_dict,
    load_search_config,
    load_train_config,
    preset_names,
    save_config,
    save_config_dict,
    train_preset_names,
)
from .schema import (
    COMPILE_MODES,
    DEFAULT_PRESET,
    DEFAULT_TRAIN_PRESET,
    MEMORY_CHECKS,
    TRAIN_PRESETS,
    WEIGHT_MODES,
    CostTerm,
    DatasetConfig,
    FamilyConfig,
    PolicyConfig,
    RewardConfig,
    SearchConfig,
    SGDConfig,
    StageConfig,
    TargetConfig,
    WeightsConfig,
)
from .space_schema import DartsSpaceConfig, Nb201SpaceConfig, SpaceConfig
from .train_schema import TrainConfig
from .validation import validate, validate_train

__all__ = [
    "COMPILE_MODES",
    "ConfigError",
    "CostTerm",
    "DatasetConfig",
    "DEFAULT_PRESET",
    "DEFAULT_TRAIN_PRESET",
    "MEMORY_CHECKS",
    "FamilyConfig",
    "PolicyConfig",
    "RewardConfig",
    "SearchConfig",
    "SGDConfig",
    "DartsSpaceConfig",
    "Nb201SpaceConfig",
    "SpaceConfig",
    "StageConfig",
    "TargetConfig",
    "TRAIN_PRESETS",
    "TrainConfig",
    "WEIGHT_MODES",
    "WeightsConfig",
    "config_to_dict",
    "load_search_config",
    "load_train_config",
    "preset_names",
    "save_config",
    "save_config_dict",
    "train_preset_names",
    "validate",
    "validate_train",
]
