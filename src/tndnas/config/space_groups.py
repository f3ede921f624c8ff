"""Which group of ``space`` keys a search config has: the one of the space ``space.name``
names (in a preset, a file or an override), after the plug-ins the config names are imported
(a plug-in's space brings its own group)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

from ..plugins import active_plugins, import_plugins, recorded_name
from .fields import ConfigError
from .schema import SearchConfig
from .space_schema import SPACE_CONFIGS
from .types import field_types
from .yaml_files import parse_yaml


def override_value(overrides: Sequence[str], key: str) -> Any:
    """The last value an override gives ``key`` (``key=...``, or within ``parent={...}``)."""
    found = None
    parent, _, leaf = key.rpartition(".")
    for item in overrides:
        k, sep, text = (part.strip() for part in item.partition("="))
        if not sep:
            continue
        if k == key:
            found = parse_yaml(text, f"override '{item}'") if text else None
        elif k == parent:
            value = parse_yaml(text, f"override '{item}'") if text else None
            if isinstance(value, dict) and leaf in value:
                found = value[leaf]
    return found


def space_group(layers: Sequence[tuple[dict, str]], overrides: Sequence[str]) -> tuple[str, type]:
    """The space the layers and overrides name (default ``darts``) and its ``space`` group,
    after importing the plug-ins they name (a plug-in's space brings its own group)."""
    plugins = [*active_plugins()]
    name: Any = "darts"
    for data, _ in layers:
        plugins += [p for p in data.get("plugins") or [] if isinstance(p, str)]
        space = data.get("space")
        if isinstance(space, dict) and "name" in space:
            name = space["name"]
    extra = override_value(overrides, "plugins")
    plugins += [p for p in extra or [] if isinstance(p, str)] if isinstance(extra, list) else []
    name = override_value(overrides, "space.name") or name
    import_plugins(list(dict.fromkeys(map(recorded_name, plugins))))
    if not isinstance(name, str):
        raise ConfigError(f"space.name must name a search space, got {name!r}")
    try:
        return name, SPACE_CONFIGS.get(name)
    except KeyError as err:
        raise ConfigError(f"space.name: {err}") from None


@functools.cache
def search_schema(space_cls: type, name: str) -> type:
    """:class:`SearchConfig` with its ``space`` key typed as ``space_cls`` (the group of the
    space ``name``): the schema that errors and key lists are worded from."""
    schema = dataclasses.make_dataclass(
        "SearchConfig",
        [("space", space_cls, dataclasses.field(default_factory=space_cls))],
        bases=(SearchConfig,),
    )
    schema.space_name = name
    return schema


def space_keys(schema: type) -> tuple[str, tuple[str, ...]]:
    """The name of the space whose group ``schema`` has, and the group's keys."""
    group = field_types(schema)["space"]
    return getattr(schema, "space_name", "darts"), tuple(f.name for f in dataclasses.fields(group))
