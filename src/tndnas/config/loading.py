"""Building a configuration: dataclass defaults, a preset, a YAML file and ``dotted.key=value``
overrides merged into an OmegaConf structured tree, with one-line errors ("did you mean ...")."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import os
import re
import types
import typing
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Union

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..plugins import active_plugins, import_plugins, recorded_name
from .fields import ConfigError
from .schema import TRAIN_PRESETS, SearchConfig
from .train_schema import TrainConfig
from .validation import validate, validate_train

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
