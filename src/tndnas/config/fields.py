"""How a config field is declared (its default and its help), and the error every bad key or value
raises."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from typing import Any

from ..errors import TndnasError


def opt(default: Any, help: str) -> Any:
    """A config field with its default and its help (shown by ``tndnas config show`` and in
    ``docs/configuration.md``)."""
    return field(default=default, metadata={"help": help})


def opt_factory(factory: Callable[[], Any], help: str) -> Any:
    """:func:`opt` for a mutable default (a list or a sub-config)."""
    return field(default_factory=factory, metadata={"help": help})


class ConfigError(TndnasError, ValueError):
    """A bad configuration key or value; the message is one line naming the key and the fix."""

    def __init__(self, message: str):
        super().__init__(re.sub(r"\s*\n\s*", " ", str(message)).strip())
