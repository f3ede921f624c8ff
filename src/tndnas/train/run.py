"""The final training: one genotype trained from scratch (the DARTS / P-DARTS protocol).

::

    build the genotype's network (its space's ``network``) at cfg.channels x cfg.layers for the dataset's shape
    for epoch e in 0 .. epochs-1:
        lr        = cosine(lr -> lr_min) at e / epochs          (closed form, no scheduler state)
        drop_path = cfg.drop_path * e / epochs                  (linear ramp from 0)
        SGD over the whole (augmented) training set:
            loss = CE(logits) + auxiliary_weight * CE(aux_logits), gradient clipped
        evaluate on the test set; checkpoint
    write the weights, the summary and the learning curve

A run directory holds ``config.yaml``, ``genotype.json``, ``run.json``, ``metrics.jsonl``
(one record per epoch), ``checkpoint.pt`` (every epoch, atomic), ``weights_last.pt``,
``weights_best.pt`` (best test accuracy), ``summary.json`` and ``plots/learning_curve.png``.
The checkpoint holds the model, the optimizer, the data generator and torch's RNG states, so a
resumed CPU run ends with the same weights and metrics as an uninterrupted one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..config import ConfigError, TrainConfig, config_to_dict, save_config
from ..data import AugmentConfig, BatchIterator, ImageDataset, load_dataset
from ..macro import Macro
from ..measure.flops import count_flops, count_parameters
from ..report.learning_curve import plot_learning_curve
from ..report.metrics import MetricsLog, NoLog, read_metrics
from ..runtime import (
    CheckpointError,
    RunDirError,
    check_resume_device,
    environment,
    load_checkpoint,
    peak_memory_mb,
    resolve_device,
    save_atomic,
    write_json_atomic,
)
from ..runtime.distributed import join_world
from ..runtime.lock import RunLock, locked_run
from ..runtime.optim import check_finite_loss, cosine_lr, set_lr
from ..runtime.random_state import random_state, restore_random_state
from ..runtime.records import first_line, read_finished_summary
from ..spaces import space_of
from ..spaces.base import Genotype
from .run_dir import CHECKPOINT_VERSION, RUN_KIND, TrainFiles, check_train_resume, read_train_run
from .steps import evaluate, train_step
from .target_size import check_fits, compare_with_target
from .weights import save_weights

# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


def _seed(seed: int, stream: int) -> int:
    return (seed * 1_000_003 + stream) % (2**63)


class TrainRun:
    """One evaluation training run: data, network, optimizer, run directory and the loop."""

    def __init__(
        self,
        cfg: TrainConfig,
        genotype: Genotype,
        out_dir: str | os.PathLike,
        *,
        progress: bool | None = None,
        dist_timeout: float = 300.0,
        size_warning: bool = True,
    ):
        self.cfg = cfg
        self.size_warning = size_warning
        self.genotype = genotype
        self.files = TrainFiles(Path(out_dir))
        self.show_progress = progress
        # under torchrun: this process's rank, and its own GPU
        self.world, self.device = join_world(resolve_device(cfg.device), dist_timeout)
        self.world.resume_command = f"tndnas train --resume {out_dir}"
        self.world.check_batch(cfg.batch_size, "batch_size")
        self.cuda = self.device.type == "cuda"
        self.amp = bool(cfg.amp and self.cuda)
        self.channels_last = bool(cfg.channels_last)  # faster on CPU too (benchmarks/train_step.py)

    # ------------------------------------------------------------------ set-up
    def _build(self, data: ImageDataset) -> None:
        cfg = self.cfg
        try:
            self.macro = Macro(
                channels=cfg.channels,
                layers=cfg.layers,
                num_classes=data.num_classes,
                in_channels=data.in_channels,
                image_size=data.image_size,
                steps=self.genotype.steps,
            )
        except ValueError as err:
            raise ConfigError(f"cannot build the network: {err}") from None
        self.normalization = {"mean": list(data.mean), "std": list(data.std)}
        check_fits(self.genotype, self.macro, self.device)
        torch.manual_seed(cfg.seed)  # weight init
        network = space_of(self.genotype).network(
            self.genotype, self.macro, auxiliary=cfg.auxiliary
        )
        note, self.target_record = compare_with_target(
            self.genotype, self.macro, network, cfg.dataset.name
        )
        if note and self.world.main and self.size_warning:
            print(f"tndnas: warning: {note}", file=sys.stderr)
        model = network.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.trainer = self.world.wrap(model, some_unused=False)  # DDP with several processes
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
        self.gen_data = torch.Generator(device=self.device).manual_seed(_seed(cfg.seed, 1))
        gen_eval = torch.Generator(device=self.device).manual_seed(_seed(cfg.seed, 2))
        augment = AugmentConfig(cfg.crop_padding, cfg.flip, cfg.cutout)
        self.train_batches = BatchIterator(
            data.train_x, data.train_y, cfg.batch_size, mean=data.mean, std=data.std,
            augment=augment, generator=self.gen_data,
        )  # fmt: skip
        self.test_batches = BatchIterator(
            data.test_x, data.test_y, cfg.batch_size, mean=data.mean, std=data.std,
            augment=None, generator=gen_eval, shuffle=False, drop_last=False,
        )  # fmt: skip
        torch.manual_seed(_seed(cfg.seed, 3))  # drop-path masks

    def _create(self) -> None:
        f = self.files
        if f.config.exists():
            raise RunDirError(
                f"{f.root} already holds a run; continue it with `tndnas train --resume {f.root}` "
                "or choose another --out."
            )
        f.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            f.run_info,
            {
                "command": RUN_KIND,
                "status": "running",  # then finished, failed or interrupted (with its reason)
                "seed": self.cfg.seed,
                "environment": environment(self.device),
                "config": config_to_dict(self.cfg),
                "genotype": self.genotype.to_dict(),
            },
        )
        self.genotype.to_json(f.genotype)
        save_config(self.cfg, f.config)  # last: a folder with a config.yaml holds a whole run

    # ------------------------------------------------------------------ checkpoints
    def _save(self, state: dict[str, Any]) -> None:
        rng = random_state(self.world, self.device)  # every process takes part
        if not self.world.main:  # every process holds the same weights; rank 0 writes them
            return
        ckpt = {
            "version": CHECKPOINT_VERSION,
            "config": config_to_dict(self.cfg),
            "genotype": self.genotype.to_dict(),
            **state,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "gen_data": self.gen_data.get_state(),
            **rng,
        }
        save_atomic(ckpt, self.files.checkpoint)

    def _restore(self, ckpt: dict) -> dict[str, Any]:
        check_resume_device(ckpt, self.device, self.files.checkpoint, "gen_data")
        try:
            self.model.load_state_dict(ckpt["model"])
        except RuntimeError as err:
            raise CheckpointError(
                f"checkpoint {self.files.checkpoint} does not fit the network of its run "
                f"({first_line(err)[:160]}); start the run again with another --out."
            ) from None
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.gen_data.set_state(ckpt["gen_data"])
        restore_random_state(ckpt, self.world, self.device, self.files.checkpoint)
        keys = ("epoch", "best_acc", "best_epoch", "seconds", "metrics_lines")
        return {k: ckpt[k] for k in keys}

    # ------------------------------------------------------------------ the loop
    def run(self, resume: bool = False) -> dict:
        """Train (or ``resume``); the run directory is locked for the run (one process per
        run), and ``run.json`` records how the run ended."""
        f = self.files
        with (  # the guard inside: run.json records a lost peer as the sentence it becomes
            locked_run(f.root, "train", f.run_info, self.world.main) as lock,
            self.world.guard("the training"),
        ):
            return self._run(resume, lock)

    def _run(self, resume: bool, lock: RunLock) -> dict:
        f = self.files
        if resume:
            read_train_run(f.root)  # one sentence for a folder that holds no train run
            if f.summary.exists():
                return read_finished_summary(f.summary, "train")
            lock.acquire()
        # the data and the network before anything is written: a bad input leaves no folder
        data = load_dataset(
            self.cfg.dataset.name, self.cfg.dataset.data_dir, self.cfg.dataset.download
        ).to(self.device)
        self._build(data)
        if not resume:
            self.world.run_on_main(self._create, "creating the run directory")
            lock.acquire()
        self.input_shape = (1, data.in_channels, data.image_size, data.image_size)
        state = {"epoch": 0, "best_acc": -1.0, "best_epoch": -1, "seconds": 0.0, "metrics_lines": 0}
        ckpt = load_checkpoint(f.checkpoint, "cpu") if resume and f.checkpoint.exists() else None
        if resume:
            check_train_resume(f.root, self.cfg, self.genotype, ckpt)
        if ckpt is not None:
            state = self._restore(ckpt)
        log = MetricsLog(f.metrics) if self.world.main else NoLog()
        log.resume_at(state["metrics_lines"])
        if self.cuda:
            torch.backends.cudnn.benchmark = True
            torch.cuda.reset_peak_memory_stats(self.device)
        self._epochs(state, log)
        return self._finish(state)

    def _epochs(self, state: dict[str, Any], log: MetricsLog) -> None:
        cfg = self.cfg
        steps = len(self.train_batches)
        if cfg.max_steps_per_epoch:
            steps = min(steps, cfg.max_steps_per_epoch)
        show = sys.stderr.isatty() if self.show_progress is None else self.show_progress
        show = show and self.world.main
        bar = tqdm(
            total=cfg.epochs * steps, initial=state["epoch"] * steps, disable=not show,
            desc="train", unit="step", dynamic_ncols=True, leave=True,
        )  # fmt: skip
        try:
            while state["epoch"] < cfg.epochs:
                self._epoch(state, log, steps, bar)
        finally:
            bar.close()

    def _epoch(self, state: dict[str, Any], log: MetricsLog, steps: int, bar: tqdm) -> None:
        cfg, model = self.cfg, self.model
        epoch = state["epoch"]
        t0 = time.perf_counter()
        lr = cosine_lr(cfg.lr, cfg.lr_min, epoch, cfg.epochs)
        set_lr(self.optimizer, lr)
        drop = cfg.drop_path * epoch / cfg.epochs
        model.drop_path_prob = drop
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for step, (x, y) in enumerate(self.train_batches):
            if step >= steps:
                break
            x, y = self.world.shard(x, y)  # several processes: this one's share of the batch
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss, ok = train_step(
                self.trainer, self.optimizer, x, y, auxiliary_weight=cfg.auxiliary_weight,
                grad_clip=cfg.grad_clip, amp=self.amp,
            )  # fmt: skip
            loss_sum += loss * len(y)
            correct += ok
            seen += len(y)
            bar.update(1)
        loss_total, correct_total, seen = self.world.sum(
            [float(loss_sum), float(correct), seen], "the epoch's training loss"
        )
        check_finite_loss(loss_total / max(seen, 1), f"epoch {epoch}", "lr", cfg.lr)
        test_loss, test_acc = evaluate(
            model, self.test_batches, amp=self.amp, channels_last=self.channels_last
        )
        seconds = time.perf_counter() - t0
        bar.set_postfix(epoch=f"{epoch}/{cfg.epochs - 1}", test_acc=f"{test_acc:.4f}")
        log.write(
            {
                "kind": "train", "epoch": epoch, "lr": lr, "drop_path": drop,
                "train_loss": loss_total / max(seen, 1), "train_acc": correct_total / max(seen, 1),
                "test_loss": test_loss, "test_acc": test_acc, "test_error": 100.0 * (1.0 - test_acc),
                "seconds": seconds, "peak_memory_mb": peak_memory_mb(self.device),
            }
        )  # fmt: skip
        if test_acc > state["best_acc"]:
            state["best_acc"], state["best_epoch"] = test_acc, epoch
            if self.world.main:
                save_weights(
                    model,
                    self.files.weights_best,
                    self.genotype,
                    self.macro,
                    cfg.auxiliary,
                    self.normalization,
                )
        state["epoch"] = epoch + 1
        state["seconds"] += seconds
        state["metrics_lines"] = log.count()
        self._save(state)

    # ------------------------------------------------------------------ the end
    def _finish(self, state: dict[str, Any]) -> dict:
        summary = self._write_summary(state) if self.world.main else None
        return self.world.broadcast(summary, "writing the summary")

    def _write_summary(self, state: dict[str, Any]) -> dict:
        cfg, f = self.cfg, self.files
        save_weights(
            self.model, f.weights_last, self.genotype, self.macro, cfg.auxiliary, self.normalization
        )
        records = [r for r in read_metrics(f.metrics) if r.get("kind") == RUN_KIND]
        final = records[-1] if records else {}
        flops = count_flops(self.model, self.input_shape)
        summary = {
            "test_error": final.get("test_error"),
            "best_test_error": 100.0 * (1.0 - state["best_acc"]) if state["best_acc"] >= 0 else None,
            "best_epoch": state["best_epoch"],
            "params": count_parameters(self.model, exclude_auxiliary=True),
            "params_with_auxiliary": count_parameters(self.model, exclude_auxiliary=False),
            "flops": flops,
            "macs": flops // 2,
            "units": {
                "test_error": "% of the test set misclassified by the final weights",
                "best_test_error": "% at the epoch of best test accuracy (weights_best.pt)",
                "params": "parameters without the auxiliary head (the reported size)",
                "flops": "floating-point operations of one image's inference (2 per multiply-add)",
                "macs": "multiply-accumulates of one image's inference (flops / 2)",
                "seconds": "wall time of training and per-epoch testing, summed over epochs",
            },
            "channels": cfg.channels,
            "layers": cfg.layers,
            # the network the search's reward measured (a genotype from tndnas search), and
            # params_ratio: this network's parameters over that one's
            "searched_target": self.target_record,
            "epochs": cfg.epochs,
            "dataset": cfg.dataset.name,
            "input_shape": list(self.input_shape),
            "seconds": state["seconds"],
            "peak_memory_mb": peak_memory_mb(self.device),
            "device": str(self.device),
            "versions": environment(self.device),
            "seed": cfg.seed,
            "genotype": self.genotype.to_dict(),
            "weights": {"last": f.weights_last.name, "best": f.weights_best.name},
        }  # fmt: skip
        try:
            plot_learning_curve(records, f.learning_curve)
            summary["plots"] = [str(f.learning_curve.relative_to(f.root))]
        except Exception as err:  # a plot must never lose a finished training
            summary["plots_error"] = f"{type(err).__name__}: {err}"
        write_json_atomic(f.summary, summary)
        return summary


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def train_network(
    cfg: TrainConfig,
    genotype: Genotype,
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    progress: bool | None = None,
    dist_timeout: float = 300.0,
    size_warning: bool = True,
) -> dict:
    """Train ``genotype`` from scratch as ``cfg`` says, into ``out_dir``; returns the summary.

    ``resume=True`` continues the run in ``out_dir`` from its last checkpoint (``cfg`` and
    ``genotype`` must be the ones it was started with; see :func:`read_train_run`); a finished
    run just returns its summary.  Without ``resume``, a directory that already holds a run
    is refused.  ``progress``: show a progress bar (None: when stderr is a terminal).  Under
    ``torchrun`` every process calls this with the same arguments (see
    :mod:`tndnas.runtime.distributed`); ``dist_timeout``: seconds before a silent peer stops it.
    ``size_warning``: say (one line) when the trained size is not the one the search costed.
    """
    run = TrainRun(
        cfg, genotype, out_dir, progress=progress, dist_timeout=dist_timeout,
        size_warning=size_warning,
    )  # fmt: skip
    summary = run.run(resume=resume)
    world = run.world
    del run  # its DistributedDataParallel wrapper goes before the process group does
    world.close()
    return summary
