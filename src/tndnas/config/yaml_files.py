"""Reading configuration YAML: user files and the bundled presets, each error one sentence."""

from __future__ import annotations

import difflib
import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .fields import ConfigError
from .schema import TRAIN_PRESETS


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available
    """SafeLoader that also reads ``1e-3`` (no dot) as a float, as YAML 1.2 and OmegaConf do."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, source: str) -> Any:
    """The value of one YAML document (an override's value, a file's text)."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"cannot parse {source}{where}: {problem}") from None


def yaml_mapping(text: str, source: str) -> dict:
    """The mapping of config keys a YAML text holds (empty text: an empty mapping)."""
    data = parse_yaml(text, source)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source} must hold a mapping of config keys, not a {type(data).__name__}"
        )
    return data


def read_config_file(path: str | Path) -> dict:
    """The mapping of config keys in the YAML file ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"config file '{path}' is not UTF-8 text (a binary file?); pass a YAML config."
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read config file '{path}': {e.strerror or e}") from None
    if not text.strip():
        raise ConfigError(
            f"config file '{path}' is empty; write the keys to change in it (tndnas config show "
            "lists them), or drop --config."
        )
    return yaml_mapping(text, file_label(path))


def file_label(path: str | Path) -> str:
    return f"file '{path}'"


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


def preset_label(name: str, kind: str = "") -> str:
    return f"{kind} preset '{name}'" if kind else f"preset '{name}'"


def preset_text(name: str, kind: str = "") -> str:
    """The YAML text of preset ``name`` of the ``kind`` folder ("" = search presets)."""
    names = _names_in(kind)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        what = f"{kind} preset" if kind else "preset"
        raise ConfigError(f"unknown {what} '{name}'; {hint}available {what}s: {', '.join(names)}")
    return (_presets_dir(kind) / f"{name}.yaml").read_text(encoding="utf-8")


@functools.cache
def preset_mapping(name: str, kind: str = "") -> dict:
    """The mapping of preset ``name`` (cached: callers must not modify it)."""
    return yaml_mapping(preset_text(name, kind), preset_label(name, kind))
