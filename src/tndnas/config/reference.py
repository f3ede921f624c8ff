"""The configuration's reference, written from the schema: the tables of ``docs/configuration.md``
and the commented YAML of ``tndnas config show``.

``python -m tndnas.config.reference docs/configuration.md`` rewrites the part of that page
between its ``BEGIN``/``END`` markers (``make docs``); a test fails when the page is stale.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from .schema import SearchConfig
from .space_schema import SPACE_CONFIGS, SpaceConfig
from .train_schema import TrainConfig
from .types import as_dict, list_element, schema_fields, section_type, split_optional, type_name

__all__ = ["BEGIN", "END", "commented_yaml", "markdown_reference", "update_page"]

BEGIN = "<!-- BEGIN generated from the config schema by `make docs`; do not edit by hand -->"
END = "<!-- END generated from the config schema -->"


_fields = schema_fields
_dc = section_type


def _doc_line(cls: type) -> str:
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    value = f.default_factory()  # type: ignore[misc]
    return as_dict(value)


def _scalar(value: Any) -> str:
    """A value as it is written in YAML (flow style, one line)."""
    value = as_dict(value)
    text = yaml.safe_dump([value], default_flow_style=True, width=10**6).strip()
    return text[1:-1]


def _md_type(tp: Any) -> str:
    inner, optional = split_optional(tp)
    elem = list_element(inner)
    if elem is not None and _dc(elem):
        name = "list of mappings"
        return f"{name} or null" if optional else name
    return type_name(tp)


def _rows(cls: type, prefix: str) -> list[str]:
    rows = []
    for f, tp in _fields(cls):
        key = f"{prefix}{f.name}"
        elem = list_element(tp)
        if _dc(tp):
            continue  # a section of its own
        default = "[]" if elem is not None and _dc(elem) else _scalar(_default(f))
        rows.append(f"| `{key}` | {_md_type(tp)} | `{default}` | {f.metadata.get('help', '')} |")
        if elem is not None and _dc(elem):
            rows += _rows(elem, f"{key}.M.")
    return rows


_HEAD = ["| key | type | default | meaning |", "|---|---|---|---|"]


def _schema_sections(schema: type, title: str, intro: str) -> list[str]:
    out = [f"## {title}", "", intro, "", *_HEAD, *_rows_top(schema), ""]
    for f, tp in _fields(schema):
        sub = _dc(tp)
        elem = list_element(tp)
        if sub is SpaceConfig:  # a group of keys per space: the shared ones, then each space's
            out += [f"### `{f.name}`", "", _doc_line(sub), "", *_HEAD, *_rows(sub, "space."), ""]
            for name, group in SPACE_CONFIGS.items():
                own = [row for row in _rows(group, "space.") if _own(group, row)]
                out += [f"#### `space.name: {name}`", "", _doc_line(group), "", *_HEAD, *own, ""]
        elif sub is not None:
            intro = f.metadata.get("help") or _doc_line(sub)
            out += [f"### `{f.name}`", "", intro, "", *_HEAD, *_rows(sub, f"{f.name}."), ""]
        elif elem is not None and _dc(elem):
            help_text = f.metadata.get("help", "")
            intro = f"{_doc_line(elem)} {help_text[:1].upper()}{help_text[1:]}.".strip()
            out += [f"### `{f.name}`", "", intro, "", *_HEAD, *_rows(elem, f"{f.name}.N."), ""]
    return out


def _own(group: type, row: str) -> bool:
    """Whether a row of a space's group is a key the group declares itself (not ``name``)."""
    own = set(vars(group).get("__annotations__", {})) - {"name"}
    return any(row.startswith(f"| `space.{key}` |") for key in own)


def _rows_top(schema: type) -> list[str]:
    rows = []
    for f, tp in _fields(schema):
        elem = list_element(tp)
        if _dc(tp) is None and not (elem is not None and _dc(elem)):
            rows.append(
                f"| `{f.name}` | {_md_type(tp)} | `{_scalar(_default(f))}` | {f.metadata.get('help', '')} |"
            )
    return rows


def markdown_reference() -> str:
    """Every key of the search and train configs: type, default and meaning, as markdown."""
    lines = [
        *_schema_sections(SearchConfig, "Search configuration (`tndnas search`, `tndnas sweep`)",
                          "Top-level keys; each section below is a mapping of its own."),
        *_schema_sections(TrainConfig, "Train configuration (`tndnas train`)",
                          _doc_line(TrainConfig)),
    ]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def update_page(path: str | Path, check: bool = False) -> bool:
    """Rewrite the generated part of ``path`` (between :data:`BEGIN` and :data:`END`); with
    ``check``, write nothing. Returns whether the page was (or would be) changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN!r} ... {END!r} block to fill")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n\n{markdown_reference()}\n{END}{tail}"
    if new != text and not check:
        path.write_text(new, encoding="utf-8")
    return new != text


# ------------------------------------------------------------------------- commented YAML


def _plain(help_text: str) -> str:
    """Markdown help as plain text: links to their words, no backticks."""
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", help_text).replace("`", "")


def _comment(help_text: str, indent: str) -> list[str]:
    if not help_text:
        return []
    return textwrap.wrap(
        _plain(help_text), 96, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# "
    )


def _emit(obj: Any, indent: str, lines: list[str], helps: bool, first: str = "") -> None:
    """Append the fields of dataclass ``obj`` as YAML lines (``first``: the prefix of the first
    key, e.g. ``"- "`` for a list item)."""
    lead = first
    for f, tp in _fields(type(obj)):
        value = getattr(obj, f.name)
        sub = _dc(tp)
        elem = list_element(tp)
        if helps:
            text = f.metadata.get("help") or (_doc_line(sub) if sub is not None else "")
            lines += _comment(text, indent + " " * len(first))
        key = f"{indent}{lead or ' ' * len(first)}{f.name}:"
        lead = ""
        if sub is not None and value is not None:
            lines.append(key)
            _emit(value, indent + " " * len(first) + "  ", lines, helps)
        elif elem is not None and _dc(elem) and value:
            lines.append(key)
            for i, item in enumerate(value):
                _emit(item, indent + " " * len(first) + "  ", lines, helps and i == 0, "- ")
        else:
            lines.append(f"{key} {_scalar(value)}")


def commented_yaml(cfg: SearchConfig | TrainConfig, title: str = "") -> str:
    """``cfg`` as YAML with every key's help above it: what ``tndnas config show`` prints, and a
    valid ``--config`` file that loads back equal."""
    lines = [f"# {title}"] if title else []
    _emit(cfg, "", lines, True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - `make docs`
    for page in sys.argv[1:] or ["docs/configuration.md"]:
        print(f"{page}: {'updated' if update_page(page) else 'up to date'}")
