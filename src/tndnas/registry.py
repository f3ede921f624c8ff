"""One registry type behind every plug-in point: ops, op sets, costs, latency backends, dataset
readers and search spaces.

A :class:`Registry` maps names to entries. ``register`` refuses to replace an entry unless asked
(``overwrite=True``); ``get`` of an unknown name raises the registry's error with one sentence:
the name, the closest known one ("did you mean"), all known ones and how to add one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from .errors import TndnasError

T = TypeVar("T")


class UnknownNameError(TndnasError, KeyError):
    """A name that is not in a registry."""


class DuplicateNameError(TndnasError, ValueError):
    """A name registered twice without ``overwrite=True``."""


def unknown_name(kind: str, name: str, known: Iterable[str], fix: str) -> str:
    """One sentence: the unknown name, the closest known one, all known ones, and the fix."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} '{name}'.{hint} Known {kind}s: {', '.join(known)}; {fix}."


class Registry(Generic[T]):
    """Named entries of one kind.

    ``kind`` names an entry in messages ("operation", "cost"); ``fix`` says how to add one
    ("register one with tndnas.objectives.register_cost"); ``error`` is the class ``get`` raises
    for an unknown name (a subclass of :class:`UnknownNameError` by default, so every registry's
    miss is a ``TndnasError`` and a ``KeyError``).
    """

    def __init__(self, kind: str, fix: str, *, error: type[Exception] = UnknownNameError) -> None:
        self.kind = kind
        self.fix = fix
        self.error = error
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T, *, overwrite: bool = False) -> T:
        """Add ``entry`` under ``name``; a :class:`DuplicateNameError` if ``name`` is taken and
        ``overwrite`` is false. Returns ``entry``."""
        if name in self._entries and not overwrite:
            raise DuplicateNameError(
                f"{self.kind} '{name}' is already registered; pass overwrite=True to replace it"
            )
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry of ``name``; the registry's error naming the known ones otherwise."""
        if name not in self._entries:
            raise self.error(unknown_name(self.kind, name, self._entries, self.fix))
        return self._entries[name]

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` in registration order."""
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
