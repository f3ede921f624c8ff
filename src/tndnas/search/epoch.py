"""The inner loop of Algorithm 2: one stage's epochs of weight steps and alpha updates."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import torch
from tqdm import tqdm

from ..config import StageConfig
from ..data import BatchIterator
from ..report.metrics import MetricsLog, NoLog
from ..runtime import peak_memory_mb
from ..runtime.optim import DivergedError, check_finite_loss, cosine_lr, set_lr
from ..runtime.records import write_json_atomic
from .stages import steps_per_epoch
from .state import Progress, StageState
from .weight_step import uniform_path, weight_step

if TYPE_CHECKING:
    from ..config import SearchConfig
    from ..data import AugmentConfig
    from ..runtime.distributed import World


class StageRunner(Protocol):
    """What one stage's epochs need of the search that runs them (:class:`~.algorithm.Search`
    is one): its config, data and split, device and world, and its per-epoch actions."""

    cfg: SearchConfig
    data: Any  # the dataset's tensors, on the device
    weight_idx: torch.Tensor  # the weight half of the training images
    arch_idx: torch.Tensor  # the architecture half
    augment: AugmentConfig
    memory_format: torch.memory_format
    device: torch.device
    rundir: Any  # the run directory (RunDir): where the epoch's alpha file goes
    world: World
    amp: bool
    show_progress: bool | None
    check_sync: bool
    skip_dropout_rate: Callable[[float, int, int, int, float], float]

    def alpha_update(
        self, k: int, epoch: int, step: int, s: StageState, arch_batches: Iterator, candidates: Any
    ) -> dict: ...

    def evaluate(self, s: StageState) -> tuple[float, list[float]]: ...

    def save_checkpoint(self, prog: Progress, s: StageState | None) -> None: ...


def run_stage_epochs(
    run: StageRunner,
    k: int,
    st: StageConfig,
    s: StageState,
    prog: Progress,
    log: MetricsLog | NoLog,
) -> None:
    """The epochs of stage ``k`` from ``prog.epoch`` on: weight steps with an alpha update
    every ``policy.rl_interval`` steps after the stage's weight-only epochs, then the epoch's
    accuracies, alpha file and checkpoint."""
    cfg = run.cfg
    weight_batches = BatchIterator(
        run.data.train_x, run.data.train_y, cfg.weights.batch_size, mean=run.data.mean, std=run.data.std,
        augment=run.augment, generator=s.gen_data, indices=run.weight_idx, memory_format=run.memory_format,
    )  # fmt: skip
    steps = steps_per_epoch(cfg, len(run.data.train_y))
    show = _is_tty() if run.show_progress is None else run.show_progress
    show = show and run.world.main
    bar = tqdm(
        total=st.epochs * steps, initial=prog.epoch * steps, disable=not show,
        desc=f"stage {k}/{len(cfg.stages) - 1}", unit="step", dynamic_ncols=True, leave=True,
    )  # fmt: skip
    while prog.epoch < st.epochs:
        epoch = prog.epoch
        t0 = time.perf_counter()
        lr = cosine_lr(cfg.weights.lr, cfg.weights.lr_min, epoch, st.epochs)
        set_lr(s.optimizer, lr)
        skip_dropout = run.skip_dropout_rate(
            st.skip_dropout,
            epoch,
            st.epochs,
            st.pretrain_epochs,
            cfg.weights.skip_dropout_decay,
        )
        s.supernet.set_skip_dropout(skip_dropout)
        arch_batches = _cycle(
            BatchIterator(
                run.data.train_x, run.data.train_y, cfg.policy.arch_batch_size, mean=run.data.mean,
                std=run.data.std, augment=None, generator=s.gen_arch, indices=run.arch_idx, memory_format=run.memory_format,
            )
        )  # fmt: skip
        rl_on = epoch >= st.pretrain_epochs  # the first e_k epochs train weights only
        loss_sum = torch.zeros((), device=run.device)
        correct = torch.zeros((), device=run.device, dtype=torch.long)
        seen = 0
        last = None
        w = None
        for step, (x, y) in enumerate(weight_batches):
            if step >= steps:
                break
            if rl_on and step % cfg.policy.rl_interval == 0:
                last = run.alpha_update(k, epoch, step, s, arch_batches, prog.candidates)
                log.write(last)
                w = None  # alpha changed
            path = None
            if cfg.weights.mode == "mixed":  # Eqs. (1), (3)
                if w is None:  # softmax(alpha) on the device, refreshed only when alpha moves
                    w = {ct: p.to(run.device) for ct, p in s.policy.probs().items()}
            elif cfg.weights.mode == "uniform":  # one path, every candidate equally likely
                path = uniform_path(prog.candidates, s.gen_data)
            else:  # sampled: one path drawn from the policy trains
                path = s.strategy.sample(1)[0]
            x, y = run.world.shard(x, y)  # several processes: this one's share of the batch
            loss, ok = weight_step(
                s.trainer or s.supernet, s.optimizer, x, y, cfg.weights.grad_clip,
                weights=None if path else w, path=path, amp=run.amp, params=s.params,
            )  # fmt: skip
            loss_sum += loss * len(y)
            correct += ok
            seen += len(y)
            bar.update(1)
            if last is not None and step % 10 == 0:
                costs = {n: _fmt(v) for n, v in last["costs_mean"].items()}
                bar.set_postfix(epoch=f"{epoch}/{st.epochs - 1}", entropy=f"{last['entropy']:.3f}/{last['entropy_max']:.3f}",
                                reward=f"{last['reward_mean']:.3f}", baseline=f"{last['baseline']:.3f}", **costs)  # fmt: skip
        loss_total, correct_total, seen = run.world.sum(
            [float(loss_sum), float(correct), seen], "the epoch's training loss"
        )
        where = f"stage {k} epoch {epoch}"
        check_finite_loss(loss_total / max(seen, 1), where, "weights.lr", cfg.weights.lr)
        if not all(bool(torch.isfinite(a).all()) for p in s.policies for a in p.alpha.values()):
            what = "policy.noise_walk" if isinstance(cfg.policy.lr, str) else "policy.lr"
            raise DivergedError(f"alpha is no longer a number after {where}; lower {what} "
                                f"(the learning rate is now {s.policy_lr:g}) and start a new run with another --out.")  # fmt: skip
        t_eval = time.perf_counter()
        acc_mix, acc_args = run.evaluate(s)
        t_end = time.perf_counter()
        prog.stage_seconds[k] += t_end - t0
        log.write(
            {
                "kind": "epoch", "stage": k, "epoch": epoch, "lr": lr, "skip_dropout": skip_dropout, "alpha_updates": rl_on,
                "train_loss": loss_total / max(seen, 1), "train_acc": correct_total / max(seen, 1),
                "arch_acc_supernet": acc_mix, "arch_acc_argmax": sum(acc_args) / len(acc_args),
                **({"arch_acc_members": acc_args} if len(acc_args) > 1 else {}),
                "seconds": prog.stage_seconds[k], "eval_seconds": t_end - t_eval, "steps": steps,
                "peak_memory_mb": peak_memory_mb(run.device),
            }
        )  # fmt: skip
        if run.check_sync:  # every rank must hold the same alpha and weights
            for p in s.policies:
                run.world.check_same(p.alpha, f"alpha after epoch {epoch} of stage {k}")
            run.world.check_same(
                dict(s.supernet.named_parameters()),
                f"the supernet's weights after epoch {epoch} of stage {k}",
            )
        if run.world.main:
            write_json_atomic(
                run.rundir.alpha_file(k, epoch), s.alpha_record(k, epoch, prog.candidates)
            )
        prog.epoch = epoch + 1
        prog.metrics_lines = log.count()
        run.save_checkpoint(prog, s)
    bar.close()


def _cycle(it: BatchIterator) -> Iterator:
    while True:
        yield from it


def _fmt(v: float | None) -> str:
    """A cost on the progress bar, in its registered unit."""
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def _is_tty() -> bool:
    return sys.stderr.isatty()
