"""Messages for names that are not in a registry (ops, op sets, costs, datasets, presets)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_name(kind: str, name: str, known: Iterable[str], fix: str) -> str:
    """One sentence: the unknown name, the closest known one, all known ones, and the fix."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} '{name}'.{hint} Known {kind}s: {', '.join(known)}; {fix}."
