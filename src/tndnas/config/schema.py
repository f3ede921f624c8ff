"""The configuration schema: typed dataclasses whose fields carry their own help (``metadata``),
from which ``tndnas config show`` and ``docs/configuration.md`` are written."""

from __future__ import annotations

from dataclasses import dataclass, field

from .family_schema import FamilyConfig
from .fields import opt, opt_factory
from .space_schema import DartsSpaceConfig, SpaceConfig

#: The preset a command line uses when none is named: small enough for a laptop CPU.
DEFAULT_PRESET = "quick"

#: The train preset ``tndnas train`` uses when none is named.
DEFAULT_TRAIN_PRESET = "quick"

#: Sub-folder of ``configs/`` holding the train presets ("" = the search presets).
TRAIN_PRESETS = "train"

WEIGHT_MODES = ("mixed", "sampled", "uniform")

#: ``stages.N.costs.M.ref: auto``: P is the median cost of this many random networks
AUTO_REF_NETWORKS = 256

#: What a search does when a stage's estimated weight-step memory exceeds what is available.
MEMORY_CHECKS = ("error", "warn", "ignore")

#: ``torch.compile`` modes for ``weights.compile_mode``.  The CUDA-graph modes
#: ("reduce-overhead", "max-autotune") are left out: a graph's output buffer is reused by its
#: next replay while a sampled path's wiring may still hold it.
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")


@dataclass
class DatasetConfig:
    """The data set, and how its training images are split between the weights and alpha."""

    name: str = opt(
        "digits",
        (
            "dataset reader: `digits` (bundled 8x8 grayscale, no files needed), `cifar10`, "
            "`cifar100`, `imagefolder`, `synthetic-cifar10`/`synthetic-cifar100` (random images "
            "for timing), or any registered reader"
        ),
    )
    data_dir: str | None = opt(None, "where the files are; `null` = the reader's default location")
    download: bool = opt(False, "allow the reader to download the data set if it is missing")
    arch_fraction: float = opt(
        0.5,
        (
            "share of the training set put in the architecture half (scored by the policy, Eqs. "
            "4-8); the rest trains the weights (Eq. 3); valid: 0 < x < 1"
        ),
    )


@dataclass
class CostTerm:
    """One cost term ``w_i (cost_i / P_i)^beta_i`` of the reward (Eq. 9 with one term, Eq. 10
    with several)."""

    cost: str = opt(
        "params",
        "a registered cost name: `params` (millions), `flops` (MFLOPs), `latency_ms` (with "
        "`reward.latency_table`), or one a plug-in registers",
    )
    weight: float = opt(
        1.0,
        "w_i; valid: >= 0, and the weights of a stage's terms sum to 1 when it has several "
        "(Eq. 10)",
    )
    ref: float | int | str = opt(
        1.0,
        (
            "P_i, the reference value, in that cost's unit; `auto`: the median of the cost over "
            f"{AUTO_REF_NETWORKS} random networks of the search space at the target size "
            "(computed when the search starts, recorded in summary.json's `refs`); valid: > 0 or "
            "`auto`"
        ),
    )
    beta: float = opt(0.0, "beta_i, the exponent; < 0 rewards cheaper networks, 0 ignores the cost")
    beta_below: float | None = opt(
        None,
        "the exponent while cost_i is within P_i (null: `beta`, as Eqs. 9 and 10); `0` with "
        "`beta < 0` makes `ref` a budget (see [Reward](#reward)); valid: finite",
    )


@dataclass
class StageConfig:
    """One stage k of Algorithm 2 (progressive search)."""

    layers: int = opt(
        5,
        (
            "L_k, cells in the stage's supernet (Eq. 12); valid: >= 3 and not smaller than the "
            "previous stage's"
        ),
    )
    epochs: int = opt(25, "epochs of the stage; valid: >= 1")
    pretrain_epochs: int = opt(
        10,
        ("e_k, weight-only warm-up epochs before alpha updates start; valid: 0 <= e_k <= epochs"),
    )
    drop: dict[str, float] = opt_factory(
        dict,
        (
            "n_k of Eq. (11) per cell type of the space: the candidates with the lowest alpha "
            "dropped from every edge at the end of the stage, e.g. `{normal: 4, reduce: 2}` "
            "(DARTS cells), `{normal: 1}` (NAS-Bench-201); a fraction below 1 drops that share of "
            "the candidates the stage starts with (rounded, keeping at least one), so the drops "
            "follow the op set: `{normal: 0.4}` drops 4 of 10, 1 of 3; a cell type left out drops "
            "none; valid: a whole number >= 0 or a fraction 0 < x < 1"
        ),
    )
    skip_dropout: float = opt(
        0.0,
        (
            "the stage's starting rate of dropout after every `skip_connect` candidate in the "
            "supernet (P-DARTS search regularisation), changed every epoch by "
            "`weights.skip_dropout_schedule`; the rate of each epoch is in `metrics.jsonl`; "
            "valid: 0 <= x < 1"
        ),
    )
    costs: list[CostTerm] = opt_factory(
        list,
        "the stage's cost terms of the reward, each a mapping of the `stages.N.costs.M` keys "
        "below: one term is Eq. (9) (the paper: `[{cost: params, ref: P_k, beta: beta_k}]`), "
        "several are Eq. (10); `[]`: the reward is the accuracy alone",
    )


@dataclass
class RewardConfig:
    """The reward of a sampled architecture: Eqs. (9) and (10)."""

    accuracy: bool = opt(
        True, "multiply the cost terms by Acc; `false` searches on the costs alone (paper Fig. 5/6)"
    )
    log_costs: list[str] = opt_factory(
        lambda: ["params", "flops"],
        "costs computed for every sampled architecture besides those in the reward, logged as "
        "their mean per alpha update (`costs_mean` in `metrics.jsonl`) and plotted",
    )
    latency_table: str | None = opt(
        None,
        (
            "a JSON table written by `tndnas latency-table` for this run's target network and op "
            "sets; needed when a reward term uses `latency_ms`, refused at start (one sentence) "
            "when it is missing, malformed, measured for another target network or lacks an op. "
            "The run keeps a copy in its run directory for `--resume`"
        ),
    )


@dataclass
class TargetConfig:
    """The final evaluation network on which costs are measured."""

    channels: int = opt(24, "initial width C of the final network; valid: >= 1")
    layers: int = opt(20, "cells of the final network; valid: >= 3")
    auxiliary: bool = opt(False, "whether the target network has the auxiliary classifier head")


@dataclass
class SGDConfig:
    """SGD with a cosine learning rate on augmented batches: the training of the supernet weights
    (``weights``, Eq. 3) and of a final network (``tndnas train``) share these keys and their
    checks."""

    batch_size: int = opt(128, "images per SGD step; valid: >= 1")
    lr: float = opt(0.025, "initial SGD learning rate of the cosine schedule; valid: > 0")
    lr_min: float = opt(0.0, "floor of the cosine schedule; valid: 0 <= lr_min <= lr")
    momentum: float = opt(0.9, "SGD momentum; valid: 0 <= x < 1")
    weight_decay: float = opt(4e-5, "L2 weight decay (the search: paper Table III); valid: >= 0")
    grad_clip: float = opt(5.0, "max gradient norm; `0` = off")
    crop_padding: int = opt(4, "padding before the random crop (data augmentation); `0` = no crop")
    flip: bool = opt(True, "random horizontal flips")
    cutout: int = opt(0, "cutout square side in pixels; `0` = off")
    max_steps_per_epoch: int | None = opt(
        None, "cap on SGD steps per epoch; `null` = one pass over the training images"
    )
    channels_last: bool = opt(
        True,
        "channels-last (NHWC) memory format for the network and its batches (faster on CPU and "
        "GPU; results equal up to float rounding)",
    )
    amp: bool = opt(
        True, "bf16 autocast on CUDA (the search: weight steps and scoring); ignored on the CPU"
    )


@dataclass
class WeightsConfig(SGDConfig):
    """SGD on the supernet weights (Eq. 3)."""

    mode: str = opt(
        "mixed",
        (
            "`mixed`: every edge outputs the softmax(alpha)-weighted sum of its candidates (Eq. "
            "1, the paper's default); `sampled`: each step trains one path sampled from the "
            "policy; `uniform`: one path per step, each edge's candidates equally likely "
            "whatever the policy prefers"
        ),
    )
    image_size: int | None = opt(
        None,
        (
            "side (px) the supernet's images are shrunk to by area averaging (`null`: as they "
            "are): cheaper steps (scale `crop_padding` with it); costs stay at full size"
        ),
    )
    skip_dropout_schedule: str = opt(
        "pdarts",
        (
            "how `stages.N.skip_dropout` changes within a stage. `pdarts` (as P-DARTS and the "
            "TND-NAS authors ran it): over the weight-only epochs it falls linearly, `start * "
            "(epochs - epoch - 1) / epochs`; from the first epoch with alpha updates it restarts "
            "at `start` and decays as `start * exp(-skip_dropout_decay * (epoch - "
            "pretrain_epochs))`. `constant`: `start` in every epoch"
        ),
    )
    skip_dropout_decay: float = opt(
        0.2,
        (
            "the exponential decay per epoch of the `pdarts` schedule (P-DARTS' `scale_factor`); "
            "valid: >= 0"
        ),
    )
    checkpoint: bool = opt(
        False,
        "activation checkpointing of the mixed forward: each cell is recomputed during backward, "
        "so only one cell's activations are held at a time (more time, a fraction of the memory; "
        "BatchNorm statistics are not updated twice); `weights.memory_check` says when it is needed",
    )
    compile: bool = opt(
        False,
        (
            "`torch.compile` every candidate op, every cell's preprocessing and the stem (the "
            "wiring of a sampled path stays eager Python); the first steps of a stage are slow "
            "while compiling; meant for GPUs, its speed-up is not measured yet"
        ),
    )
    compile_mode: str = opt(
        "default",
        (
            "the `torch.compile` mode of `weights.compile`: `default` or "
            "`max-autotune-no-cudagraphs` (longer compiling, faster kernels). The CUDA-graph "
            "modes are refused: a graph's output buffer is reused by its next replay while a "
            "sampled path's wiring may still hold it"
        ),
    )
    memory_check: str = opt(
        "error",
        "before the search starts (and on `--resume`), estimate every stage's weight-step memory "
        "(weights, gradients, momentum, saved activations of the largest candidates) against what "
        "the device has left. `error`: a stage that will not fit stops the run at once with one "
        "sentence naming the stage, the estimate and the fixes; `warn`: the same sentence as a "
        "warning; `ignore`: no estimate ([BENCHMARKS.md](../BENCHMARKS.md#memory-estimate) "
        "compares it with measured peaks)",
    )


@dataclass
class PolicyConfig:
    """REINFORCE on the architecture parameters alpha (Eqs. 4-8)."""

    samples: int = opt(
        10, "M, architectures sampled from softmax(alpha) per update (Eq. 8); valid: >= 1"
    )
    rl_interval: int = opt(1, "update alpha once every this many weight steps; valid: >= 1")
    arch_batch_size: int = opt(
        128,
        (
            "images of the architecture half on which each sample's accuracy is measured (Table "
            "III: as the weight batch); valid: >= 1"
        ),
    )
    lr: float | str = opt(
        0.01,
        (
            "Adam learning rate for alpha; `auto`: each stage's rate is `noise_walk` / "
            "sqrt(the stage's alpha updates), the budget rule (see [Is my search "
            "learning?](learning.md)); valid: > 0 or `auto`"
        ),
    )
    noise_walk: float = opt(
        0.45,
        (
            "with `lr: auto`, lr × sqrt(updates) of every stage: about how far (in logits) alpha "
            "random-walks over a stage on pure noise, whatever the stage's number of updates "
            "(the presets' fixed rates give 0.42-0.64); valid: > 0"
        ),
    )
    betas: list[float] = opt_factory(
        lambda: [0.5, 0.999], "Adam betas; valid: two values in [0, 1)"
    )
    weight_decay: float = opt(
        0.0,
        (
            "Adam weight decay on alpha, as the authors' logged searches ran (their code's "
            "default, 1e-3, is as large as the policy gradient of an accuracy reward and halves "
            "what a stage learns, see [Is my search learning?](learning.md)); valid: >= 0"
        ),
    )
    grad_clip: float = opt(5.0, "max norm of the alpha gradient; `0` = off")
    baseline_decay: float = opt(
        0.95,
        (
            "moving-average baseline b of Eq. (8) (`previous`, `current`): after each update `b "
            "<- decay*b + (1-decay)*mean(R)`; valid: 0 <= x < 1"
        ),
    )
    baseline: str = opt(
        "leave_one_out",
        (
            "`leave_one_out`: each sample's b is the mean reward of the update's other M − 1 "
            "samples (scored on the same batch by the same weights, so neither the batch's "
            "difficulty nor the weights' progress enters R − b; needs M >= 2, M = 1 makes no "
            "step); `previous`: b averages earlier updates' rewards only (the paper's Eq. 8); "
            "`current`: b starts at 0 and takes in the current batch *before* use, as the "
            "authors' code did (`policy.baseline=current policy.baseline_decay=0.05` reproduces "
            "their `b += 0.95 * (mean - b)`)"
        ),
    )
    weight_decay_mode: str = opt(
        "coupled",
        (
            "`coupled`: Adam's L2 term, as the authors' code (it adds `weight_decay * alpha` to "
            "the policy gradient, which swamps rewards far below 1); `decoupled`: AdamW, which "
            "shrinks alpha apart from the gradient"
        ),
    )
    normalize_advantage: bool = opt(
        False,
        (
            "divide R − b by the standard deviation of the update's M rewards, so the step does "
            "not depend on the rewards' scale (all rewards equal, or M = 1: no step)"
        ),
    )
    entropy_weight: float = opt(
        0.0, "weight of an entropy bonus on softmax(alpha); `0` = off (not in the paper)"
    )
    argmax_every: int = opt(
        10,
        (
            "also score the argmax architecture every N updates (the curves of the paper's Fig. "
            "4); valid: >= 1"
        ),
    )
    eval_images: int = opt(
        2048,
        (
            "architecture-half images on which the per-epoch accuracies of the mixed supernet and"
            " of the argmax architecture are measured (`metrics.jsonl`, `kind: epoch`); valid: >="
            " 1"
        ),
    )
    cuda_graphs: bool = opt(
        False,
        (
            "score the M sampled sub-networks with each op of at least four layers (separable, "
            "dilated and factorized convolutions, factorized reductions) replayed from a CUDA "
            "graph captured once per input shape: fewer kernel launches per α update, the same "
            "scores. CUDA only (refused on other devices); graphs are captured during a stage's "
            "first α updates and kept in GPU memory (one static input and output buffer per "
            "shape) until the stage ends (not counted by `weights.memory_check`); speed gain not "
            "yet measured ([BENCHMARKS.md](../BENCHMARKS.md#gpu))"
        ),
    )


@dataclass
class SearchConfig:
    """The whole configuration of ``tndnas search``."""

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
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    space: SpaceConfig = field(default_factory=DartsSpaceConfig)
    weights: WeightsConfig = field(default_factory=WeightsConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    family: FamilyConfig = field(default_factory=FamilyConfig)
    stages: list[StageConfig] = opt_factory(
        lambda: [StageConfig()],
        "a list of mappings, one per stage; the default is one stage with the defaults below",
    )
