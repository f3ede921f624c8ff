"""Configurations in the layout of tndnas 0.1, read on: one primary cost for the whole run
(``reward.cost``, ``reward.weight``) with per-stage ``ref``, ``beta``, ``beta_below`` and
``extra_costs``, which are now one list of cost terms per stage (``stages.N.costs``).  A run
directory written by 0.1 still resumes, trains and exports."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Any

from .fields import ConfigError
from .schema import CostTerm

#: Per-stage keys of the old layout.
STAGE_KEYS = ("ref", "beta", "beta_below", "extra_costs")
#: ``reward`` keys of the old layout.
REWARD_KEYS = ("cost", "weight")
#: The keys of a cost term, then and now.
TERM_KEYS = tuple(field.name for field in dataclasses.fields(CostTerm))


#: the per-cell-type drops of tndnas 0.2, now one mapping ``stages.N.drop``
DROP_KEYS = {"drop_normal": "normal", "drop_reduce": "reduce"}


def moved_key_hint(path: str) -> str | None:
    """Where an old-layout key ``path`` (``stages.2.beta``, ``reward.cost``) lives now."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "stages" and parts[2] in DROP_KEYS:
        return f"did you mean 'stages.{parts[1]}.drop.{DROP_KEYS[parts[2]]}'?"
    if len(parts) == 3 and parts[0] == "stages" and parts[2] in STAGE_KEYS:
        if parts[2] == "extra_costs":
            return f"extra cost terms are entries of 'stages.{parts[1]}.costs' now"
        return f"did you mean 'stages.{parts[1]}.costs.0.{parts[2]}' (the stage's first cost term)?"
    if len(parts) == 2 and parts[0] == "reward" and parts[1] in REWARD_KEYS:
        return f"the reward's costs are per stage now: did you mean 'stages.N.costs.0.{parts[1]}'?"
    return None


def _is_old(raw: dict) -> bool:
    reward = raw.get("reward")
    if isinstance(reward, dict) and any(k in reward for k in REWARD_KEYS):
        return True
    stages = raw.get("stages")
    return isinstance(stages, list) and any(
        isinstance(st, dict) and any(k in st for k in STAGE_KEYS) for st in stages
    )


def _drops_of(stages: Any) -> bool:
    return isinstance(stages, list) and any(
        isinstance(st, dict) and any(k in st for k in DROP_KEYS) for st in stages
    )


def _upgrade_stages_drops(stages: list, source: str) -> list:
    """Stages with ``drop_normal``/``drop_reduce`` given as one ``drop`` mapping, with a warning."""
    new = copy.deepcopy(stages)
    for k, st in enumerate(new):
        if not isinstance(st, dict) or not any(key in st for key in DROP_KEYS):
            continue
        if "drop" in st:
            raise ConfigError(
                f"{source}: stages.{k} mixes 'drop' with the old keys drop_normal/drop_reduce; "
                "give the drops in 'drop' only, e.g. 'drop: {normal: 4, reduce: 2}'"
            )
        st["drop"] = {DROP_KEYS[key]: st.pop(key) for key in list(st) if key in DROP_KEYS}
    warnings.warn(
        f"{source} uses stages.N.drop_normal / drop_reduce of tndnas 0.2; read as the mapping "
        "stages.N.drop ({normal: ..., reduce: ...}), keyed by the space's cell types. `tndnas "
        "config show --config FILE` prints it in today's layout.",
        UserWarning,
        stacklevel=4,
    )
    return new


def upgrade_drop_override(key: str, value: Any, source: str) -> tuple[str, Any]:
    """An override in the 0.2 layout of the drops, in today's: ``stages.N.drop_normal=4`` is
    ``stages.N.drop.normal=4``; a whole ``stages=[...]`` or ``stages.N={...}`` has its stages'
    old keys moved into ``drop`` (each with a warning)."""
    parts = key.split(".")
    if len(parts) == 3 and parts[2] in DROP_KEYS:
        warnings.warn(
            f"{source}: stages.{parts[1]}.{parts[2]} is now stages.{parts[1]}.drop."
            f"{DROP_KEYS[parts[2]]}; read as that.",
            UserWarning,
            stacklevel=4,
        )
        return f"stages.{parts[1]}.drop.{DROP_KEYS[parts[2]]}", value
    if len(parts) == 1 and _drops_of(value):
        return key, _upgrade_stages_drops(value, source)
    if len(parts) == 2 and isinstance(value, dict) and _drops_of([value]):
        return key, _upgrade_stages_drops([value], source)[0]
    return key, value


#: the ``space`` keys tndnas 0.2 wrote for every space (the DARTS cells' keys)
SPACE_KEYS_0_2 = ("normal_ops", "reduce_ops", "steps")


def _upgrade_space(raw: dict, source: str, space: tuple[str, tuple[str, ...]]) -> dict:
    """``raw`` without the DARTS ``space`` keys that the space of this config does not have
    (``space``: its name and keys), with a warning: a 0.2 config wrote them for every space, and
    a DARTS preset switched to another space with ``space.name`` carries them."""
    group = raw.get("space")
    name, keys = space
    if not isinstance(group, dict):
        return raw
    stale = [k for k in SPACE_KEYS_0_2 if k in group and k not in keys]
    if not stale:
        return raw
    warnings.warn(
        f"{source} sets space.{', space.'.join(stale)}, which the '{name}' space does not "
        f"have; ignored (its keys: {', '.join(keys)}).",
        UserWarning,
        stacklevel=4,
    )
    return {**raw, "space": {k: v for k, v in group.items() if k not in stale}}


def upgrade(raw: dict, source: str, space: tuple[str, tuple[str, ...]] | None = None) -> dict:
    """``raw`` (a search config mapping from ``source``) in today's layout: each stage's old
    primary term and ``extra_costs`` become its ``costs`` list, its ``drop_normal`` and
    ``drop_reduce`` its ``drop`` mapping, and ``space`` keys of 0.2 that the space does not
    have (``space``: its name and keys) are left out, each with a warning.  A mapping in
    today's layout is returned as it is."""
    if space is not None:
        raw = _upgrade_space(raw, source, space)
    if _drops_of(raw.get("stages")):
        raw = {**raw, "stages": _upgrade_stages_drops(raw["stages"], source)}
    if not _is_old(raw):
        return raw
    stages = raw.get("stages")
    if not isinstance(stages, list):
        raise ConfigError(
            f"{source} sets reward.cost or reward.weight, which are now per stage; move them "
            "into each stage's cost terms, e.g. 'stages: [{..., costs: [{cost: flops, ref: 2, "
            "beta: -0.6}]}]'"
        )
    new = copy.deepcopy(raw)
    reward = new.get("reward") if isinstance(new.get("reward"), dict) else {}
    primary = {"cost": reward.pop("cost", "params"), "weight": reward.pop("weight", 1.0)}
    for k, st in enumerate(new["stages"]):
        if not isinstance(st, dict):
            continue  # the type error is reported by the merge
        if "costs" in st:
            raise ConfigError(
                f"{source}: stages.{k} mixes 'costs' with the old keys "
                f"{', '.join(k for k in STAGE_KEYS if k in st) or 'reward.cost/weight'}; "
                "give its cost terms in 'costs' only"
            )
        term = dict(primary)
        term.update({key: st.pop(key) for key in ("ref", "beta", "beta_below") if key in st})
        extra = st.pop("extra_costs", None) or []
        for j, old_term in enumerate(extra if isinstance(extra, list) else []):
            unknown = set(old_term) - set(TERM_KEYS) if isinstance(old_term, dict) else set()
            if unknown:
                raise ConfigError(
                    f"unknown config key 'stages.{k}.extra_costs.{j}.{sorted(unknown)[0]}' (from "
                    f"{source}); a cost term has the keys {', '.join(TERM_KEYS)}"
                )
        st["costs"] = [term, *extra] if isinstance(extra, list) else extra
    warnings.warn(
        f"{source} uses the reward keys of tndnas 0.1 (reward.cost, reward.weight, stages.N.ref, "
        "beta, beta_below, extra_costs); read as one list of cost terms per stage "
        "(stages.N.costs). `tndnas config show --config FILE` prints it in today's layout.",
        UserWarning,
        stacklevel=3,
    )
    return new
