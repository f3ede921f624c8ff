"""What differs between the config a run started with and the one it is resumed with."""

from __future__ import annotations

from typing import Any

from .fields import ConfigError

#: keys a resume may change: where the data lie, and how the run checks its memory; the
#: device is checked by the checkpoint itself (another kind of device is refused there)
RESUMABLE_CHANGES = frozenset(
    {"device", "dataset.data_dir", "dataset.download", "weights.memory_check"}
)


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value, lists indexed (``stages.0.costs.1.beta``); empty ones kept whole."""
    if isinstance(obj, dict) and obj:
        items: Any = obj.items()
    elif isinstance(obj, (list, tuple)) and obj:
        items = enumerate(obj)
    else:
        return {prefix: obj}
    flat: dict[str, Any] = {}
    for k, v in items:
        flat.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return flat


def config_changes(started: dict, now: dict) -> list[tuple[str, Any, Any]]:
    """(dotted key, value the run started with, value now) of every key that differs."""
    a, b = _flat(started), _flat(now)
    missing = object()
    keys = sorted(set(a) | set(b))
    return [
        (k, a.get(k, missing), b.get(k, missing))
        for k in keys
        if a.get(k, missing) != b.get(k, missing)
    ]


def check_config_unchanged(started: dict, now: dict, config_file: Any) -> None:
    """Refuse, naming the keys, a resume whose ``config.yaml`` was edited in a way that changes
    the run (any key but :data:`RESUMABLE_CHANGES`)."""
    changes = [c for c in config_changes(started, now) if c[0] not in RESUMABLE_CHANGES]
    if not changes:
        return

    def show(v: Any) -> str:
        return (
            "(absent)" if not isinstance(v, (str, int, float, bool, type(None), list)) else repr(v)
        )

    listed = ", ".join(f"{k}: {show(a)} -> {show(b)}" for k, a, b in changes[:4])
    more = f" and {len(changes) - 4} more" if len(changes) > 4 else ""
    raise ConfigError(
        f"{config_file} was edited after the run started ({listed}{more}); a resume continues "
        "the run as it began: put those values back, or start a new run with another --out."
    )
