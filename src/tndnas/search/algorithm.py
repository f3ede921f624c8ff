"""TND-NAS, the paper's Algorithm 2: REINFORCE on alpha over a progressive supernet.

::

    for stage k:                                        (progressive stages)
        build the supernet with candidates O_k and depth L_k      (Eq. 12)
        for epoch:
            for step:
                if epoch >= e_k and step % rl_interval == 0:
                    update alpha by REINFORCE                      (Eqs. 4-8)
                update weights w by SGD on the cross-entropy       (Eqs. 1, 3)
        drop the n_k least likely candidates of every edge        (Eq. 11)
    derive the genotype: argmax per edge, 'none' removes the edge

:func:`search` is that loop; the pieces it calls live in small modules beside it.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..config import ConfigError, SearchConfig, config_to_dict, save_config
from ..data import AugmentConfig, BatchIterator, load_dataset, search_split
from ..objectives import CostContext, CostTable, LatencyTable, RewardTerm, get_cost
from ..report.metrics import MetricsLog, read_metrics
from ..runtime import (
    available_memory_bytes,
    check_resume_device,
    environment,
    load_checkpoint,
    memory_share,
    peak_memory_mb,
    resolve_device,
    save_atomic,
    write_json_atomic,
)
from ..space.genotype import CELL_TYPES, derive_genotype, edge_pairs
from ..space.macro import Macro
from ..space.supernet import Supernet
from ..train.memory import MemoryProbe, probe_supernet
from ..train.search_step import SKIP_DROPOUT_SCHEDULES, cosine_lr, set_lr, weight_step
from . import op_graphs
from .diagnostics import max_entropy, stage_learning, still_warning
from .op_graphs import OpGraphs
from .policy import CategoricalPolicy
from .reinforce import Reinforce
from .run_dir import RunDir
from .scoring import batch_statistics, score_paths
from .stages import candidates_left, reward_terms, space_ops, stage_seed, steps_per_epoch
from .update import reinforce_update


def shrink_keep(probs: torch.Tensor, n_drop: int) -> list[list[int]]:
    """Eq. (11): per edge, the indices that survive dropping the ``n_drop`` lowest p."""
    keep = probs.shape[1] - n_drop
    order = torch.argsort(probs, dim=1, descending=True, stable=True)
    return [sorted(row[:keep].tolist()) for row in order]


@dataclass
class StageState:
    """Everything that changes during one stage (checkpointed every epoch)."""

    supernet: Supernet
    optimizer: torch.optim.Optimizer
    policy: CategoricalPolicy
    reinforce: Reinforce
    gen_data: torch.Generator
    gen_arch: torch.Generator
    gen_policy: torch.Generator
    updates: int = 0
    alpha_start: dict[str, torch.Tensor] = field(default_factory=dict)  # alpha as initialised
    params: list[torch.Tensor] = field(default_factory=list)  # the supernet's, listed once
    graphs: OpGraphs | None = (
        None  # CUDA graphs of the scored ops (policy.cuda_graphs); not checkpointed
    )


@dataclass
class Progress:
    """Run-level bookkeeping (checkpointed)."""

    stage: int = 0
    epoch: int = 0
    candidates: dict[str, list[list[str]]] = field(default_factory=dict)
    stage_seconds: list[float] = field(default_factory=list)
    stage_genotypes: list[dict] = field(default_factory=list)
    stage_learning: list[dict] = field(default_factory=list)  # diagnostics.stage_learning per stage
    metrics_lines: int = 0


class Search:
    """One search run: data, cost table and run directory, and the Algorithm-2 loop."""

    def __init__(
        self,
        cfg: SearchConfig,
        run_dir: str | Path,
        *,
        resume: bool = False,
        progress: bool | None = None,
        plots: bool = True,
    ):
        self.cfg = cfg
        self.resume = resume  # continue the run in run_dir (run() then reads its checkpoint)
        self.rundir = RunDir(run_dir)
        self.device = resolve_device(cfg.device)
        if (
            cfg.policy.cuda_graphs
            and self.device.type != "cuda"
            and not op_graphs.EMULATE_WITHOUT_CUDA
        ):
            raise ConfigError(
                f"policy.cuda_graphs=true needs a CUDA device, but this run uses {self.device}; "
                "set policy.cuda_graphs=false, or run on a GPU with --device cuda."
            )
        self.show_progress = progress
        self.plots = plots  # draw the run's plots when it finishes (tndnas plot draws them later)
        ds = load_dataset(cfg.dataset.name, cfg.dataset.data_dir, cfg.dataset.download)
        self.data = ds.to(self.device)
        n = len(self.data.train_y)
        self.weight_idx, self.arch_idx = search_split(n, cfg.seed, 1.0 - cfg.dataset.arch_fraction)
        self.weight_idx, self.arch_idx = (
            self.weight_idx.to(self.device),
            self.arch_idx.to(self.device),
        )
        self.target = Macro(
            channels=cfg.target.channels,
            layers=cfg.target.layers,
            num_classes=ds.num_classes,
            in_channels=ds.in_channels,
            image_size=ds.image_size,
            steps=cfg.space.steps,
        )
        try:
            names = {"params", "flops", cfg.reward.cost} | {
                t.cost for s in cfg.stages for t in s.extra_costs
            }
            self.costs = {name: get_cost(name) for name in sorted(names)}
        except KeyError as err:
            raise ConfigError(str(err.args[0])) from None
        base = space_ops(cfg)
        self.cost_ctx = CostContext(
            CostTable(self.target, cfg.target.auxiliary), self.target, self._latency_table(base)
        )
        for k in range(len(cfg.stages)):
            for ct, n_left in candidates_left(cfg, k + 1).items():
                if n_left < 1:
                    raise ConfigError(
                        f"stages 0..{k} drop more {ct} candidates than the op set has ({len(base[ct])}); lower stages.{k}.drop_{ct}."
                    )
        self.edges = len(edge_pairs(cfg.space.steps))
        self.initial_candidates = {
            ct: [list(base[ct]) for _ in range(self.edges)] for ct in CELL_TYPES
        }
        schedule = cfg.weights.skip_dropout_schedule
        if schedule not in SKIP_DROPOUT_SCHEDULES:
            raise ConfigError(
                f"weights.skip_dropout_schedule={schedule!r} is invalid; use one of: {', '.join(SKIP_DROPOUT_SCHEDULES)}"
            )
        self.skip_dropout_rate = SKIP_DROPOUT_SCHEDULES[schedule]
        self.augment = AugmentConfig(cfg.weights.crop_padding, cfg.weights.flip, cfg.weights.cutout)
        self.memory_format = (
            torch.channels_last if cfg.weights.channels_last else torch.contiguous_format
        )
        # bf16 autocast on CUDA for weight steps and scoring (alpha and rewards stay float32)
        self.amp = cfg.weights.amp and self.device.type == "cuda"

    # ------------------------------------------------------------------ building a stage
    def _new_stage(self, k: int, candidates: dict[str, list[list[str]]]) -> StageState:
        cfg, st = self.cfg, self.cfg.stages[k]
        torch.manual_seed(stage_seed(cfg.seed, k, 0))  # weight init and dropout
        if self.device.type == "cuda":  # the epochs' peak_memory_mb is this stage's
            torch.cuda.reset_peak_memory_stats(self.device)
        macro = self._macro(st.layers)
        supernet = Supernet(
            candidates, macro, st.skip_dropout, checkpoint=cfg.weights.checkpoint
        ).to(self.device)
        if cfg.weights.channels_last:
            supernet = supernet.to(memory_format=torch.channels_last)
        if cfg.weights.compile:
            mode = cfg.weights.compile_mode
            supernet.compile_ops(**({} if mode == "default" else {"mode": mode}))
        optimizer = torch.optim.SGD(
            supernet.parameters(),
            lr=cfg.weights.lr,
            momentum=cfg.weights.momentum,
            weight_decay=cfg.weights.weight_decay,
        )
        gens = [
            torch.Generator(device=d).manual_seed(stage_seed(cfg.seed, k, i))
            for i, d in ((1, self.device), (2, self.device), (3, "cpu"))
        ]
        init_gen = torch.Generator().manual_seed(stage_seed(cfg.seed, k, 4))
        policy = CategoricalPolicy(
            {ct: len(candidates[ct][0]) for ct in CELL_TYPES}, self.edges, init_gen
        )
        reinforce = Reinforce.from_config(policy, cfg.policy)
        graphs = None
        if cfg.policy.cuda_graphs:
            graphs = OpGraphs(emulate=self.device.type != "cuda")
        return StageState(
            supernet, optimizer, policy, reinforce, *gens,
            alpha_start=policy.state_dict(), params=list(supernet.parameters()), graphs=graphs,
        )  # fmt: skip

    def _reward_terms(self, k: int) -> list[RewardTerm]:
        return reward_terms(self.cfg, k)

    # ------------------------------------------------------------------ the alpha update, Eqs. (4)-(8)
    def alpha_update(
        self, k: int, epoch: int, step: int, s: StageState, arch_batches: Iterator, candidates
    ) -> dict:
        cfg = self.cfg
        x, y = next(arch_batches)
        res = reinforce_update(
            s.supernet, s.reinforce, x, y, candidates, self.costs, self.cost_ctx, self._reward_terms(k),
            samples=cfg.policy.samples, generator=s.gen_policy, use_accuracy=cfg.reward.accuracy, amp=self.amp, graphs=s.graphs,
        )  # fmt: skip
        accs, r, params, flops, baseline = (
            res.accuracies,
            res.rewards,
            res.params,
            res.flops,
            res.baseline,
        )
        s.updates += 1
        rec = {
            "kind": "alpha",
            "stage": k,
            "epoch": epoch,
            "step": step,
            "update": s.updates,
            "reward_mean": float(r.mean()),
            "reward_max": float(r.max()),
            "baseline": baseline,
            "acc_max": None if accs is None else float(accs.max()),
            "acc_mean": None if accs is None else float(accs.mean()),
            "params_mean": sum(params) / len(params) if params else None,
            "flops_mean": sum(flops) / len(flops) if flops else None,
            "entropy": float(s.policy.entropy()),
            "entropy_max": max_entropy(s.policy.alpha),
            # the reward's further costs (e.g. latency_ms): sampled mean per cost name
            "costs_mean": {n: sum(v) / len(v) if v else None for n, v in res.others.items()},
        }
        if s.updates % cfg.policy.argmax_every == 0:  # the paper's Fig. 4
            argmax = {ct: v.tolist() for ct, v in s.policy.argmax().items()}
            rec["argmax_acc"] = float(
                score_paths(s.supernet, x, y, [argmax], self.amp, s.graphs)[0]
            )
        return rec

    # ------------------------------------------------------------------ evaluation per epoch
    @torch.no_grad()
    def evaluate(self, s: StageState) -> tuple[float, float]:
        """Architecture-half accuracy of the mixed supernet and of the argmax architecture."""
        idx = self.arch_idx[: self.cfg.policy.eval_images]
        it = BatchIterator(
            self.data.train_x, self.data.train_y, self.cfg.policy.arch_batch_size, mean=self.data.mean, std=self.data.std,
            augment=None, generator=s.gen_arch, shuffle=False, drop_last=False, indices=idx, memory_format=self.memory_format,
        )  # fmt: skip
        weights = {ct: p.to(self.device) for ct, p in s.policy.probs().items()}
        argmax = {ct: v.tolist() for ct, v in s.policy.argmax().items()}
        correct_mix = correct_arg = total = 0
        s.supernet.eval()
        for x, y in it:
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.amp):
                correct_mix += (s.supernet(x, weights).argmax(1) == y).sum()
                with batch_statistics(s.supernet):
                    correct_arg += (s.supernet.forward_path(x, argmax).argmax(1) == y).sum()
            total += len(y)
        return float(correct_mix) / total, float(correct_arg) / total

    # ------------------------------------------------------------------ checkpoints
    def _save(self, prog: Progress, s: StageState | None) -> None:
        state: dict[str, Any] = {
            "version": 1,
            "progress": {
                "stage": prog.stage,
                "epoch": prog.epoch,
                "candidates": prog.candidates,
                "stage_seconds": prog.stage_seconds,
                "stage_genotypes": prog.stage_genotypes,
                "stage_learning": prog.stage_learning,
                "metrics_lines": prog.metrics_lines,
            },
            "torch_rng": torch.get_rng_state(),
            "device_type": self.device.type,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if s is not None:
            state["stage_state"] = {
                "supernet": s.supernet.state_dict(),
                "optimizer": s.optimizer.state_dict(),
                "alpha": s.policy.state_dict(),
                "reinforce": s.reinforce.state_dict(),
                "gen_data": s.gen_data.get_state(),
                "gen_arch": s.gen_arch.get_state(),
                "gen_policy": s.gen_policy.get_state(),
                "updates": s.updates,
            }
        save_atomic(state, self.rundir.checkpoint)

    def _restore(self, state: dict) -> tuple[Progress, StageState | None]:
        stage_state = state.get("stage_state", {})
        check_resume_device(
            {**stage_state, **state}, self.device, self.rundir.checkpoint, "gen_data"
        )
        p = state["progress"]
        prog = Progress(
            p["stage"],
            p["epoch"],
            p["candidates"],
            list(p["stage_seconds"]),
            list(p["stage_genotypes"]),
            list(p.get("stage_learning", [])),
            p["metrics_lines"],
        )
        s = None
        if "stage_state" in state:
            ss = state["stage_state"]
            s = self._new_stage(prog.stage, prog.candidates)
            s.supernet.load_state_dict(ss["supernet"])
            s.optimizer.load_state_dict(ss["optimizer"])
            s.policy.load_state_dict(ss["alpha"])
            s.reinforce.load_state_dict(ss["reinforce"])
            s.gen_data.set_state(ss["gen_data"])
            s.gen_arch.set_state(ss["gen_arch"])
            s.gen_policy.set_state(ss["gen_policy"])
            s.updates = ss["updates"]
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        return prog, s

    # ------------------------------------------------------------------ memory
    def memory_plan(
        self, first: int, candidates: dict[str, list[list[str]]], *, resume: bool = False
    ) -> list[dict]:
        """The estimated weight-step memory of stages ``first``.. (``candidates``: those of stage
        ``first``) against what the device has left: one record per stage, sizes in MB, with
        ``fits`` (None when the available memory cannot be told) and ``problem`` (the sentence
        that stops or warns, or None).  ``resume``: the fixes are named as edits of the run's
        config.yaml, which a resumed run reads.  A job of a sweep (:func:`memory_share`) must
        also fit in its share of the memory the sweep found at its start, since the sweep's
        other jobs grow into the rest as their stages deepen.
        """
        cfg, w = self.cfg, self.cfg.weights
        available = available_memory_bytes(self.device)
        share = memory_share()
        each = None if share is None else share.bytes_each(self.device)
        probes: dict[int, MemoryProbe] = {}
        kept = {ct: len(candidates[ct][0]) for ct in CELL_TYPES}
        sampled = w.mode == "sampled"
        # only the mixed forward is checkpointed (Supernet.forward); a sampled path never is
        checkpointed = w.checkpoint and not sampled
        stages = []
        for k in range(first, len(cfg.stages)):
            st = cfg.stages[k]
            if st.layers not in probes:
                probes[st.layers] = probe_supernet(candidates, self._macro(st.layers), amp=self.amp)
            est = probes[st.layers].estimate(
                kept, w.batch_size, checkpoint=checkpointed, sampled=sampled
            )
            stages.append((k, st, dict(kept), est))
            for ct in CELL_TYPES:
                kept[ct] -= getattr(st, f"drop_{ct}")
        if not stages:  # resumed after the last stage: nothing left to estimate
            return []
        largest = max(est.total for *_, est in stages)
        records = []
        for k, st, kept, est in stages:
            fits = None if available is None else est.total <= available
            fits_share = None if each is None else est.total <= each
            problem = None
            if fits is False or fits_share is False:
                fixes = "lower weights.batch_size"
                limit = min(x for x in (available, each) if x is not None)
                if not checkpointed and not sampled:
                    ck = probes[st.layers].estimate(kept, w.batch_size, checkpoint=True).total
                    if ck <= limit:
                        fixes = f"set weights.checkpoint=true (about {_gb(ck)}), or {fixes}"
                    else:
                        fixes = f"{fixes} (even weights.checkpoint=true needs about {_gb(ck)})"
                where = f" in {self.rundir.config}, which --resume reads" if resume else ""
                what = (
                    f"stage {k + 1} of {len(cfg.stages)} ({st.layers} cells, {kept['normal']} normal and {kept['reduce']} reduce "
                    f"candidates per edge, batch {w.batch_size}) needs about {_gb(est.total)} for a {w.mode} weight step (estimated)"
                )  # fmt: skip
                if fits is False:
                    problem = (
                        f"{what}, but {_gb(available)} is available on {self.device}; {fixes}, "
                    )
                else:
                    pool = each * share.processes
                    # jobs that fit on this device; the sweep spreads its jobs over share.devices
                    jobs = pool // largest
                    per = " per GPU" if share.devices > 1 else ""
                    fewer = (
                        f"run at most {jobs} at once{per} (tndnas sweep --jobs {jobs * share.devices}), "
                        if jobs
                        else ""
                    )
                    problem = (
                        f"{what}, but this sweep runs {share.processes} jobs at once on {self.device} with "
                        f"{_gb(pool)} between them, {_gb(each)} each; {fewer}{fixes}, "
                    )  # fmt: skip
                problem += f"or set weights.memory_check=warn to run anyway{where}."
            records.append({"stage": k, "layers": st.layers, "candidates": kept, "batch_size": w.batch_size,
                            "weights_mb": est.weights / 2**20, "activations_mb": est.activations / 2**20,
                            "total_mb": est.total / 2**20,
                            "available_mb": None if available is None else available / 2**20,
                            "sweep_jobs_sharing": None if share is None else share.processes,
                            "sweep_share_mb": None if each is None else each / 2**20,
                            "fits": None if fits is None and fits_share is None else fits is not False and fits_share is not False,
                            "problem": problem})  # fmt: skip
        return records

    def check_memory(
        self, first: int, candidates: dict[str, list[list[str]]], *, resume: bool = False
    ) -> list[dict]:
        """:meth:`memory_plan`, acted on as ``weights.memory_check`` says: raises
        :class:`MemoryCheckError` on ``error`` when a stage will not fit, prints a warning on
        ``warn``; ``ignore`` estimates nothing."""
        if self.cfg.weights.memory_check == "ignore":
            return []
        records = self.memory_plan(first, candidates, resume=resume)
        self.act_on_memory_plan(records)
        return records

    def act_on_memory_plan(self, records: list[dict]) -> None:
        """As ``weights.memory_check`` says: raise :class:`MemoryCheckError` with the first
        stage that will not fit (``error``), or print each as a warning (``warn``)."""
        mode = self.cfg.weights.memory_check
        for rec in records:
            if rec["problem"] and mode == "error":
                raise MemoryCheckError(rec["problem"])
            if rec["problem"] and mode == "warn":
                print(f"tndnas: warning: {rec['problem']}", file=sys.stderr)

    def _latency_table(self, ops: Mapping[str, Sequence[str]]) -> LatencyTable | None:
        """The run's latency table (``reward.latency_table``), checked against the target network
        and the op sets; a resumed run reads the copy in its run directory."""
        path = self.cfg.reward.latency_table
        if path is None:
            if "latency_ms" in self.costs:
                raise ConfigError(
                    "the reward uses the latency_ms cost but reward.latency_table is not set; measure "
                    "a table with tndnas latency-table (same preset and --set options) --out FILE, "
                    "then set reward.latency_table=FILE."
                )
            return None
        copy = self.rundir.latency_table
        table = LatencyTable.load(
            copy if self.resume and copy.exists() else path, expect=self.target
        )
        table.check_covers(ops)
        return table

    def _macro(self, layers: int) -> Macro:
        return Macro(
            channels=self.cfg.space.channels,
            layers=layers,
            num_classes=self.data.num_classes,
            in_channels=self.data.in_channels,
            image_size=self.data.image_size,
            steps=self.cfg.space.steps,
        )

    # ------------------------------------------------------------------ Algorithm 2
    def run(self, resume: bool | None = None) -> dict:
        """Algorithm 2, from the start or (``resume``, default as constructed) from the run
        directory's last checkpoint; returns the summary."""
        cfg = self.cfg
        if resume is None:
            resume = self.resume
        if resume:
            self.rundir.check_resumable()
            if self.rundir.summary.exists():
                return _read_json(self.rundir.summary)
            state = load_checkpoint(self.rundir.checkpoint, "cpu")
            p = state.get("progress", {})
            if "stage" in p and "candidates" in p:  # before the stage's tensors are allocated
                self.check_memory(p["stage"], p["candidates"], resume=True)
            prog, s = self._restore(state)
            log = MetricsLog(self.rundir.metrics)
            log.truncate_to(prog.metrics_lines)
        else:
            memory = self.check_memory(0, self.initial_candidates)  # before anything is written
            self.rundir.create()
            save_config(cfg, self.rundir.config)
            latency = self.cost_ctx.latency
            if latency is not None:  # the run keeps its own copy: a resume reads the same table
                write_json_atomic(self.rundir.latency_table, latency.to_dict())
            write_json_atomic(
                self.rundir.run_info,
                {
                    "seed": cfg.seed,
                    "environment": environment(self.device),
                    "config": config_to_dict(cfg),
                    "memory_estimate": memory,
                    "latency_table": None
                    if latency is None
                    else {"file": latency.source, **latency.info},
                },
            )
            prog, s = Progress(candidates=self.initial_candidates), None
            log = MetricsLog(self.rundir.metrics)
        self.rundir.alpha_dir.mkdir(exist_ok=True)

        while prog.stage < len(cfg.stages):
            k, st = prog.stage, cfg.stages[prog.stage]
            if s is None:  # Eq. (12): a fresh supernet of depth L_k over the candidates O_k
                s = self._new_stage(k, prog.candidates)
                if len(prog.stage_seconds) <= k:
                    prog.stage_seconds.append(0.0)
            self._run_stage_epochs(k, st, s, prog, log)
            # end of stage: record the argmax genotype, then shrink every edge (Eq. 11)
            probs = s.policy.probs()
            geno = derive_genotype(probs, prog.candidates, cfg.space.steps, {"stage": k})
            geno.to_json(self.rundir.stage_genotype(k))
            cost = self.cost_ctx.table.cost(geno)
            learning = stage_learning(s.alpha_start, s.policy, s.updates)
            warning = still_warning(k, learning) if s.updates else None
            if warning:
                print(f"tndnas: warning: {warning}", file=sys.stderr)
            learning["warning"] = warning
            log.write({"kind": "stage", "stage": k, "seconds": prog.stage_seconds[k], "params_m": cost.params / 1e6,
                       "flops_m": cost.flops / 1e6, "genotype": geno.to_dict(), **learning})  # fmt: skip
            prog.stage_genotypes.append(geno.to_dict())
            prog.stage_learning.append(learning)
            drops = {"normal": st.drop_normal, "reduce": st.drop_reduce}
            keep = {ct: shrink_keep(probs[ct], drops[ct]) for ct in CELL_TYPES}
            prog.candidates = {
                ct: [[prog.candidates[ct][e][i] for i in keep[ct][e]] for e in range(self.edges)]
                for ct in CELL_TYPES
            }
            prog.stage, prog.epoch, s = k + 1, 0, None
            prog.metrics_lines = log.count()
            self._save(prog, None)

        return self._finish(prog)

    def _run_stage_epochs(self, k: int, st, s: StageState, prog: Progress, log: MetricsLog) -> None:
        cfg = self.cfg
        weight_batches = BatchIterator(
            self.data.train_x, self.data.train_y, cfg.weights.batch_size, mean=self.data.mean, std=self.data.std,
            augment=self.augment, generator=s.gen_data, indices=self.weight_idx, memory_format=self.memory_format,
        )  # fmt: skip
        steps = steps_per_epoch(cfg, len(self.data.train_y))
        show = _is_tty() if self.show_progress is None else self.show_progress
        bar = tqdm(
            total=st.epochs * steps, initial=prog.epoch * steps, disable=not show,
            desc=f"stage {k + 1}/{len(cfg.stages)}", unit="step", dynamic_ncols=True, leave=True,
        )  # fmt: skip
        while prog.epoch < st.epochs:
            epoch = prog.epoch
            t0 = time.perf_counter()
            lr = cosine_lr(cfg.weights.lr, cfg.weights.lr_min, epoch, st.epochs)
            set_lr(s.optimizer, lr)
            skip_dropout = self.skip_dropout_rate(
                st.skip_dropout,
                epoch,
                st.epochs,
                st.pretrain_epochs,
                cfg.weights.skip_dropout_decay,
            )
            s.supernet.set_skip_dropout(skip_dropout)
            arch_batches = _cycle(
                BatchIterator(
                    self.data.train_x, self.data.train_y, cfg.policy.arch_batch_size, mean=self.data.mean,
                    std=self.data.std, augment=None, generator=s.gen_arch, indices=self.arch_idx, memory_format=self.memory_format,
                )
            )  # fmt: skip
            rl_on = epoch >= st.pretrain_epochs  # the first e_k epochs train weights only
            loss_sum = torch.zeros((), device=self.device)
            correct = torch.zeros((), device=self.device, dtype=torch.long)
            seen = 0
            last = None
            w = None
            for step, (x, y) in enumerate(weight_batches):
                if step >= steps:
                    break
                if rl_on and step % cfg.policy.rl_interval == 0:
                    last = self.alpha_update(k, epoch, step, s, arch_batches, prog.candidates)
                    log.write(last)
                    w = None  # alpha changed
                path = None
                if cfg.weights.mode == "mixed":  # Eqs. (1), (3)
                    if w is None:  # softmax(alpha) on the device, refreshed only when alpha moves
                        w = {ct: p.to(self.device) for ct, p in s.policy.probs().items()}
                else:  # sampled: one path drawn from the policy trains
                    g = s.policy.sample(1, s.gen_policy)
                    path = {ct: g[ct][0].tolist() for ct in CELL_TYPES}
                loss, ok = weight_step(
                    s.supernet, s.optimizer, x, y, cfg.weights.grad_clip,
                    weights=None if path else w, path=path, amp=self.amp, params=s.params,
                )  # fmt: skip
                loss_sum += loss * len(y)
                correct += ok
                seen += len(y)
                bar.update(1)
                if last is not None and step % 10 == 0:
                    others = {
                        n: "-" if v is None else f"{v:.3g}" for n, v in last["costs_mean"].items()
                    }
                    bar.set_postfix(epoch=f"{epoch + 1}/{st.epochs}", entropy=f"{last['entropy']:.3f}/{last['entropy_max']:.3f}",
                                    reward=f"{last['reward_mean']:.3f}",
                                    baseline=f"{last['baseline']:.3f}", params=_fmt(last["params_mean"]), **others)  # fmt: skip
            t_eval = time.perf_counter()
            acc_mix, acc_arg = self.evaluate(s)
            t_end = time.perf_counter()
            prog.stage_seconds[k] += t_end - t0
            log.write(
                {
                    "kind": "epoch", "stage": k, "epoch": epoch, "lr": lr, "skip_dropout": skip_dropout, "alpha_updates": rl_on,
                    "train_loss": float(loss_sum) / max(seen, 1), "train_acc": float(correct) / max(seen, 1),
                    "arch_acc_supernet": acc_mix, "arch_acc_argmax": acc_arg,
                    "seconds": prog.stage_seconds[k], "eval_seconds": t_end - t_eval, "steps": steps,
                    "peak_memory_mb": peak_memory_mb(self.device),
                }
            )  # fmt: skip
            self._write_alpha(k, epoch, s, prog.candidates)
            prog.epoch = epoch + 1
            prog.metrics_lines = log.count()
            self._save(prog, s)
        bar.close()

    def _write_alpha(self, k: int, epoch: int, s: StageState, candidates) -> None:
        data = {"stage": k, "epoch": epoch}
        for ct in CELL_TYPES:
            data[ct] = {"alpha": s.policy.alpha[ct].tolist(), "ops": candidates[ct]}
        write_json_atomic(self.rundir.alpha_file(k, epoch), data)

    def _run_peak_memory_mb(self) -> float:
        """Peak memory of the whole run: on CUDA each stage resets the counter, so the epochs'
        records (every stage, also before a resume) are taken with the current peak."""
        records = read_metrics(self.rundir.metrics)
        epochs = [r["peak_memory_mb"] for r in records if r.get("kind") == "epoch"]
        return max([peak_memory_mb(self.device), *epochs])

    def _finish(self, prog: Progress) -> dict:
        from ..space.genotype import genotype_from_dict

        cfg = self.cfg
        final = genotype_from_dict(prog.stage_genotypes[-1], where="final stage genotype")
        meta = {**final.metadata, "source": "tndnas search", "seed": cfg.seed}
        meta.pop("stage", None)
        final = type(final)(final.normal, final.reduce, final.steps, meta)
        final.to_json(self.rundir.genotype)
        cost = self.cost_ctx.table.cost(final)
        summary = {
            "genotype": final.to_dict(),
            "target_network": {"channels": cfg.target.channels, "layers": cfg.target.layers, "classes": self.data.num_classes,
                               "input_shape": [1, self.data.in_channels, self.data.image_size, self.data.image_size]},
            "params": cost.params,
            "params_with_auxiliary": cost.params_with_aux,
            "flops": cost.flops,
            "latency_ms": None if self.cost_ctx.latency is None else self.cost_ctx.latency.latency_ms(final),
            "seconds_total": sum(prog.stage_seconds),
            "seconds_per_stage": prog.stage_seconds,
            # is the search learning? entropy (nats, mean per edge) and argmax changes per stage
            "stages": [{"stage": k, **rec} for k, rec in enumerate(prog.stage_learning)],
            "peak_memory_mb": self._run_peak_memory_mb(),
            "seed": cfg.seed,
            "dataset": cfg.dataset.name,
            "environment": environment(self.device),
        }  # fmt: skip
        summary["plots"] = []
        try:
            if self.plots:
                from ..report.plots import plot_run

                summary["plots"] = [
                    str(p.relative_to(self.rundir.root)) for p in plot_run(self.rundir.root)
                ]
        except Exception as err:  # plots must never lose a finished search
            summary["plots_error"] = f"{type(err).__name__}: {err}"
        write_json_atomic(self.rundir.summary, summary)
        return summary


class MemoryCheckError(ConfigError):
    """A stage's estimated weight-step memory exceeds what the device has left."""


def _gb(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


def _cycle(it: BatchIterator) -> Iterator:
    while True:
        yield from it


def _fmt(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}M"


def _is_tty() -> bool:
    import sys

    return sys.stderr.isatty()


def _read_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def search(
    cfg: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool | None = None,
    plots: bool = True,
) -> dict:
    """Run (or resume) a TND-NAS search into ``run_dir``; returns the summary."""
    return Search(cfg, run_dir, resume=resume, progress=progress, plots=plots).run()
