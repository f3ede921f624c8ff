"""Each stage's estimated weight-step memory against what the device has left, before a search
allocates anything: the plan, and what ``weights.memory_check`` does with it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..config import ConfigError, SearchConfig
from ..macro import Macro
from ..measure.memory import MemoryProbe
from ..runtime import available_memory_bytes, memory_share
from .stages import drop_count

__all__ = ["MemoryCheckError", "act_on_memory_plan", "plan_memory"]


class MemoryCheckError(ConfigError):
    """A stage's estimated weight-step memory exceeds what the device has left."""


def _gb(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


def plan_memory(
    cfg: SearchConfig,
    device: torch.device,
    macro_for: Callable[[int], Macro],
    first: int,
    candidates: dict[str, list[list[str]]],
    *,
    amp: bool = False,
    config_path: Path | str = "config.yaml",
    resume: bool = False,
    probe: Callable[..., MemoryProbe | None],
) -> list[dict]:
    """The estimated weight-step memory of stages ``first``.. (``candidates``: those of stage
    ``first``; ``macro_for(layers)``: the supernet's shape at a depth) against what the device has left: one record per stage, sizes in MB, with
    ``fits`` (None when the available memory cannot be told) and ``problem`` (the sentence
    that stops or warns, or None).  ``resume``: the fixes are named as edits of the run's
    ``config_path``, which a resumed run reads.  A job of a sweep (:func:`memory_share`) must
    also fit in its share of the memory the sweep found at its start, since the sweep's
    other jobs grow into the rest as their stages deepen.  ``probe(candidates, macro, amp)``:
    the search space's :class:`MemoryProbe` of a supernet (``SearchSpace.memory_probe``); a
    space whose probe is None is not estimated (no records).
    """
    w = cfg.weights
    available = available_memory_bytes(device)
    share = memory_share()
    each = None if share is None else share.bytes_each(device)
    probes: dict[int, MemoryProbe] = {}
    kept = {ct: len(c[0]) for ct, c in candidates.items()}
    sampled = w.mode != "mixed"  # one path per step
    # only the mixed forward is checkpointed (Supernet.forward); a sampled path never is
    checkpointed = w.checkpoint and not sampled
    stages = []
    for k in range(first, len(cfg.stages)):
        st = cfg.stages[k]
        if st.layers not in probes:
            found = probe(candidates, macro_for(st.layers), amp)
            if found is None:
                return []
            probes[st.layers] = found
        est = probes[st.layers].estimate(
            kept, w.batch_size, checkpoint=checkpointed, sampled=sampled
        )
        stages.append((k, st, dict(kept), est))
        for ct in kept:
            kept[ct] -= drop_count(st.drop.get(ct, 0), kept[ct])
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
            where = f" in {config_path}, which --resume reads" if resume else ""
            what = (
                f"stage {k} (stages.{k}; {st.layers} cells, {kept['normal']} normal and {kept['reduce']} reduce "
                f"candidates per edge, batch {w.batch_size}) needs about {_gb(est.total)} for a {w.mode} weight step (estimated)"
            )  # fmt: skip
            if fits is False:
                problem = f"{what}, but {_gb(available)} is available on {device}; {fixes}, "
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
                    f"{what}, but this sweep runs {share.processes} jobs at once on {device} with "
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


def act_on_memory_plan(records: list[dict], mode: str) -> None:
    """As ``weights.memory_check`` (``mode``) says: raise :class:`MemoryCheckError` with the
    first stage that will not fit (``error``), or print each as a warning (``warn``)."""
    for rec in records:
        if rec["problem"] and mode == "error":
            raise MemoryCheckError(rec["problem"])
        if rec["problem"] and mode == "warn":
            print(f"tndnas: warning: {rec['problem']}", file=sys.stderr)
