"""Semantic checks of a loaded configuration that its types cannot express."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from .fields import ConfigError
from .schema import COMPILE_MODES, MEMORY_CHECKS, WEIGHT_MODES, CostTerm, SearchConfig, SGDConfig
from .train_schema import TrainConfig


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _positive_int(value: Any, key: str, minimum: int = 1) -> None:
    _check(
        isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
        f"{key}={value!r} is invalid; use an integer >= {minimum}",
    )


def _finite(value: Any, key: str) -> None:
    _check(
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
        f"{key}={value!r} is invalid; use a finite number",
    )


def _at_least(value: Any, key: str, lo: float, strict: bool = False) -> None:
    _finite(value, key)
    ok = value > lo if strict else value >= lo
    _check(ok, f"{key}={value!r} is invalid; use a value {'>' if strict else '>='} {lo:g}")


def _in_unit(value: Any, key: str, lo_open: bool = False) -> None:
    """lo <= value < 1 (or 0 < value < 1 when lo_open)."""
    _finite(value, key)
    ok = (0 < value < 1) if lo_open else (0 <= value < 1)
    _check(ok, f"{key}={value!r} is invalid; use {'0 <' if lo_open else '0 <='} value < 1")


LARGEST_INT = 2**53  # every integer key: far above any real value, and exact as a float


def _no_huge_ints(obj: Any, key: str = "") -> None:
    """Every integer of the config (any key, in lists too) below :data:`LARGEST_INT` in size:
    a typo of many digits is refused here, not met as an overflow deep in torch."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            _no_huge_ints(getattr(obj, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _no_huge_ints(v, f"{key}.{i}")
    elif isinstance(obj, int) and not isinstance(obj, bool):
        _check(abs(obj) < LARGEST_INT, f"{key}={obj} is too large; use an integer below 2**53")


def _check_device(device: Any) -> None:
    _check(
        isinstance(device, str) and re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device) is not None,
        f"device={device!r} is invalid; use auto, cpu, cuda or cuda:N",
    )


def validate(cfg: SearchConfig) -> SearchConfig:
    """Semantic checks the types alone cannot express; returns ``cfg`` or raises ConfigError.

    Op-set names, cost names and dataset readers are checked by their registries.
    """
    _check(isinstance(cfg, SearchConfig), f"expected a SearchConfig, got {type(cfg).__name__}")
    _no_huge_ints(cfg)
    _positive_int(cfg.seed, "seed", 0)
    _check_device(cfg.device)

    d = cfg.dataset
    _check(bool(d.name), "dataset.name is empty; use digits, cifar10, cifar100 or imagefolder")
    _in_unit(d.arch_fraction, "dataset.arch_fraction", lo_open=True)

    s = cfg.space
    for key in ("normal_ops", "reduce_ops"):  # the op sets of the spaces that name them
        if hasattr(s, key):
            _check(
                bool(getattr(s, key)), f"space.{key} is empty; name an op set, e.g. tnd-{key[:-4]}"
            )
    _positive_int(s.channels, "space.channels")
    if hasattr(s, "steps"):
        _positive_int(s.steps, "space.steps")

    w = cfg.weights
    _check(
        w.mode in WEIGHT_MODES,
        f"weights.mode={w.mode!r} is invalid; use one of: {', '.join(WEIGHT_MODES)}",
    )
    if w.image_size is not None:
        _positive_int(w.image_size, "weights.image_size", 4)
    _check(
        w.compile_mode in COMPILE_MODES,
        f"weights.compile_mode={w.compile_mode!r} is invalid; use one of: {', '.join(COMPILE_MODES)}",
    )
    _check(
        w.memory_check in MEMORY_CHECKS,
        f"weights.memory_check={w.memory_check!r} is invalid; use one of: {', '.join(MEMORY_CHECKS)}",
    )
    _check_sgd(w, "weights.")
    _at_least(w.skip_dropout_decay, "weights.skip_dropout_decay", 0)

    p = cfg.policy
    _positive_int(p.samples, "policy.samples")
    _positive_int(p.rl_interval, "policy.rl_interval")
    _positive_int(p.arch_batch_size, "policy.arch_batch_size")
    if isinstance(p.lr, str):
        _check(
            p.lr == "auto",
            f"policy.lr={p.lr!r} is invalid; give a positive number or 'auto' (noise_walk / sqrt(updates))",
        )
    else:
        _at_least(p.lr, "policy.lr", 0, strict=True)
    _at_least(p.noise_walk, "policy.noise_walk", 0, strict=True)
    _check(
        len(p.betas) == 2,
        f"policy.betas={list(p.betas)!r} is invalid; give two Adam betas, e.g. [0.5, 0.999]",
    )
    for i, b in enumerate(p.betas):
        _in_unit(b, f"policy.betas.{i}")
    _at_least(p.weight_decay, "policy.weight_decay", 0)
    _at_least(p.grad_clip, "policy.grad_clip", 0)
    _in_unit(p.baseline_decay, "policy.baseline_decay")
    _check(
        p.baseline in ("previous", "current", "leave_one_out"),
        f"policy.baseline={p.baseline!r} is invalid; use 'leave_one_out' (the other samples' mean), 'previous' (the paper) or 'current' (the authors' code)",
    )
    _check(
        p.weight_decay_mode in ("coupled", "decoupled"),
        f"policy.weight_decay_mode={p.weight_decay_mode!r} is invalid; use 'coupled' (Adam, the authors' code) or 'decoupled' (AdamW)",
    )
    _finite(p.entropy_weight, "policy.entropy_weight")
    _positive_int(p.argmax_every, "policy.argmax_every")
    _positive_int(p.eval_images, "policy.eval_images")

    r = cfg.reward
    for i, name in enumerate(r.log_costs):
        _check(bool(name), f"reward.log_costs.{i} is empty; name a registered cost, e.g. flops")

    t = cfg.target
    _positive_int(t.channels, "target.channels")
    _positive_int(t.layers, "target.layers", 3)

    _check(len(cfg.stages) >= 1, "stages is empty; give at least one stage")
    prev_layers = None
    for k, st in enumerate(cfg.stages):
        key = f"stages.{k}"
        _positive_int(st.layers, f"{key}.layers", 3)
        if prev_layers is not None:
            _check(
                st.layers >= prev_layers,
                f"{key}.layers={st.layers} is smaller than stages.{k - 1}.layers={prev_layers}; "
                "stage depths must not decrease (Eq. 12)",
            )
        prev_layers = st.layers
        _positive_int(st.epochs, f"{key}.epochs")
        _positive_int(st.pretrain_epochs, f"{key}.pretrain_epochs", 0)
        _check(
            st.pretrain_epochs <= st.epochs,
            f"{key}.pretrain_epochs={st.pretrain_epochs} exceeds {key}.epochs={st.epochs}; "
            "set pretrain_epochs <= epochs",
        )
        for ct, n in st.drop.items():
            _finite(n, f"{key}.drop.{ct}")
            _check(
                n >= 0 and (n < 1 or float(n).is_integer()),
                f"{key}.drop.{ct}={n:g} is invalid; give a whole number of candidates to drop "
                "(e.g. 4) or a fraction below 1 of those the stage starts with (e.g. 0.4)",
            )
        drops = any(st.drop.values()) or k == len(cfg.stages) - 1
        _check(
            st.pretrain_epochs < st.epochs or not drops,
            f"{key}.pretrain_epochs={st.pretrain_epochs} equals {key}.epochs={st.epochs}, so "
            "the stage makes no alpha update and its "
            + ("genotype" if k == len(cfg.stages) - 1 else "drops")
            + " would follow the initial alpha, a random choice; set pretrain_epochs below "
            "epochs",
        )
        _in_unit(st.skip_dropout, f"{key}.skip_dropout")
        _check_cost_terms(st.costs, f"{key}.costs")
    _check(
        cfg.reward.accuracy or all(st.costs for st in cfg.stages),
        "reward.accuracy=false needs a cost term in every stage (stages.N.costs), or the "
        "reward is empty",
    )
    _check_family(cfg)
    return cfg


def _check_family(cfg: SearchConfig) -> None:
    """A family's betas and refs, and a first cost term in every stage for them to set."""
    f = cfg.family
    for i, b in enumerate(f.betas):
        _finite(b, f"family.betas.{i}")
    for i, r in enumerate(f.refs):
        _at_least(r, f"family.refs.{i}", 0, strict=True)
    if f.samples_per_member is not None:
        _positive_int(f.samples_per_member, "family.samples_per_member")
    if not f.betas:
        _check(not f.refs, "family.refs is set but family.betas is empty; give one beta per member")
        return
    _check(
        len(f.refs) in (0, 1, len(f.betas)),
        f"family.refs gives {len(f.refs)} values for {len(f.betas)} betas; give one value "
        "(every member's) or one per beta",
    )
    for k, st in enumerate(cfg.stages):
        _check(
            bool(st.costs),
            f"family.betas sets the exponent of every stage's first cost term, but stages.{k}."
            f"costs is empty; give each stage a term, e.g. --set 'stages.{k}.costs=[{{cost: "
            "params, ref: 1.5}]'",
        )


def validate_train(cfg: TrainConfig) -> TrainConfig:
    """Semantic checks of a :class:`TrainConfig`; returns ``cfg`` or raises ConfigError.

    The dataset name is checked by the dataset registry when the data is loaded.
    """
    _check(isinstance(cfg, TrainConfig), f"expected a TrainConfig, got {type(cfg).__name__}")
    _no_huge_ints(cfg)
    _positive_int(cfg.seed, "seed", 0)
    _check_device(cfg.device)
    _check(
        bool(cfg.dataset.name),
        "dataset.name is empty; use digits, cifar10, cifar100 or imagefolder",
    )
    _positive_int(cfg.channels, "channels")
    _positive_int(cfg.layers, "layers", 3)
    _at_least(cfg.auxiliary_weight, "auxiliary_weight", 0)
    _in_unit(cfg.drop_path, "drop_path")
    _positive_int(cfg.epochs, "epochs")
    _check_sgd(cfg, "")
    return cfg


def _check_sgd(c: SGDConfig, prefix: str) -> None:
    """The keys of :class:`SGDConfig` (``prefix``: where they are, e.g. ``weights.``)."""
    _positive_int(c.batch_size, f"{prefix}batch_size")
    _at_least(c.lr, f"{prefix}lr", 0, strict=True)
    _at_least(c.lr_min, f"{prefix}lr_min", 0)
    _check(
        c.lr_min <= c.lr,
        f"{prefix}lr_min={c.lr_min!r} exceeds {prefix}lr={c.lr!r}; set lr_min <= lr",
    )
    _in_unit(c.momentum, f"{prefix}momentum")
    _at_least(c.weight_decay, f"{prefix}weight_decay", 0)
    _at_least(c.grad_clip, f"{prefix}grad_clip", 0)
    _positive_int(c.crop_padding, f"{prefix}crop_padding", 0)
    _positive_int(c.cutout, f"{prefix}cutout", 0)
    if c.max_steps_per_epoch is not None:
        _positive_int(c.max_steps_per_epoch, f"{prefix}max_steps_per_epoch")


def _check_cost_terms(terms: list[CostTerm], key: str) -> None:
    """One stage's cost terms (Eqs. 9, 10): named costs, positive references, finite exponents,
    and the weights of several terms summing to 1 (a single term's weight scales the reward)."""
    for j, term in enumerate(terms):
        tkey = f"{key}.{j}"
        _check(bool(term.cost), f"{tkey}.cost is empty; name a registered cost, e.g. params")
        _at_least(term.weight, f"{tkey}.weight", 0)
        if isinstance(term.ref, str):
            _check(
                term.ref == "auto",
                f"{tkey}.ref={term.ref!r} is invalid; give a positive number (in the cost's unit) "
                "or auto (the median cost of random networks of the space)",
            )
        else:
            _at_least(term.ref, f"{tkey}.ref", 0, strict=True)
        _finite(term.beta, f"{tkey}.beta")
        if term.beta_below is not None:
            _finite(term.beta_below, f"{tkey}.beta_below")
    total = sum(term.weight for term in terms)
    _check(
        len(terms) < 2 or abs(total - 1.0) <= 1e-6,
        f"the weights of {key} sum to {total:.6g}, but the weights of Eq. (10) must sum to 1; "
        f"adjust {key}.M.weight",
    )
