"""Typed configurations: dataclasses, YAML presets, dotted overrides and validation.

Two schemas share the machinery below: :class:`SearchConfig` (``tndnas search``) and
:class:`TrainConfig` (``tndnas train``, the evaluation training of a found genotype).
A configuration is built in layers, each merged over the previous one:

1. the dataclass defaults below;
2. a named preset (search: ``src/tndnas/configs/<name>.yaml``, see :func:`preset_names`;
   train: ``src/tndnas/configs/train/<name>.yaml``, see :func:`train_preset_names`);
3. a user YAML file;
4. command-line overrides ``dotted.key=value`` (``stages.2.beta=-0.8``,
   ``policy.betas=[0.9,0.99]``, ``dataset.data_dir=null``).

Mappings are merged key by key; lists (``stages``, ``extra_costs``, ``policy.betas``) are
replaced wholesale, and every stage entry takes the :class:`StageConfig` defaults for the keys
it omits. Storage and type conversion use OmegaConf structured configs; every problem (an
unknown key, an ill-typed value, a malformed override, a missing file, a semantic error found
by :func:`validate`) is raised as a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import math
import os
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Union

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .plugins import active_plugins, import_plugins, recorded_name

__all__ = [
    "ConfigError",
    "CostTerm",
    "DatasetConfig",
    "DEFAULT_PRESET",
    "PolicyConfig",
    "RewardConfig",
    "SearchConfig",
    "SpaceConfig",
    "StageConfig",
    "TargetConfig",
    "TrainConfig",
    "WeightsConfig",
    "DEFAULT_TRAIN_PRESET",
    "config_to_dict",
    "load_search_config",
    "load_train_config",
    "preset_names",
    "save_config",
    "train_preset_names",
    "validate",
    "validate_train",
]

#: The preset a command line uses when none is named: small enough for a laptop CPU.
DEFAULT_PRESET = "quick"

#: The train preset ``tndnas train`` uses when none is named.
DEFAULT_TRAIN_PRESET = "quick"

#: Sub-folder of ``configs/`` holding the train presets ("" = the search presets).
TRAIN_PRESETS = "train"

WEIGHT_MODES = ("mixed", "sampled")

#: What a search does when a stage's estimated weight-step memory exceeds what is available.
MEMORY_CHECKS = ("error", "warn", "ignore")

#: ``torch.compile`` modes for ``weights.compile_mode``.  The CUDA-graph modes
#: ("reduce-overhead", "max-autotune") are left out: a graph's output buffer is reused by its
#: next replay while a sampled path's wiring may still hold it.
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")


class ConfigError(ValueError):
    """A bad configuration key or value; the message is one line naming the key and the fix."""

    def __init__(self, message: str):
        super().__init__(re.sub(r"\s*\n\s*", " ", str(message)).strip())


# --------------------------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------------------------


@dataclass
class DatasetConfig:
    name: str = "digits"  # digits | cifar10 | cifar100 | imagefolder | any registered reader
    data_dir: str | None = None  # None = the reader's default location
    download: bool = False
    arch_fraction: float = 0.5  # share of the training set in the architecture half


@dataclass
class SpaceConfig:
    normal_ops: str = "tnd-normal"  # named op set of normal-cell edges
    reduce_ops: str = "tnd-reduce"  # named op set of reduction-cell edges
    channels: int = 24  # supernet initial width C
    steps: int = 4  # intermediate nodes per cell


@dataclass
class CostTerm:
    """One extra weighted term ``w_i (cost_i / P_i)^beta_i`` of Eq. (10)."""

    cost: str = "flops"
    weight: float = 0.0
    ref: float = 1.0
    beta: float = 0.0
    beta_below: float | None = None  # exponent while cost <= ref (None: beta); 0 makes ref a budget


@dataclass
class StageConfig:
    """One stage k of Algorithm 2 (progressive search)."""

    layers: int = 5  # L_k (Eq. 12)
    epochs: int = 25
    pretrain_epochs: int = 10  # e_k: weight-only epochs before alpha updates start
    drop_normal: int = 0  # n_k for normal cells (Eq. 11)
    drop_reduce: int = 0  # n_k for reduction cells
    ref: float = 1.0  # P of the primary cost (Eq. 9), in that cost's unit
    beta: float = 0.0  # beta of the primary cost (Eq. 9)
    beta_below: float | None = None  # exponent while cost <= ref (None: beta); 0 makes ref a budget
    skip_dropout: float = (
        0.0  # stage's starting rate of dropout after skip_connect (weights.skip_dropout_schedule)
    )
    extra_costs: list[CostTerm] = field(default_factory=list)  # further Eq. (10) terms


@dataclass
class RewardConfig:
    accuracy: bool = True  # multiply by Acc; False searches on the costs alone
    cost: str = "params"  # primary cost: a registered cost name
    weight: float = 1.0  # weight of the primary term; sums to 1 with extra_costs (Eq. 10)
    latency_table: str | None = (
        None  # JSON from tndnas latency-table; needed by the latency_ms cost
    )


@dataclass
class TargetConfig:
    """The final evaluation network on which costs are measured."""

    channels: int = 24
    layers: int = 20
    auxiliary: bool = False


@dataclass
class WeightsConfig:
    """SGD on the supernet weights (Eq. 3)."""

    mode: str = "mixed"  # mixed (Eq. 1) | sampled (one path from the policy per step)
    batch_size: int = 128
    lr: float = 0.025
    lr_min: float = 0.0  # cosine schedule floor
    momentum: float = 0.9
    weight_decay: float = 4e-5
    grad_clip: float = 5.0
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0
    max_steps_per_epoch: int | None = None  # cap on steps per epoch (None = the whole weight half)
    skip_dropout_schedule: str = "pdarts"  # pdarts (decays within a stage) | constant
    skip_dropout_decay: float = 0.2  # pdarts: rate = start * exp(-decay * epochs since alpha began)
    channels_last: bool = True  # channels-last memory format for supernet and batches
    checkpoint: bool = False  # recompute each cell in backward (activation checkpointing)
    amp: bool = True  # bf16 autocast on CUDA (ignored on the CPU)
    compile: bool = False  # torch.compile every candidate op, preprocessing and the stem
    compile_mode: str = "default"  # torch.compile mode: default | max-autotune-no-cudagraphs
    memory_check: str = "error"  # estimate each stage's step memory first: error | warn | ignore


@dataclass
class PolicyConfig:
    """REINFORCE on alpha (Eqs. 4-8)."""

    samples: int = 10  # M architectures sampled per update
    rl_interval: int = 1  # update alpha every this many weight steps
    arch_batch_size: int = 128  # images of the architecture half scored per update (Table III)
    lr: float = 0.01  # Adam
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = 0.0  # on alpha; the authors' logged searches ran 0 (their default: 1e-3)
    grad_clip: float = 5.0  # 0 = off
    baseline_decay: float = 0.95  # b <- decay*b + (1-decay)*mean(R), after the update
    baseline: str = "leave_one_out"  # leave_one_out (other samples' mean) | previous (paper) | current (authors' code)
    weight_decay_mode: str = "coupled"  # coupled (Adam, the authors' code) | decoupled (AdamW)
    normalize_advantage: bool = False  # divide R - b by the std of the M rewards
    entropy_weight: float = 0.0
    argmax_every: int = 10  # also score the argmax architecture every N updates
    eval_images: int = 2048  # architecture-half images for the per-epoch accuracies
    cuda_graphs: bool = False  # score samples with each multi-kernel op replayed from a CUDA graph


@dataclass
class SearchConfig:
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    plugins: list[str] = field(default_factory=list)  # modules or .py files imported first
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    weights: WeightsConfig = field(default_factory=WeightsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    stages: list[StageConfig] = field(default_factory=lambda: [StageConfig()])


@dataclass
class TrainConfig:
    """Evaluation training of one genotype from scratch (DARTS / P-DARTS protocol, Table V).

    The defaults are the CIFAR-10 protocol: 20 cells of initial width 36, 600 epochs of SGD
    with cosine learning rate, cutout 16, drop-path 0.3 and an auxiliary head of weight 0.4.
    """

    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    plugins: list[str] = field(default_factory=list)  # modules or .py files imported first
    dataset: DatasetConfig = field(default_factory=DatasetConfig)  # arch_fraction is unused
    channels: int = 36  # initial cell width C
    layers: int = 20  # cells
    auxiliary: bool = True  # auxiliary head after 2/3 of the cells (training only)
    auxiliary_weight: float = 0.4  # loss = CE(logits) + auxiliary_weight * CE(aux_logits)
    drop_path: float = 0.3  # final drop-path probability, ramped linearly from 0
    epochs: int = 600
    batch_size: int = 128
    lr: float = 0.025
    lr_min: float = 0.0  # cosine schedule floor
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0  # 0 = off
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 16
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    channels_last: bool = True  # NHWC memory format (faster on CPU and GPU)
    max_steps_per_epoch: int | None = None  # cap on steps per epoch (None = the whole train set)


# --------------------------------------------------------------------------------------------
# schema introspection helpers
# --------------------------------------------------------------------------------------------

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _HINTS[cls]


def _split_optional(tp: Any) -> tuple[Any, bool]:
    """(inner type, is_optional) for ``X | None`` / ``Optional[X]``; (tp, False) otherwise."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(tp)):
            return args[0], True
    return tp, False


def _list_elem(tp: Any) -> Any | None:
    """Element type of ``list[X]``, else None."""
    if typing.get_origin(tp) is list:
        (elem,) = typing.get_args(tp) or (Any,)
        return elem
    return None


def _is_dc(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    inner, optional = _split_optional(tp)
    elem = _list_elem(inner)
    if elem is not None:
        name = f"list of {_type_name(elem)}"
    elif _is_dc(inner):
        name = f"mapping of {inner.__name__} keys"
    else:
        name = getattr(inner, "__name__", str(inner))
    return f"{name} or null" if optional else name


def _all_paths(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key path of a dataclass schema (list elements as index 0)."""
    out = []
    for name, tp in _hints(cls).items():
        path = f"{prefix}{name}"
        out.append(path)
        inner, _ = _split_optional(tp)
        elem = _list_elem(inner)
        if _is_dc(inner):
            out.extend(_all_paths(inner, path + "."))
        elif elem is not None and _is_dc(elem):
            out.extend(_all_paths(elem, path + ".0."))
    return out


def _join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def _unknown_key(cls: type, key: Any, path: str, source: str) -> ConfigError:
    full = _join(path, key)
    names = list(_hints(cls))
    close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.6)
    hints = [_join(path, c) for c in close]
    if not hints and not path:
        # a leaf given without its section (e.g. 'lr=0.1'): suggest the full paths
        leaves = [p for p in _all_paths(cls) if ".0." not in p]
        tails = {p: p.rsplit(".", 1)[-1] for p in leaves}
        close = set(difflib.get_close_matches(str(key), set(tails.values()), n=3, cutoff=0.75))
        hints = [p for p in leaves if tails[p] in close]
    if hints:
        hint = "did you mean " + " or ".join(f"'{h}'" for h in hints) + "?"
    else:
        where = f"'{path}'" if path else "the top level"
        hint = f"valid keys at {where}: {', '.join(names)}"
    return ConfigError(f"unknown config key '{full}' (from {source}); {hint}")


def _type_error(path: str, value: Any, tp: Any, source: str) -> ConfigError:
    return ConfigError(
        f"config key '{path}' has the wrong type: got {value!r} ({type(value).__name__}) "
        f"from {source}; expected {_type_name(tp)}"
    )


# --------------------------------------------------------------------------------------------
# merging raw values into the OmegaConf tree
# --------------------------------------------------------------------------------------------


def _merge_mapping(node: DictConfig, cls: type, raw: Any, path: str, source: str) -> None:
    """Merge a plain mapping ``raw`` into the structured node ``node`` of dataclass ``cls``."""
    if not isinstance(raw, dict):
        raise _type_error(path or "<root>", raw, cls, source)
    hints = _hints(cls)
    for key, value in raw.items():
        if key not in hints:
            raise _unknown_key(cls, key, path, source)
        _assign(node, key, hints[key], value, _join(path, key), source)


def _build_element(cls: type, raw: Any, path: str, source: str) -> DictConfig:
    node = OmegaConf.structured(cls)
    OmegaConf.set_struct(node, True)
    _merge_mapping(node, cls, raw, path, source)
    return node


def _assign(
    parent: DictConfig | ListConfig, key: str | int, tp: Any, value: Any, path: str, source: str
) -> None:
    """Set ``parent[key]`` (declared type ``tp``) from a plain value: mappings of dataclasses
    merge key by key, lists of dataclasses are rebuilt from defaults, leaves are converted
    by OmegaConf."""
    inner, optional = _split_optional(tp)
    elem = _list_elem(inner)
    if value is None and not optional:
        raise _type_error(path, value, tp, source)
    if value is not None and _is_dc(inner):
        _merge_mapping(parent[key], inner, value, path, source)
        return
    if value is not None and elem is not None:
        if not isinstance(value, (list, tuple)):
            raise _type_error(path, value, tp, source)
        if _is_dc(elem):
            value = [_build_element(elem, v, _join(path, i), source) for i, v in enumerate(value)]
        else:
            value = list(value)
    try:
        OmegaConf.update(parent, str(key), value, merge=False)
    except OmegaConfBaseException:
        raise _type_error(path, value, tp, source) from None


def _walk_override(
    root: DictConfig, schema: type, key: str, source: str
) -> tuple[Any, str | int, Any]:
    """Resolve a dotted override key of a ``schema`` tree to (parent node, last key, type)."""
    parts = key.split(".")
    if any(p == "" for p in parts):
        raise ConfigError(f"malformed config key '{key}' (from {source}); use dotted.key=value")
    node: Any = root
    tp: Any = schema
    path = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        inner, _ = _split_optional(tp)
        elem = _list_elem(inner)
        if _is_dc(inner):
            hints = _hints(inner)
            if part not in hints:
                raise _unknown_key(inner, part, path, source)
            k: str | int = part
            child_tp = hints[part]
        elif elem is not None:
            if not re.fullmatch(r"\d+", part):
                raise ConfigError(
                    f"config key '{_join(path, part)}' (from {source}): '{path}' is a list; "
                    f"index it with an integer, e.g. '{path}.0'"
                )
            k = int(part)
            if node is None or k >= len(node):
                size = 0 if node is None else len(node)
                raise ConfigError(
                    f"config key '{_join(path, part)}' (from {source}): index {k} is out of range, "
                    f"'{path}' has {size} entries; set the whole list instead, "
                    f"e.g. '{path}=[...]'"
                )
            child_tp = elem
        else:
            raise ConfigError(
                f"config key '{_join(path, part)}' (from {source}) does not exist: "
                f"'{path}' is a value of type {_type_name(tp)}, not a section"
            )
        if last:
            return node, k, child_tp
        node = node[k]
        tp = child_tp
        path = _join(path, part)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------------


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available
    """SafeLoader that also reads ``1e-3`` (no dot) as a float, as YAML 1.2 and OmegaConf do."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _parse_yaml_text(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"cannot parse {source}{where}: {problem}") from None


def _load_yaml_mapping(text: str, source: str) -> dict:
    data = _parse_yaml_text(text, source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source} must hold a mapping of config keys, not a {type(data).__name__}"
        )
    return data


def _presets_dir(kind: str = "") -> Any:
    folder = resources.files("tndnas") / "configs"
    return folder / kind if kind else folder


def _names_in(kind: str) -> list[str]:
    folder = _presets_dir(kind)
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_names() -> list[str]:
    """Names of the bundled search presets (``src/tndnas/configs/*.yaml``), sorted."""
    return _names_in("")


def train_preset_names() -> list[str]:
    """Names of the bundled train presets (``src/tndnas/configs/train/*.yaml``), sorted."""
    return _names_in(TRAIN_PRESETS)


def _preset_label(name: str, kind: str) -> str:
    return f"{kind} preset '{name}'" if kind else f"preset '{name}'"


@functools.cache
def _preset_data(name: str, kind: str = "") -> dict:
    return _load_yaml_mapping(_preset_text(name, kind), _preset_label(name, kind))


def _preset_text(name: str, kind: str = "") -> str:
    names = _names_in(kind)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        what = f"{kind} preset" if kind else "preset"
        raise ConfigError(f"unknown {what} '{name}'; {hint}available {what}s: {', '.join(names)}")
    return (_presets_dir(kind) / f"{name}.yaml").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def _load_config(
    schema: type,
    preset_kind: str,
    preset: str | None,
    config_file: str | os.PathLike | None,
    overrides: Sequence[str],
) -> Any:
    """An instance of dataclass ``schema`` from its defaults, a preset (from the
    ``preset_kind`` folder), a YAML file and ``dotted.key=value`` overrides, in that order.
    Not validated semantically."""
    root = OmegaConf.structured(schema)
    OmegaConf.set_struct(root, True)

    if preset is not None:
        data = copy.deepcopy(_preset_data(preset, preset_kind))
        _merge_mapping(root, schema, data, "", _preset_label(preset, preset_kind))

    if config_file is not None:
        path = Path(config_file)
        source = f"file '{path}'"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file '{path}' does not exist") from None
        except OSError as e:
            raise ConfigError(f"cannot read config file '{path}': {e.strerror or e}") from None
        _merge_mapping(root, schema, _load_yaml_mapping(text, source), "", source)

    if isinstance(overrides, str):
        overrides = [overrides]
    for item in overrides:
        source = f"override '{item}'"
        if "=" not in item:
            raise ConfigError(
                f"malformed override '{item}'; write dotted.key=value, e.g. 'stages.0.epochs=5'"
            )
        key, text = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"malformed override '{item}': empty key; write dotted.key=value")
        value = _parse_yaml_text(text, source) if text.strip() else None
        parent, last, tp = _walk_override(root, schema, key, source)
        _assign(parent, last, tp, value, key, source)

    try:
        cfg = OmegaConf.to_object(root)
    except OmegaConfBaseException as e:  # pragma: no cover - all values are set above
        raise ConfigError(f"invalid configuration: {getattr(e, 'msg', e)}") from None
    assert isinstance(cfg, schema)
    # users' own registrations (tndnas --plugin, or the config's plugins list) before validation
    cfg.plugins = list(dict.fromkeys(map(recorded_name, [*active_plugins(), *cfg.plugins])))
    import_plugins(cfg.plugins)
    return cfg


def load_search_config(
    preset: str | None = None,
    config_file: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
) -> SearchConfig:
    """Build a validated :class:`SearchConfig` from defaults, a preset, a YAML file and
    ``dotted.key=value`` overrides, merged in that order."""
    return validate(_load_config(SearchConfig, "", preset, config_file, overrides))


def load_train_config(
    preset: str | None = None,
    config_file: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
) -> TrainConfig:
    """Build a validated :class:`TrainConfig` from defaults, a train preset
    (``configs/train/<preset>.yaml``), a YAML file and ``dotted.key=value`` overrides,
    merged in that order."""
    return validate_train(_load_config(TrainConfig, TRAIN_PRESETS, preset, config_file, overrides))


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _positive_int(value: Any, key: str, minimum: int = 1) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
        f"{key}={value!r} is invalid; use an integer >= {minimum}",
    )


def _finite(value: Any, key: str) -> None:
    _check(
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        f"{key}={value!r} is invalid; use a finite number",
    )


def _at_least(value: Any, key: str, lo: float, strict: bool = False) -> None:
    _finite(value, key)
    ok = value > lo if strict else value >= lo
    _check(ok, f"{key}={value!r} is invalid; use a value {'>' if strict else '>='} {lo:g}")


def _in_unit(value: Any, key: str, lo_open: bool = False) -> None:
    """lo <= value < 1 (or 0 < value < 1 when lo_open)."""
    _finite(value, key)
    ok = (0 < value < 1) if lo_open else (0 <= value < 1)
    _check(ok, f"{key}={value!r} is invalid; use {'0 <' if lo_open else '0 <='} value < 1")


def _check_device(device: Any) -> None:
    _check(
        isinstance(device, str) and re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device) is not None,
        f"device={device!r} is invalid; use auto, cpu, cuda or cuda:N",
    )


def validate(cfg: SearchConfig) -> SearchConfig:
    """Semantic checks the types alone cannot express; returns ``cfg`` or raises ConfigError.

    Op-set names, cost names and dataset readers are checked by their registries.
    """
    _check(isinstance(cfg, SearchConfig), f"expected a SearchConfig, got {type(cfg).__name__}")
    _positive_int(cfg.seed, "seed", 0)
    _check_device(cfg.device)

    d = cfg.dataset
    _check(bool(d.name), "dataset.name is empty; use digits, cifar10, cifar100 or imagefolder")
    _in_unit(d.arch_fraction, "dataset.arch_fraction", lo_open=True)

    s = cfg.space
    _check(bool(s.normal_ops), "space.normal_ops is empty; name an op set, e.g. tnd-normal")
    _check(bool(s.reduce_ops), "space.reduce_ops is empty; name an op set, e.g. tnd-reduce")
    _positive_int(s.channels, "space.channels")
    _positive_int(s.steps, "space.steps")

    w = cfg.weights
    _check(
        w.mode in WEIGHT_MODES,
        f"weights.mode={w.mode!r} is invalid; use one of: {', '.join(WEIGHT_MODES)}",
    )
    _check(
        w.compile_mode in COMPILE_MODES,
        f"weights.compile_mode={w.compile_mode!r} is invalid; use one of: {', '.join(COMPILE_MODES)}",
    )
    _check(
        w.memory_check in MEMORY_CHECKS,
        f"weights.memory_check={w.memory_check!r} is invalid; use one of: {', '.join(MEMORY_CHECKS)}",
    )
    _positive_int(w.batch_size, "weights.batch_size")
    _at_least(w.lr, "weights.lr", 0, strict=True)
    _at_least(w.lr_min, "weights.lr_min", 0)
    _check(
        w.lr_min <= w.lr,
        f"weights.lr_min={w.lr_min!r} exceeds weights.lr={w.lr!r}; set lr_min <= lr",
    )
    _in_unit(w.momentum, "weights.momentum")
    _at_least(w.weight_decay, "weights.weight_decay", 0)
    _at_least(w.grad_clip, "weights.grad_clip", 0)
    _positive_int(w.crop_padding, "weights.crop_padding", 0)
    _positive_int(w.cutout, "weights.cutout", 0)
    _at_least(w.skip_dropout_decay, "weights.skip_dropout_decay", 0)
    if w.max_steps_per_epoch is not None:
        _positive_int(w.max_steps_per_epoch, "weights.max_steps_per_epoch")

    p = cfg.policy
    _positive_int(p.samples, "policy.samples")
    _positive_int(p.rl_interval, "policy.rl_interval")
    _positive_int(p.arch_batch_size, "policy.arch_batch_size")
    _at_least(p.lr, "policy.lr", 0, strict=True)
    _check(
        len(p.betas) == 2,
        f"policy.betas={list(p.betas)!r} is invalid; give two Adam betas, e.g. [0.5, 0.999]",
    )
    for i, b in enumerate(p.betas):
        _in_unit(b, f"policy.betas.{i}")
    _at_least(p.weight_decay, "policy.weight_decay", 0)
    _at_least(p.grad_clip, "policy.grad_clip", 0)
    _in_unit(p.baseline_decay, "policy.baseline_decay")
    _check(
        p.baseline in ("previous", "current", "leave_one_out"),
        f"policy.baseline={p.baseline!r} is invalid; use 'leave_one_out' (the other samples' mean), 'previous' (the paper) or 'current' (the authors' code)",
    )
    _check(
        p.weight_decay_mode in ("coupled", "decoupled"),
        f"policy.weight_decay_mode={p.weight_decay_mode!r} is invalid; use 'coupled' (Adam, the authors' code) or 'decoupled' (AdamW)",
    )
    _finite(p.entropy_weight, "policy.entropy_weight")
    _positive_int(p.argmax_every, "policy.argmax_every")
    _positive_int(p.eval_images, "policy.eval_images")

    r = cfg.reward
    _check(bool(r.cost), "reward.cost is empty; name a registered cost, e.g. params or flops")
    _at_least(r.weight, "reward.weight", 0)

    t = cfg.target
    _positive_int(t.channels, "target.channels")
    _positive_int(t.layers, "target.layers", 3)

    _check(len(cfg.stages) >= 1, "stages is empty; give at least one stage")
    prev_layers = None
    for k, st in enumerate(cfg.stages):
        key = f"stages.{k}"
        _positive_int(st.layers, f"{key}.layers", 3)
        if prev_layers is not None:
            _check(
                st.layers >= prev_layers,
                f"{key}.layers={st.layers} is smaller than stages.{k - 1}.layers={prev_layers}; "
                "stage depths must not decrease (Eq. 12)",
            )
        prev_layers = st.layers
        _positive_int(st.epochs, f"{key}.epochs")
        _positive_int(st.pretrain_epochs, f"{key}.pretrain_epochs", 0)
        _check(
            st.pretrain_epochs <= st.epochs,
            f"{key}.pretrain_epochs={st.pretrain_epochs} exceeds {key}.epochs={st.epochs}; "
            "set pretrain_epochs <= epochs",
        )
        _positive_int(st.drop_normal, f"{key}.drop_normal", 0)
        _positive_int(st.drop_reduce, f"{key}.drop_reduce", 0)
        _at_least(st.ref, f"{key}.ref", 0, strict=True)
        _finite(st.beta, f"{key}.beta")
        if st.beta_below is not None:
            _finite(st.beta_below, f"{key}.beta_below")
        _in_unit(st.skip_dropout, f"{key}.skip_dropout")
        for j, term in enumerate(st.extra_costs):
            tkey = f"{key}.extra_costs.{j}"
            _check(bool(term.cost), f"{tkey}.cost is empty; name a registered cost, e.g. flops")
            _at_least(term.weight, f"{tkey}.weight", 0)
            _at_least(term.ref, f"{tkey}.ref", 0, strict=True)
            _finite(term.beta, f"{tkey}.beta")
            if term.beta_below is not None:
                _finite(term.beta_below, f"{tkey}.beta_below")
        if st.extra_costs:
            total = r.weight + sum(term.weight for term in st.extra_costs)
            _check(
                abs(total - 1.0) <= 1e-6,
                f"reward.weight + sum({key}.extra_costs.*.weight) = {total:.6g}, "
                "but the weights of Eq. (10) must sum to 1; adjust reward.weight or the "
                "extra_costs weights",
            )
    return cfg


def validate_train(cfg: TrainConfig) -> TrainConfig:
    """Semantic checks of a :class:`TrainConfig`; returns ``cfg`` or raises ConfigError.

    The dataset name is checked by the dataset registry when the data is loaded.
    """
    _check(isinstance(cfg, TrainConfig), f"expected a TrainConfig, got {type(cfg).__name__}")
    _positive_int(cfg.seed, "seed", 0)
    _check_device(cfg.device)
    _check(
        bool(cfg.dataset.name),
        "dataset.name is empty; use digits, cifar10, cifar100 or imagefolder",
    )
    _positive_int(cfg.channels, "channels")
    _positive_int(cfg.layers, "layers", 3)
    _at_least(cfg.auxiliary_weight, "auxiliary_weight", 0)
    _in_unit(cfg.drop_path, "drop_path")
    _positive_int(cfg.epochs, "epochs")
    _positive_int(cfg.batch_size, "batch_size")
    _at_least(cfg.lr, "lr", 0, strict=True)
    _at_least(cfg.lr_min, "lr_min", 0)
    _check(cfg.lr_min <= cfg.lr, f"lr_min={cfg.lr_min!r} exceeds lr={cfg.lr!r}; set lr_min <= lr")
    _in_unit(cfg.momentum, "momentum")
    _at_least(cfg.weight_decay, "weight_decay", 0)
    _at_least(cfg.grad_clip, "grad_clip", 0)
    _positive_int(cfg.crop_padding, "crop_padding", 0)
    _positive_int(cfg.cutout, "cutout", 0)
    if cfg.max_steps_per_epoch is not None:
        _positive_int(cfg.max_steps_per_epoch, "max_steps_per_epoch")
    return cfg


def config_to_dict(cfg: SearchConfig | TrainConfig) -> dict:
    """Plain nested dict/list/scalar form of a config (YAML/JSON serialisable)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: SearchConfig | TrainConfig, path: str | os.PathLike) -> None:
    """Write ``cfg`` as YAML; ``load_search_config(config_file=path)`` (or
    ``load_train_config`` for a :class:`TrainConfig`) reads it back equal."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    what = "train" if isinstance(cfg, TrainConfig) else "search"
    text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=None)
    path.write_text(f"# tndnas {what} configuration (complete, as resolved)\n" + text, "utf-8")
