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

import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from ..config import SearchConfig, config_to_dict
from ..data import AugmentConfig, BatchIterator, load_dataset, search_split
from ..macro import Macro
from ..objectives import CostContext, genotype_costs
from ..report.metrics import MetricsLog, NoLog
from ..runtime import (
    CheckpointError,
    check_resume_device,
    load_checkpoint,
    resolve_device,
    save_atomic,
)
from ..runtime.distributed import join_world
from ..runtime.lock import locked_run
from ..runtime.random_state import random_state, restore_random_state
from ..runtime.records import first_line, read_finished_summary
from .diagnostics import stage_learning, still_warning
from .epoch import run_stage_epochs
from .family_files import family_stage_end, write_family_summary
from .memory_plan import act_on_memory_plan, plan_memory
from .run_dir import CHECKPOINT_VERSION, RunDir
from .setup import (
    budget_warnings,
    check_cuda_graphs,
    check_drops,
    check_rewards,
    latency_table,
    resolve_refs,
    reward_costs,
    search_images,
    skip_dropout_schedule,
    supernet_macro,
    target_macro,
)
from .stages import alpha_updates, search_space, space_ops, stage_drops, stage_seed
from .state import Progress, StageState, new_stage_state
from .steps import alpha_step, evaluate_stage
from .summary import write_run_start, write_summary
from .trust import stage_ranking, untrusted_warning
from .weight_step import SupernetForward


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
        dist_timeout: float = 300.0,
        check_sync: bool = False,
    ):
        self.cfg = cfg
        self.resume = resume  # continue the run in run_dir (run() then reads its checkpoint)
        self.rundir = RunDir(run_dir)
        # under torchrun: this process's rank, and its own GPU
        self.world, self.device = join_world(resolve_device(cfg.device), dist_timeout)
        self.world.resume_command = f"tndnas search --resume {run_dir}"
        self.world.check_batch(cfg.weights.batch_size, "weights.batch_size")
        self.check_sync = check_sync  # compare alpha across the ranks after every epoch
        check_cuda_graphs(cfg, self.device)
        self.show_progress = progress
        self.plots = plots  # draw the run's plots when it finishes (tndnas plot draws them later)
        ds = load_dataset(cfg.dataset.name, cfg.dataset.data_dir, cfg.dataset.download)
        self.data = search_images(cfg, ds).to(self.device)  # weights.image_size: shrunk
        n = len(self.data.train_y)
        self.weight_idx, self.arch_idx = search_split(n, cfg.seed, 1.0 - cfg.dataset.arch_fraction)
        self.weight_idx, self.arch_idx = (
            self.weight_idx.to(self.device),
            self.arch_idx.to(self.device),
        )
        self.space = search_space(cfg)
        self.target = target_macro(cfg, ds)
        self.costs = reward_costs(cfg)
        base = space_ops(cfg)
        latency = latency_table(cfg, self.rundir, self.costs, self.target, base, resume=resume)
        self.cost_ctx = CostContext(
            self.space.cost_table(self.target, cfg.target.auxiliary), self.target, latency
        )
        check_drops(cfg, base)
        # the config as given (config.yaml, checkpoints); self.cfg has every `ref: auto` resolved
        self.given_cfg = cfg
        self.cfg, self.refs = resolve_refs(cfg, base, self.target, self.costs, self.cost_ctx)
        cfg = self.cfg
        check_rewards(cfg, base, self.target, self.costs, self.cost_ctx)
        if not resume and self.world.main:  # said once, when the run starts
            for line in budget_warnings(cfg, base, self.target, self.costs, self.cost_ctx):
                print(f"tndnas: warning: {line}", file=sys.stderr)
        self.edges = self.space.num_edges(cfg.space)
        self.initial_candidates = {ct: [list(base[ct]) for _ in range(self.edges)] for ct in base}
        self.skip_dropout_rate = skip_dropout_schedule(cfg)
        self.augment = AugmentConfig(cfg.weights.crop_padding, cfg.weights.flip, cfg.weights.cutout)
        self.memory_format = (
            torch.channels_last if cfg.weights.channels_last else torch.contiguous_format
        )
        # bf16 autocast on CUDA for weight steps and scoring (alpha and rewards stay float32)
        self.amp = cfg.weights.amp and self.device.type == "cuda"

    # ------------------------------------------------------------------ building a stage
    def _new_stage(self, k: int, candidates: dict[str, list[list[str]]]) -> StageState:
        if self.device.type == "cuda":  # the epochs' peak_memory_mb is this stage's
            torch.cuda.reset_peak_memory_stats(self.device)
        updates = alpha_updates(self.cfg, k, len(self.data.train_y))
        s = new_stage_state(
            self.cfg, k, candidates, self._macro(self.cfg.stages[k].layers), self.device, updates
        )
        # several processes: the weight steps' gradients averaged over them (DDP)
        if self.world.active:
            s.trainer = self.world.wrap(
                SupernetForward(s.supernet), some_unused=self.cfg.weights.mode != "mixed"
            )
        return s

    # ------------------------------------------------------------------ the alpha update, Eqs. (4)-(8)
    def alpha_update(
        self, k: int, epoch: int, step: int, s: StageState, arch_batches: Iterator, candidates
    ) -> dict:
        x, y = next(arch_batches)
        rec = alpha_step(
            self.cfg, k, s, x, y, candidates, self.costs, self.cost_ctx, self.amp, self.world
        )
        return {"kind": "alpha", "stage": k, "epoch": epoch, "step": step, **rec}

    def _arch_batches(self, idx: torch.Tensor, gen: torch.Generator) -> BatchIterator:
        """Architecture-half images ``idx`` in order, unaugmented, as scoring sees them."""
        return BatchIterator(
            self.data.train_x, self.data.train_y, self.cfg.policy.arch_batch_size, mean=self.data.mean, std=self.data.std,
            augment=None, generator=gen, shuffle=False, drop_last=False, indices=idx, memory_format=self.memory_format,
        )  # fmt: skip

    @torch.no_grad()
    def evaluate(self, s: StageState) -> tuple[float, list[float]]:
        """Architecture-half accuracy of the mixed supernet and of each policy's argmax
        architecture (one per member of a family)."""
        idx = self.arch_idx[: self.cfg.policy.eval_images]
        return evaluate_stage(s, self._arch_batches(idx, s.gen_arch), self.device, self.amp)

    def ranking(self, k: int, s: StageState, candidates) -> dict:
        """Stage ``k``'s ranking check (:func:`~tndnas.search.trust.stage_ranking`) on two halves
        of up to ``2 * policy.eval_images`` architecture images, on its own random stream."""
        n = min(2 * self.cfg.policy.eval_images, len(self.arch_idx)) // 2
        halves = tuple(
            self._arch_batches(idx, torch.Generator())
            for idx in (self.arch_idx[:n], self.arch_idx[n : 2 * n])
        )
        gen = torch.Generator().manual_seed(stage_seed(self.cfg.seed, k, 7))
        return {
            **stage_ranking(s.supernet, s.policy, halves, candidates, gen, self.amp),
            "ranking_images": n,
        }

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, prog: Progress, s: StageState | None) -> None:
        state = random_state(self.world, self.device)  # every process takes part
        if not self.world.main:  # every process holds the same state; rank 0 writes it
            return
        state.update(
            version=CHECKPOINT_VERSION,
            config=config_to_dict(self.given_cfg),
            progress=prog.state_dict(),
        )
        if s is not None:
            state["stage_state"] = s.state_dict()
        save_atomic(state, self.rundir.checkpoint)

    def _restore(self, state: dict) -> tuple[Progress, StageState | None]:
        stage_state = state.get("stage_state", {})
        check_resume_device(
            {**stage_state, **state}, self.device, self.rundir.checkpoint, "gen_data"
        )
        prog = Progress()
        prog.load_state_dict(state["progress"])
        s = None
        if "stage_state" in state:
            s = self._new_stage(prog.stage, prog.candidates)
            try:
                s.load_state_dict(state["stage_state"])
            except (RuntimeError, KeyError, ValueError) as err:
                raise CheckpointError(
                    f"checkpoint {self.rundir.checkpoint} does not fit the supernet its run's "
                    f"config.yaml builds ({first_line(err)[:160]}); restore the config.yaml the "
                    "run started with, or start a new run with another --out."
                ) from None
        restore_random_state(state, self.world, self.device, self.rundir.checkpoint)
        return prog, s

    # ------------------------------------------------------------------ memory
    def memory_plan(
        self, first: int, candidates: dict[str, list[list[str]]], *, resume: bool = False
    ) -> list[dict]:
        """:func:`~tndnas.search.memory_plan.plan_memory` for this run's stages ``first``.."""
        return plan_memory(
            self.cfg, self.device, self._macro, first, candidates,
            amp=self.amp, config_path=self.rundir.config, resume=resume, probe=self.space.memory_probe,
        )  # fmt: skip

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
        act_on_memory_plan(records, self.cfg.weights.memory_check)

    def _macro(self, layers: int) -> Macro:
        return supernet_macro(self.cfg, self.data, layers)

    # ------------------------------------------------------------------ Algorithm 2
    def run(self, resume: bool | None = None) -> dict:
        """Algorithm 2, from the start or (``resume``, default as constructed) from the run
        directory's last checkpoint; returns the summary.  The run directory is locked for the
        run (one process per run), and ``run.json`` records how the run ended."""
        resume = self.resume if resume is None else resume
        restart = False
        files = self.rundir
        with (  # the guard inside: run.json records a lost peer as the sentence it becomes
            locked_run(files.root, "search", files.run_info, self.world.main) as self._runlock,
            self.world.guard("the search"),
        ):
            if resume:
                files.check_resumable()
                if files.summary.exists():
                    return read_finished_summary(files.summary, "search")
                self._runlock.acquire()
                if not files.checkpoint.exists():  # stopped before its first epoch ended
                    if self.world.main:
                        print(f"tndnas: {files.root} has no checkpoint yet: its search starts "
                              "again from its config.yaml", file=sys.stderr)  # fmt: skip
                    resume, restart = False, True
            return self._run(resume, restart)

    def _run(self, resume: bool, restart: bool) -> dict:
        cfg = self.cfg
        if resume:
            state = load_checkpoint(self.rundir.checkpoint, "cpu")
            self.rundir.check_checkpoint(state, config_to_dict(self.given_cfg))
            p = state.get("progress", {})
            if "stage" in p and "candidates" in p:  # before the stage's tensors are allocated
                self.check_memory(p["stage"], p["candidates"], resume=True)
            prog, s = self._restore(state)
            log = self._log()
            log.resume_at(prog.metrics_lines)
        else:
            memory = self.check_memory(0, self.initial_candidates)  # before anything is written
            self.world.run_on_main(
                lambda: self._start(memory, restart), "creating the run directory"
            )
            prog, s = Progress(candidates=self.initial_candidates), None
            log = self._log()
        if self.world.main:
            lost = resume and (prog.stage or prog.epoch) and not self.rundir.alpha_dir.is_dir()
            self.rundir.alpha_dir.mkdir(exist_ok=True)
            if lost:
                print(f"tndnas: warning: {self.rundir.alpha_dir} was missing: the alpha records "
                      "of the epochs before the checkpoint are lost (the alpha plots start at "
                      "this resume); the run goes on.", file=sys.stderr)  # fmt: skip

        while prog.stage < len(cfg.stages):
            k, st = prog.stage, cfg.stages[prog.stage]
            if s is None:  # Eq. (12): a fresh supernet of depth L_k over the candidates O_k
                s = self._new_stage(k, prog.candidates)
                if len(prog.stage_seconds) <= k:
                    prog.stage_seconds.append(0.0)
            run_stage_epochs(self, k, st, s, prog, log)
            # end of stage: record the argmax genotype(s), then shrink every edge (Eq. 11)
            record = self._stage_end(k, s, prog)
            learning = record.pop("learning")
            learning["policy_lr"] = s.policy_lr
            learning.update(self.ranking(k, s, prog.candidates))
            warning = still_warning(k, learning) if s.updates else None
            trust = untrusted_warning(k, learning, learning["ranking_images"])
            for line in (warning, trust):
                if line and self.world.main:
                    print(f"tndnas: warning: {line}", file=sys.stderr)
            learning["warning"], learning["trust_warning"] = warning, trust
            log.write({"kind": "stage", "stage": k, "seconds": prog.stage_seconds[k], **record,
                       **learning})  # fmt: skip
            prog.stage_learning.append(learning)
            # n_k per cell type: stages.N.drop.<cell type> (a fraction resolved)
            keep = s.strategy.shrink(stage_drops(cfg)[k])
            prog.candidates = {
                ct: [[prog.candidates[ct][e][i] for i in keep[ct][e]] for e in range(self.edges)]
                for ct in keep
            }
            prog.stage, prog.epoch, s = k + 1, 0, None
            prog.metrics_lines = log.count()
            self.save_checkpoint(prog, None)

        return self._finish(prog)

    def _stage_end(self, k: int, s: StageState, prog: Progress) -> dict:
        """The argmax genotype of stage ``k`` (a family: each member's), written and recorded in
        ``prog``; returns the stage record's fields with its ``learning`` figures."""
        if self.cfg.family.betas:
            return family_stage_end(
                self.cfg, k, s, prog, self.space, self.costs, self.cost_ctx, self.rundir,
                self.world.main,
            )  # fmt: skip
        geno = self.space.derive(s.policy.probs(), prog.candidates, self.cfg.space, {"stage": k})
        if self.world.main:
            geno.to_json(self.rundir.stage_genotype(k))
        prog.stage_genotypes.append(geno.to_dict())
        return {
            "costs": genotype_costs(geno, self.costs, self.cost_ctx),
            "genotype": geno.to_dict(),
            "learning": stage_learning(s.alpha_start, s.policy, s.updates),
        }

    def _start(self, memory: list[dict], restart: bool = False) -> None:
        self.rundir.create(restart=restart)
        self._runlock.acquire()  # held from here to the end of the run
        write_run_start(
            self.given_cfg,
            self.rundir,
            self.device,
            memory,
            self.cost_ctx.latency,
            self.world,
            refs=self.refs,
        )

    def _log(self) -> MetricsLog | NoLog:
        return MetricsLog(self.rundir.metrics) if self.world.main else NoLog()

    def _finish(self, prog: Progress) -> dict:
        summary = None
        if self.world.main:
            write = write_family_summary if self.cfg.family.betas else write_summary
            summary = write(
                self.cfg, self.rundir, prog, self.costs, self.cost_ctx, self.data, self.device,
                plots=self.plots, refs=self.refs,
            )  # fmt: skip
        return self.world.broadcast(summary, "writing the summary")


def search(
    cfg: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool | None = None,
    plots: bool = True,
    dist_timeout: float = 300.0,
    check_sync: bool = False,
) -> dict:
    """Run (or resume) a TND-NAS search into ``run_dir``; returns the summary.  Under
    ``torchrun`` every process runs this with the same arguments (see
    :mod:`tndnas.runtime.distributed`): ``dist_timeout`` seconds before a silent peer stops the
    run, ``check_sync`` compares alpha across the processes after every epoch."""
    run = Search(
        cfg, run_dir, resume=resume, progress=progress, plots=plots,
        dist_timeout=dist_timeout, check_sync=check_sync,
    )  # fmt: skip
    summary = run.run()
    world = run.world
    del run  # its DistributedDataParallel wrappers go before the process group does
    world.close()
    return summary
