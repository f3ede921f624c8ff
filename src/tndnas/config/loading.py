"""Building a configuration: the schema's defaults, a preset, a YAML file and ``dotted.key=value``
overrides, merged in that order by OmegaConf into a structured (typed, strict) config.

OmegaConf does the merging, typing and conversion; this module turns its exceptions into one
sentence that names the key, where it came from and the fix ("did you mean ...").  OmegaConf does
not keep the path of an element of a merged list, so on an error the offending value is found
again by walking the input against the schema (:func:`_diagnose`)."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from ..atomic_write import write_text_atomic
from ..plugins import active_plugins, import_plugins, recorded_name
from . import legacy
from .fields import ConfigError
from .schema import TRAIN_PRESETS, SearchConfig
from .space_groups import search_schema, space_group, space_keys
from .train_schema import TrainConfig
from .types import (
    as_dict,
    dict_value,
    field_types,
    key_paths,
    list_element,
    section_type,
    split_optional,
    type_name,
)
from .validation import validate, validate_train
from .yaml_files import (
    file_label,
    parse_yaml,
    preset_label,
    preset_mapping,
    preset_names,
    read_config_file,
    train_preset_names,
)

__all__ = [
    "config_to_dict",
    "load_search_config",
    "load_train_config",
    "preset_names",
    "save_config",
    "train_preset_names",
]

# --------------------------------------------------------------------------------------------
# one-sentence errors
# --------------------------------------------------------------------------------------------


def _join(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def _unknown_key(cls: type, key: Any, path: str, source: str) -> ConfigError:
    full = _join(path, key)
    names = list(field_types(cls))
    moved = legacy.moved_key_hint(full) if cls.__name__ in ("StageConfig", "RewardConfig") else None
    close = difflib.get_close_matches(str(key), names, n=3, cutoff=0.6)
    hints = [_join(path, c) for c in close]
    if not hints and not path:
        # a leaf given without its section (e.g. 'lr=0.1'): suggest the full paths
        leaves = [p for p in key_paths(cls) if ".0." not in p]
        tails = {p: p.rsplit(".", 1)[-1] for p in leaves}
        close = set(difflib.get_close_matches(str(key), set(tails.values()), n=3, cutoff=0.75))
        hints = [p for p in leaves if tails[p] in close]
    if moved:
        hint = moved
    elif hints:
        hint = "did you mean " + " or ".join(f"'{h}'" for h in hints) + "?"
    else:
        where = f"'{path}'" if path else "the top level"
        hint = f"valid keys at {where}: {', '.join(names)}"
    return ConfigError(f"unknown config key '{full}' (from {source}); {hint}")


def _type_error(path: str, value: Any, tp: Any, source: str) -> ConfigError:
    return ConfigError(
        f"config key '{path or '<root>'}' has the wrong type: got {value!r} "
        f"({type(value).__name__}) from {source}; expected {type_name(tp)}"
    )


@functools.cache
def _leaf_schema(tp: Any) -> type:
    return dataclasses.make_dataclass("Leaf", [("value", tp)])


def _diagnose(tp: Any, raw: Any, path: str, source: str) -> ConfigError | None:
    """The first problem of the plain value ``raw`` given for a key of type ``tp`` at ``path``
    (an unknown key, a value of the wrong type), or None."""
    cls, elem = section_type(tp), list_element(tp)
    if raw is None:
        return None if split_optional(tp)[1] else _type_error(path, raw, tp, source)
    if cls is not None:
        if not isinstance(raw, dict):
            return _type_error(path, raw, tp, source)
        hints = field_types(cls)
        for key, value in raw.items():
            if key not in hints:
                return _unknown_key(cls, key, path, source)
            if found := _diagnose(hints[key], value, _join(path, key), source):
                return found
        return None
    if elem is not None:
        if not isinstance(raw, (list, tuple)):
            return _type_error(path, raw, tp, source)
        for i, value in enumerate(raw):
            if found := _diagnose(elem, value, _join(path, i), source):
                return found
        return None
    if (value_tp := dict_value(tp)) is not None:
        if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
            return _type_error(path, raw, tp, source)
        for key, value in raw.items():
            if found := _diagnose(value_tp, value, _join(path, key), source):
                return found
        return None
    try:  # a leaf: does OmegaConf convert it to the declared type?
        OmegaConf.merge(OmegaConf.structured(_leaf_schema(tp)), {"value": raw})
    except OmegaConfBaseException:
        return _type_error(path, raw, tp, source)
    return None


def _failed(err: OmegaConfBaseException, tp: Any, raw: Any, path: str, source: str) -> ConfigError:
    found = _diagnose(tp, raw, path, source)
    if found is not None:
        return found
    key = getattr(err, "full_key", None) or path or "<root>"  # pragma: no cover - not expected
    return ConfigError(f"invalid config key '{key}' (from {source}): {getattr(err, 'msg', err)}")


# --------------------------------------------------------------------------------------------
# the layers
# --------------------------------------------------------------------------------------------


def _merge(root: DictConfig, schema: type, data: dict, source: str) -> DictConfig:
    """``data`` (a mapping from ``source``) merged over ``root``: mappings key by key, lists
    replaced whole, each list element of a section type starting from that type's defaults."""
    if issubclass(schema, SearchConfig):
        data = legacy.upgrade(data, source, space_keys(schema))
    # OmegaConf's merge checks neither a mapping given for a list nor the elements of a list of
    # plain values: the input is checked against the schema first
    if (found := _diagnose(schema, data, "", source)) is not None:
        raise found
    try:
        merged = OmegaConf.merge(root, data)
    except (OmegaConfBaseException, TypeError, ValueError) as err:  # pragma: no cover
        raise _failed(err, schema, data, "", source) from None
    assert isinstance(merged, DictConfig)
    return merged


def _existing_key(root: DictConfig, schema: type, key: str, source: str) -> Any:
    """The type of the existing key ``key`` (dotted, list indices as integers) of ``root``; a
    one-sentence error when it does not exist."""
    parts = key.split(".")
    if any(p == "" for p in parts):
        raise ConfigError(f"malformed config key '{key}' (from {source}); use dotted.key=value")
    node: Any = root
    tp: Any = schema
    path = ""
    for part in parts:
        cls, elem, value_tp = section_type(tp), list_element(tp), dict_value(tp)
        if value_tp is not None:  # a mapping of names (e.g. stages.N.drop): any name is a key
            node, tp = (node.get(part) if isinstance(node, DictConfig) else None), value_tp
        elif cls is not None:
            if part not in field_types(cls):
                raise _unknown_key(cls, part, path, source)
            node, tp = node[part], field_types(cls)[part]
        elif elem is not None and isinstance(node, ListConfig):
            if not re.fullmatch(r"\d+", part):
                raise ConfigError(
                    f"config key '{_join(path, part)}' (from {source}): '{path}' is a list; "
                    f"index it with an integer, e.g. '{path}.0'"
                )
            if int(part) >= len(node):
                raise ConfigError(
                    f"config key '{_join(path, part)}' (from {source}): index {part} is out of "
                    f"range, '{path}' has {len(node)} entries; set the whole list instead, "
                    f"e.g. '{path}=[...]'"
                )
            node, tp = node[int(part)], elem
        else:
            raise ConfigError(
                f"config key '{_join(path, part)}' (from {source}) does not exist: "
                f"'{path}' is a value of type {type_name(tp)}, not a section"
            )
        path = _join(path, part)
    return tp


def _expand(root: DictConfig, schema: type, key: str, source: str) -> list[str]:
    """The keys a key with ``*`` indices stands for, one per list entry (``stages.*.epochs``:
    ``stages.0.epochs``, ``stages.1.epochs``, ...); a key without ``*`` stands for itself."""
    parts = key.split(".")
    if "*" not in parts:
        return [key]
    i = parts.index("*")
    head = ".".join(parts[:i])
    if head:
        _existing_key(root, schema, head, source)  # an unknown key or index: its own sentence
    node = OmegaConf.select(root, head) if head else root
    if not isinstance(node, ListConfig):
        raise ConfigError(
            f"config key '{key}' (from {source}): '*' stands for every entry of a list, but "
            f"'{head or '<root>'}' is not a list"
        )
    if len(node) == 0:
        raise ConfigError(
            f"config key '{key}' (from {source}): '*' stands for every entry of '{head}', "
            "which is empty; set the whole list instead"
        )
    rest = ".".join(parts[i + 1 :])
    keys = [f"{head}.{j}" + (f".{rest}" if rest else "") for j in range(len(node))]
    return [k for concrete in keys for k in _expand(root, schema, concrete, source)]


def _override(root: DictConfig, schema: type, item: str) -> None:
    """Apply one ``dotted.key=value`` override (the value is YAML) to ``root``; a ``*`` index
    applies it to every entry of that list."""
    source = f"override '{item}'"
    if "=" not in item:
        raise ConfigError(
            f"malformed override '{item}'; write dotted.key=value, e.g. 'stages.0.epochs=5'"
        )
    key, text = (part.strip() for part in item.split("=", 1))
    if not key:
        raise ConfigError(f"malformed override '{item}': empty key; write dotted.key=value")
    value = parse_yaml(text, source) if text else None
    if (
        issubclass(schema, SearchConfig) and key.split(".")[0] == "stages"
    ):  # old stages.N.drop_<type> keys
        key, value = legacy.upgrade_drop_override(key, value, source)
    for concrete in _expand(root, schema, key, source):
        tp = _existing_key(root, schema, concrete, source)
        if (found := _diagnose(tp, value, concrete, source)) is not None:
            raise found
        try:
            with open_dict(root):  # the key was checked above; a mapping of names may gain one
                OmegaConf.update(root, concrete, value, merge=True)
        except (OmegaConfBaseException, TypeError, ValueError) as err:  # pragma: no cover
            raise _failed(err, tp, value, concrete, source) from None


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
    overrides = [overrides] if isinstance(overrides, str) else list(overrides)
    layers = []
    if preset is not None:
        layers.append((preset_mapping(preset, preset_kind), preset_label(preset, preset_kind)))
    if config_file is not None:
        layers.append((read_config_file(config_file), file_label(config_file)))
    kind = schema
    if schema is SearchConfig:  # the space's own group of keys (space.name decides which)
        name, space_cls = space_group(layers, overrides)
        root = OmegaConf.structured(SearchConfig(space=space_cls()))
        kind = search_schema(space_cls, name)
    else:
        root = OmegaConf.structured(schema)
    OmegaConf.set_struct(root, True)
    for data, source in layers:
        root = _merge(root, kind, data, source)
    for item in overrides:
        _override(root, kind, item)
    cfg = OmegaConf.to_object(root)
    assert isinstance(cfg, schema)
    # users' own registrations (tndnas --plugin, or the config's plugins list) before validation
    cfg.plugins = list(dict.fromkeys(map(recorded_name, [*active_plugins(), *cfg.plugins])))
    import_plugins(cfg.plugins)
    return cfg


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


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
    return as_dict(cfg)


def save_config(cfg: SearchConfig | TrainConfig, path: str | os.PathLike) -> None:
    """Write ``cfg`` as YAML; ``load_search_config(config_file=path)`` (or
    ``load_train_config`` for a :class:`TrainConfig`) reads it back equal."""
    what = "train" if isinstance(cfg, TrainConfig) else "search"
    save_config_dict(config_to_dict(cfg), path, what)


def save_config_dict(data: dict, path: str | os.PathLike, what: str, source: str = "") -> None:
    """Write a config's plain form (``config_to_dict``, or a checkpoint's record of it) as the
    YAML of ``save_config``; ``what``: search or train; ``source``: where it came from."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    note = f"; written again from {source}" if source else ""
    write_text_atomic(path, f"# tndnas {what} configuration (complete, as resolved{note})\n" + text)
