"""The schema of ``tndnas train``: the evaluation training of one genotype from scratch."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import opt, opt_factory
from .schema import DatasetConfig, SGDConfig


@dataclass
class TrainConfig(SGDConfig):
    """Evaluation training of one genotype from scratch (DARTS / P-DARTS protocol, Table V).

    The SGD keys (``batch_size``, ``lr``, ...) are those of :class:`SGDConfig`.  The defaults
    are the paper's Table V: 20 cells of initial width 24 (the width its search costs; the
    DARTS protocol's 36 is the ``darts-c10`` preset), 600 epochs of SGD with cosine learning
    rate, cutout 16, drop-path 0.3 and an auxiliary head of weight 0.4.
    """

    seed: int = opt(0, "random seed; valid: >= 0")
    device: str = opt(
        "auto", "`auto` (CUDA if available, else CPU), `cpu`, `cuda`, `cuda:N` (also `mps`)"
    )
    plugins: list[str] = opt_factory(
        list,
        (
            "modules (or `.py` files) imported before the run, registering your own ops, op sets,"
            " costs or datasets; `tndnas --plugin` adds to it; see "
            "[extending.md](extending.md#plug-ins-your-code-from-the-command-line)"
        ),
    )
    dataset: DatasetConfig = opt_factory(
        DatasetConfig,
        "the data set (its `arch_fraction` is unused: training takes the whole training set)",
    )
    channels: int = opt(24, "initial cell width C of the evaluation network (Table V); valid: >= 1")
    layers: int = opt(20, "cells; reduction cells at 1/3 and 2/3 of the depth; valid: >= 3")
    auxiliary: bool = opt(
        True, "an auxiliary classifier head after 2/3 of the cells (training only)"
    )
    auxiliary_weight: float = opt(
        0.4, "loss = CE(logits) + auxiliary_weight * CE(aux_logits); valid: >= 0"
    )
    drop_path: float = opt(
        0.3,
        ("final drop-path probability, ramped linearly from 0 over the epochs; valid: 0 <= x < 1"),
    )
    epochs: int = opt(
        600,
        (
            "epochs over the whole training set; the test set is evaluated after every epoch; "
            "valid: >= 1"
        ),
    )
    weight_decay: float = opt(3e-4, "L2 weight decay; valid: >= 0")
    cutout: int = opt(16, "cutout square side in pixels; `0` = off")
