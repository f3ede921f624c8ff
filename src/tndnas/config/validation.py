"""Semantic checks of a loaded configuration that its types cannot express."""

from __future__ import annotations

import math
import re
from typing import Any

from .fields import ConfigError
from .schema import (
    COMPILE_MODES,
    MEMORY_CHECKS,
    WEIGHT_MODES,
    SearchConfig,
)
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
    _positive_int(cfg.seed, "seed", 0)
    _check_device(cfg.device)

    d = cfg.dataset
    _check(bool(d.name), "dataset.name is empty; use digits, cifar10, cifar100 or imagefolder")
    _in_unit(d.arch_fraction, "dataset.arch_fraction", lo_open=True)

    s = cfg.space
    _check(bool(s.normal_ops), "space.normal_ops is empty; name an op set, e.g. tnd-normal")
    _check(bool(s.reduce_ops), "space.reduce_ops is empty; name an op set, e.g. tnd-reduce")
    _positive_int(s.channels, "space.channels")
    _positive_int(s.steps, "space.steps")

    w = cfg.weights
    _check(
        w.mode in WEIGHT_MODES,
        f"weights.mode={w.mode!r} is invalid; use one of: {', '.join(WEIGHT_MODES)}",
    )
    _check(
        w.compile_mode in COMPILE_MODES,
        f"weights.compile_mode={w.compile_mode!r} is invalid; use one of: {', '.join(COMPILE_MODES)}",
    )
    _check(
        w.memory_check in MEMORY_CHECKS,
        f"weights.memory_check={w.memory_check!r} is invalid; use one of: {', '.join(MEMORY_CHECKS)}",
    )
    _positive_int(w.batch_size, "weights.batch_size")
    _at_least(w.lr, "weights.lr", 0, strict=True)
    _at_least(w.lr_min, "weights.lr_min", 0)
    _check(
        w.lr_min <= w.lr,
        f"weights.lr_min={w.lr_min!r} exceeds weights.lr={w.lr!r}; set lr_min <= lr",
    )
    _in_unit(w.momentum, "weights.momentum")
    _at_least(w.weight_decay, "weights.weight_decay", 0)
    _at_least(w.grad_clip, "weights.grad_clip", 0)
    _positive_int(w.crop_padding, "weights.crop_padding", 0)
    _positive_int(w.cutout, "weights.cutout", 0)
    _at_least(w.skip_dropout_decay, "weights.skip_dropout_decay", 0)
    if w.max_steps_per_epoch is not None:
        _positive_int(w.max_steps_per_epoch, "weights.max_steps_per_epoch")

    p = cfg.policy
    _positive_int(p.samples, "policy.samples")
    _positive_int(p.rl_interval, "policy.rl_interval")
    _positive_int(p.arch_batch_size, "policy.arch_batch_size")
    _at_least(p.lr, "policy.lr", 0, strict=True)
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
    _check(bool(r.cost), "reward.cost is empty; name a registered cost, e.g. params or flops")
    _at_least(r.weight, "reward.weight", 0)

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
        _positive_int(st.drop_normal, f"{key}.drop_normal", 0)
        _positive_int(st.drop_reduce, f"{key}.drop_reduce", 0)
        _at_least(st.ref, f"{key}.ref", 0, strict=True)
        _finite(st.beta, f"{key}.beta")
        if st.beta_below is not None:
            _finite(st.beta_below, f"{key}.beta_below")
        _in_unit(st.skip_dropout, f"{key}.skip_dropout")
        for j, term in enumerate(st.extra_costs):
            tkey = f"{key}.extra_costs.{j}"
            _check(bool(term.cost), f"{tkey}.cost is empty; name a registered cost, e.g. flops")
            _at_least(term.weight, f"{tkey}.weight", 0)
            _at_least(term.ref, f"{tkey}.ref", 0, strict=True)
            _finite(term.beta, f"{tkey}.beta")
            if term.beta_below is not None:
                _finite(term.beta_below, f"{tkey}.beta_below")
        if st.extra_costs:
            total = r.weight + sum(term.weight for term in st.extra_costs)
            _check(
                abs(total - 1.0) <= 1e-6,
                f"reward.weight + sum({key}.extra_costs.*.weight) = {total:.6g}, "
                "but the weights of Eq. (10) must sum to 1; adjust reward.weight or the "
                "extra_costs weights",
            )
    return cfg


def validate_train(cfg: TrainConfig) -> TrainConfig:
    """Semantic checks of a :class:`TrainConfig`; returns ``cfg`` or raises ConfigError.

    The dataset name is checked by the dataset registry when the data is loaded.
    """
    _check(isinstance(cfg, TrainConfig), f"expected a TrainConfig, got {type(cfg).__name__}")
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
    _positive_int(cfg.batch_size, "batch_size")
    _at_least(cfg.lr, "lr", 0, strict=True)
    _at_least(cfg.lr_min, "lr_min", 0)
    _check(cfg.lr_min <= cfg.lr, f"lr_min={cfg.lr_min!r} exceeds lr={cfg.lr!r}; set lr_min <= lr")
    _in_unit(cfg.momentum, "momentum")
    _at_least(cfg.weight_decay, "weight_decay", 0)
    _at_least(cfg.grad_clip, "grad_clip", 0)
    _positive_int(cfg.crop_padding, "crop_padding", 0)
    _positive_int(cfg.cutout, "cutout", 0)
    if cfg.max_steps_per_epoch is not None:
        _positive_int(cfg.max_steps_per_epoch, "max_steps_per_epoch")
    return cfg
