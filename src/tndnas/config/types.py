"""What the schema's type hints say: field types, list elements, optional values, every key path.
Used to word errors (the type a key expects, the keys a section has) and to write the reference."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Union


@functools.cache
def schema_fields(cls: type) -> tuple[tuple[dataclasses.Field, Any], ...]:
    """``(field, type)`` of dataclass ``cls`` in reading order: the fields a class declares
    itself first, then those it inherits (a ``TrainConfig`` lists its own keys before the SGD
    keys it shares with ``weights``); a class whose ``own_fields_first`` is false keeps the
    inherited ones first."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    if not getattr(cls, "own_fields_first", True):  # e.g. a space's group: name, channels first
        return tuple((f, hints[f.name]) for f in fields)
    inherited = {f.name for base in cls.__mro__[1:] if dataclasses.is_dataclass(base)
                 for f in dataclasses.fields(base)}  # fmt: skip
    ordered = [f for f in fields if f.name not in inherited] + [
        f for f in fields if f.name in inherited
    ]
    return tuple((f, hints[f.name]) for f in ordered)


def field_types(cls: type) -> dict[str, Any]:
    """Field name -> type hint of dataclass ``cls``."""
    return {f.name: tp for f, tp in schema_fields(cls)}


def split_optional(tp: Any) -> tuple[Any, bool]:
    """(inner type, is_optional) for ``X | None`` / ``Optional[X]``; (tp, False) otherwise."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(args) < len(typing.get_args(tp)):
            return args[0], True
    return tp, False


def list_element(tp: Any) -> Any | None:
    """Element type of ``list[X]`` (also inside ``| None``), else None."""
    inner, _ = split_optional(tp)
    if typing.get_origin(inner) is list:
        (elem,) = typing.get_args(inner) or (Any,)
        return elem
    return None


def dict_value(tp: Any) -> Any | None:
    """Value type of ``dict[str, X]`` (also inside ``| None``), else None."""
    inner, _ = split_optional(tp)
    if typing.get_origin(inner) is dict:
        return (typing.get_args(inner) or (str, Any))[1]
    return None


def section_type(tp: Any) -> type | None:
    """The dataclass of a section-typed hint (also inside ``| None``), else None."""
    inner, _ = split_optional(tp)
    return inner if isinstance(inner, type) and dataclasses.is_dataclass(inner) else None


def type_name(tp: Any) -> str:
    """How an error names a type: ``float``, ``list of float``, ``int or null`` ..."""
    inner, optional = split_optional(tp)
    elem = list_element(inner)
    if elem is not None:
        name = f"list of {type_name(elem)}"
    elif dict_value(inner) is not None:
        name = f"mapping of names to {type_name(dict_value(inner))}"
    elif section_type(inner) is not None:
        name = f"mapping of {inner.__name__} keys"
    else:
        name = getattr(inner, "__name__", str(inner))
    return f"{name} or null" if optional else name


def key_paths(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key path of a dataclass schema (list elements as index 0)."""
    out = []
    for name, tp in field_types(cls).items():
        path = f"{prefix}{name}"
        out.append(path)
        elem = list_element(tp)
        if section_type(tp) is not None:
            out.extend(key_paths(section_type(tp), path + "."))
        elif elem is not None and section_type(elem) is not None:
            out.extend(key_paths(elem, path + ".0."))
    return out


def as_dict(obj: Any) -> Any:
    """A config as plain dicts, lists and scalars, keys in :func:`schema_fields` order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_dict(getattr(obj, f.name)) for f, _ in schema_fields(type(obj))}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    if isinstance(obj, dict):  # a mapping of names (stages.N.drop): a whole count reads as one
        return {k: int(v) if isinstance(v, float) and v.is_integer() else as_dict(v)
                for k, v in obj.items()}  # fmt: skip
    return obj
